from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from huifang.audit.context import RequestContext, current_request


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, set the proxy to overwrite X-Real-IP; we never trust X-Forwarded-For chains.
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(
            RequestContext(
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
            )
        )
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
