"""REST endpoints of calls: POST /api/v1/calls (dial a customer), GET /api/v1/calls/{serial},
POST /api/v1/callbacks/{id}/outcome."""

from ninja import Router

router = Router(tags=["calls"])
outcome_router = Router(tags=["calls"])
