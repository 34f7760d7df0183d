"""Reads of the organisation, and the permission-checked fetches `access_<noun>(user, id)`.

An `access_*` helper answers NotFound (a 404) both for a missing row and for a row of a branch the user may
not see: a user of branch A cannot even learn that an object of branch B exists."""

import hmac
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import Http404

from huifang.org.choices import Role
from huifang.org.models import ApiClient, Branch, Department, Team, User, hash_api_token
from huifang.org.scoping import branch_q, own_branch_ids, sees_all_branches


class NotFound(Http404):
    """A missing object, or one the user may not see: the same answer for both."""


def visible_branches(user: Any) -> models.QuerySet[Branch]:
    if sees_all_branches(user):
        return Branch.objects.all()
    return Branch.objects.filter(pk__in=own_branch_ids(user))


def _access[M: models.Model](queryset: models.QuerySet[M], object_id: Any, label: str) -> M:
    try:
        return queryset.get(pk=object_id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(f"{label}不存在") from None


def access_branch(user: Any, branch_id: Any) -> Branch:
    return _access(visible_branches(user), branch_id, "营业部")


def access_department(user: Any, department_id: Any) -> Department:
    return _access(Department.objects.visible_to(user).select_related("branch"), department_id, "部门")


def access_team(user: Any, team_id: Any) -> Team:
    return _access(Team.objects.visible_to(user).select_related("branch", "lead"), team_id, "小组")


def access_user(user: Any, user_id: Any) -> User:
    return _access(User.objects.visible_to(user).select_related("branch", "team"), user_id, "用户")


def visible_users(user: Any) -> models.QuerySet[User]:
    return User.objects.filter(branch_q(user, "branch")).select_related("branch", "team").prefetch_related("groups")


def api_client_for_token(token: str) -> ApiClient | None:
    """The active API client whose token this is, with its branches; None for an unknown, replaced or
    deactivated token."""
    digest = hash_api_token(token)
    client = ApiClient.objects.filter(token_hash=digest, is_active=True).prefetch_related("branches").first()
    # The index finds the row; the digest is compared again in constant time before it is trusted.
    if client is None or not hmac.compare_digest(client.token_hash, digest):
        return None
    return client


def api_clients() -> models.QuerySet[ApiClient]:
    """Every API client, active first, with its branches and creator, for the management page."""
    return ApiClient.objects.select_related("created_by").prefetch_related("branches").order_by("-is_active", "name")


def access_api_client(client_id: Any) -> ApiClient:
    """One API client, for a caller already allowed to manage them (API clients belong to no branch)."""
    return _access(api_clients(), client_id, "API 客户端")


def may_manage_api_clients(user: Any) -> bool:
    """API clients may reach any branch, so only HQ administrators (and superusers) manage them."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    has_role = getattr(user, "has_role", None)
    return bool(has_role is not None and has_role(Role.ADMIN) and sees_all_branches(user))
