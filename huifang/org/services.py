"""Writes to the organisation. Pages, the API and commands all come here."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from huifang.audit.services import record_action
from huifang.org.choices import Role
from huifang.org.models import Branch, Team, User
from huifang.org.roles import ROLE_PERMISSIONS, STAFF_ROLES


def sync_role_groups() -> None:
    """Create one group per role and give it exactly the permissions of ROLE_PERMISSIONS.
    Idempotent; run by migration and by `huifang demo-data`."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted: list[Permission] = []
        for dotted in ROLE_PERMISSIONS[role]:
            app_label, codename = dotted.split(".", 1)
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


@transaction.atomic
def create_user(
    *,
    username: str,
    password: str | None,
    name: str,
    branch: Branch,
    roles: list[str],
    agent_no: str | None = None,
    extension: str = "",
    team: Team | None = None,
    email: str = "",
    created_by: Any = None,
) -> User:
    """Create a user in `branch` with the given role codes. Staff status follows the roles.
    Raises ValueError for an unknown role or a team of another branch."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValueError(f"未知角色：{', '.join(sorted(unknown))}")
    if team is not None and team.branch_id != branch.pk:
        raise ValueError("小组必须属于用户所在的营业部")
    user = User(
        username=username,
        name=name,
        branch=branch,
        agent_no=agent_no or None,
        extension=extension,
        team=team,
        email=email,
        is_staff=bool(STAFF_ROLES.intersection(roles)),
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.set(Group.objects.filter(name__in=roles))
    record_action(actor=created_by, action="create", obj=user, summary=f"创建用户 {username}",
                  changes={"roles": sorted(roles)})
    return user
