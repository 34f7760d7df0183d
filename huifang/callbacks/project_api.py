"""REST endpoints of manual projects: POST /api/v1/projects, POST /api/v1/projects/{id}/assignments."""

from ninja import Router

router = Router(tags=["projects"])
