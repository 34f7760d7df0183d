"""Writes to the organisation. Pages, the API and commands all come here."""

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.org.choices import ApiScope, Role
from huifang.org.models import (
    API_TOKEN_PREFIX,
    API_TOKEN_SHOWN_CHARS,
    ApiClient,
    Branch,
    Team,
    User,
    hash_api_token,
)
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


#: how stale `ApiClient.last_used_at` may get: one write a minute per client at most, not one per request
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiClientError(ValueError):
    """An API client cannot be created or changed as asked; the message says why, in Chinese."""


def _new_token() -> tuple[str, str, str]:
    """(clear token, its shown prefix, its hash) for a fresh token of 256 random bits."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token[:API_TOKEN_SHOWN_CHARS], hash_api_token(token)


@transaction.atomic
def create_api_client(
    *,
    name: str,
    branches: Iterable[Branch] = (),
    all_branches: bool = False,
    scopes: Iterable[str] | None = None,
    created_by: Any = None,
) -> tuple[ApiClient, str]:
    """Create an API client and its token; answer (client, clear token). The clear token exists only in this
    answer: the caller shows it once, only its hash is stored.

    Preconditions: the caller may manage API clients (pages: an HQ administrator; the command: the operator).
    Exactly one of `branches` (non-empty) and `all_branches`; `scopes` are ApiScope codes, all of them when
    None. Raises ApiClientError for an empty or taken name, a bad branch choice or an unknown scope.
    Side effects: one audit entry (never containing the token)."""
    name = name.strip()
    if not name:
        raise ApiClientError("请填写客户端名称")
    branch_list = list(branches)
    if all_branches and branch_list:
        raise ApiClientError("不能同时指定营业部和全部营业部")
    if not all_branches and not branch_list:
        raise ApiClientError("请指定至少一个营业部，或选择全部营业部")
    scope_list = list(ApiScope.values) if scopes is None else sorted(set(scopes))
    unknown = set(scope_list) - set(ApiScope.values)
    if unknown:
        raise ApiClientError(f"未知权限范围：{', '.join(sorted(unknown))}（可选：{', '.join(ApiScope.values)}）")
    if not scope_list:
        raise ApiClientError("请至少选择一个权限范围")
    if ApiClient.objects.filter(name=name).exists():
        raise ApiClientError(f"名称为“{name}”的 API 客户端已存在")
    token, prefix, digest = _new_token()
    client = ApiClient.objects.create(
        name=name,
        all_branches=all_branches,
        scopes=scope_list,
        token_prefix=prefix,
        token_hash=digest,
        created_by=created_by if isinstance(created_by, User) else None,
    )
    client.branches.set(branch_list)
    record_action(
        actor=created_by,
        action="create",
        obj=client,
        summary=f"创建 API 客户端 {name}",
        changes={
            "branches": sorted(branch.code for branch in branch_list),
            "all_branches": all_branches,
            "scopes": scope_list,
            "token_prefix": prefix,
        },
    )
    return client, token


@transaction.atomic
def rotate_api_client_token(*, client: ApiClient, actor: Any) -> str:
    """Give `client` a new token and answer it in clear (shown once); the old token stops working at once.

    Preconditions: the caller may manage API clients; the client is active (ApiClientError otherwise).
    Side effects: one audit entry with the old and new prefixes."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if not client.is_active:
        raise ApiClientError("已停用的 API 客户端不能更换令牌")
    old_prefix = client.token_prefix
    token, client.token_prefix, client.token_hash = _new_token()
    client.save(update_fields=["token_prefix", "token_hash"])
    record_action(actor=actor, action="rotate_token", obj=client, summary=f"更换 API 客户端 {client.name} 的令牌",
                  changes={"token_prefix": [old_prefix, client.token_prefix]})
    return token


@transaction.atomic
def deactivate_api_client(*, client: ApiClient, actor: Any) -> bool:
    """Stop `client` from using the API (its token answers 401 from now on). Answers False, and records
    nothing, when it was already inactive.

    Preconditions: the caller may manage API clients. Side effects: one audit entry."""
    changed = ApiClient.objects.filter(pk=client.pk, is_active=True).update(is_active=False)
    client.is_active = False
    if not changed:
        return False
    record_action(actor=actor, action="deactivate", obj=client, summary=f"停用 API 客户端 {client.name}")
    return True


def mark_api_client_used(*, client: ApiClient) -> None:
    """Note that `client` just called the API: sets last_used_at, at most once a minute (a conditional
    update, so that busy clients do not write on every request). Not audited: the call itself is the record."""
    now = timezone.now()
    if client.last_used_at is not None and now - client.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiClient.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=client.pk
    ).update(last_used_at=now)
    client.last_used_at = now
