"""Reads of the import page, and the permission-checked fetch of a run. A run of another branch is "not found"."""

from typing import Any

from django.db.models import QuerySet

from huifang.customers.models import ImportProfile, ImportRun
from huifang.org.queries import NotFound

#: the permissions that let a user import (the HQ supervisor, branch operator and administrator roles carry
#: the second, org/roles.py)
IMPORT_PERMISSIONS = ("customers.add_customer", "customers.add_importrun")


def may_import(user: Any) -> bool:
    """Whether `user` may upload files on the import page (the rows still only reach the user's branches)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return any(user.has_perm(permission) for permission in IMPORT_PERMISSIONS)


def visible_import_runs(user: Any) -> QuerySet[ImportRun]:
    """The runs of the user's branch (HQ: all), newest first, with who uploaded them."""
    return (ImportRun.objects.visible_to(user).select_related("created_by", "branch")
            .order_by("-created_at", "-id"))


def access_import_run(user: Any, run_id: Any) -> ImportRun:
    """The run with primary key `run_id` if `user` may see it; NotFound otherwise."""
    try:
        return visible_import_runs(user).get(pk=run_id)
    except (ImportRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("导入记录不存在") from None


def usable_import_profiles(user: Any) -> QuerySet[ImportProfile]:
    """The saved profiles `user` may choose: company-wide ones and those of the user's branch (HQ: all)."""
    return ImportProfile.objects.usable_by(user).select_related("branch").order_by("kind", "name", "id")
