"""Who is acting and from where, for the request or job being served (set by the middleware)."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""


# RequestContext is frozen, so one shared default instance is safe.
current_request: ContextVar[RequestContext] = ContextVar("huifang_request_context", default=RequestContext())  # noqa: B039
