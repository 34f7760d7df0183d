"""REST endpoints of callbacks and rule runs: GET /api/v1/callbacks, POST /api/v1/rules/run."""

from ninja import Router

router = Router(tags=["callbacks"])
rules_router = Router(tags=["rules"])
