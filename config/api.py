"""The REST API: one NinjaAPI at /api/v1/, each app adding its router. OpenAPI at /api/v1/openapi.json."""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.renderers import JSONRenderer
from ninja.security import SessionAuth

from huifang.audit.api import router as audit_router
from huifang.calendars.api import router as calendar_router
from huifang.customers.api import router as customers_router
from huifang.customers.imports.api import events_router
from huifang.org.api import router as org_router
from huifang.org.queries import NotFound


class ChineseJSONRenderer(JSONRenderer):
    """UTF-8 JSON: Chinese text stays readable instead of \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ChineseJSONRenderer(),
    title="huifang API",
    version="1",
    description="回访平台 REST API. Every object of another branch answers 404.",
    urls_namespace="api",
    auth=SessionAuth(),
)


@api.exception_handler(NotFound)
def not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "未登录或会话已过期"}, status=401)


api.add_router("/org", org_router)
api.add_router("/customers", customers_router)
api.add_router("/events", events_router)
api.add_router("/audit", audit_router)
api.add_router("/calendar", calendar_router)
