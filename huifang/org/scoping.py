"""Branch isolation, the one mechanism: a branch-scoped queryset (`.visible_to(user)`) and the rule of who sees
everything. Every model that belongs to a branch uses BranchScopedQuerySet with its `branch_path`; every page,
endpoint, export and search reads through `visible_to` or an `access_<noun>` helper (queries.py)."""

from typing import Any, Self

from django.db import models
from django.db.models import Q


def sees_all_branches(user: Any) -> bool:
    """HQ users and superusers see every branch; everyone else only their own; anonymous users nothing."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    branch = getattr(user, "branch", None)
    return bool(branch is not None and branch.is_headquarters)


def branch_q(user: Any, branch_path: str) -> Q:
    """The condition that limits rows reached through `branch_path` (a lookup to a Branch) to what `user` sees."""
    if sees_all_branches(user):
        return Q()
    branch_id = getattr(user, "branch_id", None)
    if not getattr(user, "is_authenticated", False) or branch_id is None:
        return Q(pk__in=[])
    return Q(**{f"{branch_path}__id": branch_id})


class BranchScopedQuerySet(models.QuerySet[Any]):
    #: lookup path from the model to its Branch; models reached through another model override it
    branch_path = "branch"

    def visible_to(self, user: Any) -> Self:
        return self.filter(branch_q(user, self.branch_path))
