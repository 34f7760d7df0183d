"""Bearer-token authentication of API clients (CRM and counter systems) for the REST API.

`ApiClientBearer` finds the client by the hash of the token it presents and makes `request.user` an
`ApiClientPrincipal`: it quacks like a user for the existing code (branch scoping, audit, access_* helpers) but
has no permissions beyond what its scopes imply. `require_scope(request, scope)` is the check endpoints make
before doing what a scope allows; a router may also require a scope for all its reads or writes (config/api.py)."""

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

from huifang.org.choices import ApiScope
from huifang.org.models import ApiClient
from huifang.org.queries import api_client_for_token
from huifang.org.services import mark_api_client_used

#: the Django permissions a scope stands for, for code that asks `has_perm`
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    ApiScope.CUSTOMERS_READ: frozenset({"customers.view_customer", "customers.view_customerevent"}),
    ApiScope.CUSTOMERS_WRITE: frozenset({"customers.add_customer", "customers.change_customer"}),
    ApiScope.EVENTS_WRITE: frozenset({"customers.add_customerevent"}),
    ApiScope.CALLBACKS_READ: frozenset({"callbacks.view_callback", "campaigns.view_project"}),
    ApiScope.CALLBACKS_WRITE: frozenset({"callbacks.add_callback"}),
    ApiScope.RULES_RUN: frozenset({"callbacks.add_rulerun"}),
    ApiScope.PROJECTS_WRITE: frozenset({"campaigns.add_project", "campaigns.change_project",
                                        "callbacks.add_callback", "callbacks.change_callback"}),
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiError(HttpError):
    """An API error answered as `{"code": ..., "message": ...}` (config/api.py) with its HTTP status."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(status_code, message)
        self.code = code


class ScopeDenied(ApiError):
    """403 "scope_missing": an API client asked for something its scopes do not allow."""

    def __init__(self, scope: str | None) -> None:
        if scope is None:
            super().__init__(403, "scope_missing", "API 客户端无权使用此接口")
        else:
            super().__init__(403, "scope_missing", f"API 客户端没有“{scope}”权限范围")
        self.scope = scope


@dataclass(frozen=True, eq=False)
class ApiClientPrincipal:
    """Who is acting when an API client calls: stands in for `request.user`. Sees the branches in
    `branch_ids`, or all of them with `all_branches` (org/scoping.py)."""

    api_client_id: int
    name: str
    branch_ids: frozenset[int]
    all_branches: bool
    scopes: frozenset[str]
    is_authenticated: bool = field(default=True, init=False)
    is_anonymous: bool = field(default=False, init=False)
    is_active: bool = field(default=True, init=False)
    is_superuser: bool = field(default=False, init=False)
    is_staff: bool = field(default=False, init=False)
    pk: None = field(default=None, init=False)
    id: None = field(default=None, init=False)
    branch_id: None = field(default=None, init=False)
    branch: None = field(default=None, init=False)

    @classmethod
    def of(cls, client: ApiClient) -> "ApiClientPrincipal":
        return cls(
            api_client_id=client.pk,
            name=client.name,
            branch_ids=frozenset(branch.pk for branch in client.branches.all()),
            all_branches=client.all_branches,
            scopes=frozenset(client.scopes if isinstance(client.scopes, list) else []),
        )

    def get_username(self) -> str:
        return f"api:{self.name}"

    def __str__(self) -> str:
        return self.get_username()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def implied_permissions(self) -> frozenset[str]:
        return frozenset().union(*(SCOPE_PERMISSIONS.get(scope, frozenset()) for scope in self.scopes))

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in self.implied_permissions

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return any(perm.startswith(f"{app_label}.") for perm in self.implied_permissions)

    @property
    def role_codes(self) -> set[str]:
        return set()

    def has_role(self, *roles: str) -> bool:
        return False


def require_scope(request: HttpRequest, scope: str) -> None:
    """Refuse (403, code "scope_missing") an API client without `scope`. Users logged in with a session pass:
    their roles and permissions are checked by the endpoint as for the pages."""
    principal = getattr(request, "user", None)
    if isinstance(principal, ApiClientPrincipal) and not principal.has_scope(scope):
        raise ScopeDenied(scope)


class ApiClientBearer(HttpBearer):
    """`Authorization: Bearer <token>` of an active API client. A wrong, replaced or deactivated token answers
    401 at once (it does not fall back to the session). `read_scope` / `write_scope` are required of the client
    for safe (GET, HEAD) / other methods on the routes this instance guards; a None scope shuts API clients
    out of those methods altogether."""

    def __init__(self, *, read_scope: str | None = None, write_scope: str | None = None) -> None:
        super().__init__()
        self.read_scope = read_scope
        self.write_scope = write_scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiClientPrincipal:
        token = token.strip()
        client = api_client_for_token(token) if token else None
        if client is None:
            raise AuthenticationError()
        principal = ApiClientPrincipal.of(client)
        scope = self.read_scope if request.method in SAFE_METHODS else self.write_scope
        if scope is None or not principal.has_scope(scope):
            raise ScopeDenied(scope)
        mark_api_client_used(client=client)
        request.user = principal  # type: ignore[assignment]
        return principal
