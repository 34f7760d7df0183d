"""The REST API: one NinjaAPI at /api/v1/, each app adding its router. OpenAPI at /api/v1/openapi.json.

Callers are users logged in with a session, or API clients with a bearer token (org/auth.py). The bearer is
tried first: it ignores requests without an Authorization header, and a session's CSRF check must not refuse
an API client's POST before its token is read. API clients reach only the routers that grant them a scope.

Every error answers `{"code": ..., "message": ...}`; `detail` repeats the message (the shape before codes) and
is kept until the clients written against it have moved."""

from http import HTTPStatus
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.security import SessionAuth

from huifang.audit.api import router as audit_router
from huifang.calendars.api import router as calendar_router
from huifang.callbacks.api import router as callbacks_router
from huifang.callbacks.api import rules_router
from huifang.callbacks.project_api import router as projects_router
from huifang.callbacks.queue_api import router as queue_router
from huifang.calls.api import outcome_router
from huifang.calls.api import router as calls_router
from huifang.customers.api import router as customers_router
from huifang.customers.imports.api import customers_batch_router, events_router
from huifang.org.api import router as org_router
from huifang.org.auth import ApiClientBearer
from huifang.org.choices import ApiScope
from huifang.org.queries import NotFound
from huifang.reports.api import router as reports_router
from huifang.surveys.api import responses_router
from huifang.surveys.api import router as questionnaires_router


class ChineseJSONRenderer(JSONRenderer):
    """UTF-8 JSON: Chinese text stays readable instead of \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ChineseJSONRenderer(),
    title="huifang API",
    version="1",
    description="回访平台 REST API. Every object of another branch answers 404. "
    "Errors answer {\"code\", \"message\"}.",
    urls_namespace="api",
    # API clients are shut out of routers that do not grant them a scope (no scope given here)
    auth=[ApiClientBearer(), SessionAuth()],
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "detail": message, **extra},
                               status=status)


def _code_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


@api.exception_handler(NotFound)
def not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return _error(request, 404, "not_found", str(exc))


@api.exception_handler(Http404)
def no_such_page(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "不存在")


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "not_authenticated", "未登录或会话已过期")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Errors raised by the endpoints (400, 403, 422, ...); org.auth.ApiError carries its own code."""
    return _error(request, exc.status_code, getattr(exc, "code", None) or _code_of(exc.status_code), str(exc))


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    body = {"code": "invalid_input", "message": "请求参数不正确", "detail": exc.errors}
    return api.create_response(request, body, status=422)


customers_auth = [ApiClientBearer(read_scope=ApiScope.CUSTOMERS_READ, write_scope=ApiScope.CUSTOMERS_WRITE),
                  SessionAuth()]
events_auth = [ApiClientBearer(write_scope=ApiScope.EVENTS_WRITE), SessionAuth()]
callbacks_auth = [ApiClientBearer(read_scope=ApiScope.CALLBACKS_READ, write_scope=ApiScope.CALLBACKS_WRITE),
                  SessionAuth()]
rules_auth = [ApiClientBearer(write_scope=ApiScope.RULES_RUN), SessionAuth()]
reports_auth = [ApiClientBearer(read_scope=ApiScope.REPORTS_READ), SessionAuth()]
projects_auth = [ApiClientBearer(read_scope=ApiScope.CALLBACKS_READ, write_scope=ApiScope.PROJECTS_WRITE),
                 SessionAuth()]

api.add_router("/org", org_router)
# The batch route first: "/customers/batch" must not be taken for a customer number.
api.add_router("/customers", customers_batch_router, auth=customers_auth)
api.add_router("/customers", customers_router, auth=customers_auth)
api.add_router("/events", events_router, auth=events_auth)
api.add_router("/questionnaires", questionnaires_router)
api.add_router("/responses", responses_router)
api.add_router("/audit", audit_router)
api.add_router("/calendar", calendar_router)
# The outcome route first: "/callbacks/{id}/outcome" belongs to the calls app.
api.add_router("/callbacks", outcome_router)
api.add_router("/callbacks", callbacks_router, auth=callbacks_auth)
api.add_router("/agents", queue_router)
api.add_router("/calls", calls_router)
api.add_router("/rules", rules_router, auth=rules_auth)
api.add_router("/projects", projects_router, auth=projects_auth)
api.add_router("/reports", reports_router, auth=reports_auth)
