"""The agents' queue over REST: POST /api/v1/agents/me/next."""

from ninja import Router

router = Router(tags=["workbench"])
