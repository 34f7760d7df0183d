"""Logins, logouts and failed logins go into the audit log."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from huifang.audit.context import RequestContext, current_request
from huifang.audit.middleware import client_ip
from huifang.audit.services import record_action


def _with_request(request: HttpRequest | None) -> Any:
    if request is None:
        return None
    return current_request.set(RequestContext(client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:200]))


@receiver(user_logged_in)
def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record_action(actor=user, action="login", obj=user, summary="登录成功")


@receiver(user_logged_out)
def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_action(actor=user, action="logout", obj=user, summary="退出登录")


@receiver(user_login_failed)
def audit_failed_login(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                       **kwargs: Any) -> None:
    token = _with_request(request)
    try:
        name = str(credentials.get("username", ""))[:150]
        record_action(actor=None, action="login_failed", object_type="org.user", object_repr=name,
                      summary=f"登录失败：{name}")
    finally:
        if token is not None:
            current_request.reset(token)
