"""Writing the audit log. Every service that changes a record, reveals a masked value or exports data
calls `record_action`; nothing else writes AuditEntry."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from huifang.audit.context import current_request
from huifang.audit.models import AuditEntry


def record_action(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    branch_code: str = "",
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. `actor` is a user, an API client's principal (org/auth.py: anything authenticated with
    `get_username()`; recorded by name only) or None (a job). The request's IP and client are taken from the
    request context. Runs inside the caller's transaction, so a rolled-back change leaves no entry."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        if not branch_code:
            branch = getattr(obj, "branch", None)
            branch_code = getattr(branch, "code", "") or ""
    context = current_request.get()
    is_authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    # An API client acts under its own name ("api:<name>") but is not a user: the user link stays empty.
    is_user = is_authenticated and isinstance(actor, get_user_model())
    return AuditEntry.objects.create(
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_authenticated else "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        branch_code=branch_code,
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        summary=summary[:500],
        changes=changes or {},
    )


def record_reveal(*, actor: Any, obj: models.Model, field: str, reason: str = "") -> AuditEntry:
    """Log that `actor` saw the clear value of a masked field. Call it before handing the value out."""
    return record_action(
        actor=actor,
        action="reveal",
        obj=obj,
        summary=f"查看明文 {field}" + (f"：{reason}" if reason else ""),
        changes={"field": field, "reason": reason},
    )


def model_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value differs, as {field: [old, new]}, for an update entry."""
    return {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
