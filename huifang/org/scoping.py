"""Branch isolation, the one mechanism: a branch-scoped queryset (`.visible_to(principal)`) and the rule of who
sees everything. Every model that belongs to a branch uses BranchScopedQuerySet with its `branch_path`; every page,
endpoint, export and search reads through `visible_to` or an `access_<noun>` helper (queries.py).

A principal is a logged-in user, or an API client acting through the REST API (org/auth.py): a user sees their
own branch (HQ users and superusers all), an API client the branches it was given (or all, if so created)."""

from typing import Any, Self

from django.db import models
from django.db.models import Q


def is_api_client(principal: Any) -> bool:
    """True for the principal of an API client (org/auth.py), False for a user or anonymous."""
    return getattr(principal, "api_client_id", None) is not None


def sees_all_branches(principal: Any) -> bool:
    """HQ users, superusers and all-branch API clients see every branch; everyone else only their own;
    anonymous and inactive principals nothing."""
    if principal is None or not getattr(principal, "is_authenticated", False):
        return False
    if not getattr(principal, "is_active", False):
        return False
    if is_api_client(principal):
        return bool(principal.all_branches)
    if principal.is_superuser:
        return True
    branch = getattr(principal, "branch", None)
    return bool(branch is not None and branch.is_headquarters)


def own_branch_ids(principal: Any) -> list[int]:
    """The ids of the branches a principal that does not see all branches is limited to (maybe none)."""
    if principal is None or not getattr(principal, "is_authenticated", False):
        return []
    if not getattr(principal, "is_active", False):
        return []
    if is_api_client(principal):
        return sorted(principal.branch_ids)
    branch_id = getattr(principal, "branch_id", None)
    return [] if branch_id is None else [branch_id]


def branch_q(principal: Any, branch_path: str) -> Q:
    """The condition that limits rows reached through `branch_path` (a lookup to a Branch) to what `principal`
    sees."""
    if sees_all_branches(principal):
        return Q()
    branch_ids = own_branch_ids(principal)
    if not branch_ids:
        return Q(pk__in=[])
    if len(branch_ids) == 1:
        return Q(**{f"{branch_path}__id": branch_ids[0]})
    return Q(**{f"{branch_path}__id__in": branch_ids})


class BranchScopedQuerySet(models.QuerySet[Any]):
    #: lookup path from the model to its Branch; models reached through another model override it
    branch_path = "branch"

    def visible_to(self, principal: Any) -> Self:
        return self.filter(branch_q(principal, self.branch_path))
