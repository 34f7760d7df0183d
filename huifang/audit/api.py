"""Audit search for HQ and auditors. Read-only: the API offers no way to change an entry."""

from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema

from huifang.audit.queries import search_audit_entries

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor_name: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    branch_code: str
    ip_address: str | None
    summary: str
    changes: dict[str, Any]


@router.get("/entries", response=list[AuditEntryOut], summary="Search the audit log (newest first, at most 500)")
def list_entries(
    request: HttpRequest,
    text: str = "",
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: date | None = None,
    until: date | None = None,
    limit: int = 100,
) -> Any:
    if not request.user.has_perm("audit.view_auditentry"):
        raise PermissionDenied("只有总部和审计人员可以查询审计日志")
    entries = search_audit_entries(text=text, actor=actor, action=action, object_type=object_type,
                                   object_id=object_id, since=since, until=until)
    return entries[: max(1, min(limit, 500))]
