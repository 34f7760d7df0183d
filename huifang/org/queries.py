"""Reads of the organisation, and the permission-checked fetches `access_<noun>(user, id)`.

An `access_*` helper answers NotFound (a 404) both for a missing row and for a row of a branch the user may
not see: a user of branch A cannot even learn that an object of branch B exists."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import Http404

from huifang.org.models import Branch, Department, Team, User
from huifang.org.scoping import branch_q, sees_all_branches


class NotFound(Http404):
    """A missing object, or one the user may not see: the same answer for both."""


def visible_branches(user: Any) -> models.QuerySet[Branch]:
    if sees_all_branches(user):
        return Branch.objects.all()
    return Branch.objects.filter(pk=getattr(user, "branch_id", None) or -1)


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
