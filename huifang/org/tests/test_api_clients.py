"""API clients (issue 3): bearer tokens limited to branches and scopes, created by service or command."""

import datetime as dt
import io
from collections.abc import Callable

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import Client

from huifang.audit.models import AuditEntry
from huifang.customers.models import ContactPoint, Customer
from huifang.customers.tests.conftest import make_customer
from huifang.org.auth import ApiClientPrincipal, ScopeDenied, require_scope
from huifang.org.choices import ApiScope
from huifang.org.models import ApiClient, Branch, User, hash_api_token
from huifang.org.queries import api_client_for_token
from huifang.org.scoping import branch_q
from huifang.org.services import (
    ApiClientError,
    create_api_client,
    deactivate_api_client,
    rotate_api_client_token,
)

BASE = "/api/v1/customers"
MOBILE_A = "13912345678"
MOBILE_B = "18600005678"  # the same last four digits as MOBILE_A


@pytest.fixture
def customer_a(branch_a: Branch) -> Customer:
    customer = make_customer(branch_a, "0031010000001", "张伟")
    ContactPoint.objects.create(customer=customer, kind="mobile", number=MOBILE_A, is_primary=True)
    return customer


@pytest.fixture
def customer_b(branch_b: Branch) -> Customer:
    customer = make_customer(branch_b, "0044010000001", "李娜")
    ContactPoint.objects.create(customer=customer, kind="mobile", number=MOBILE_B, is_primary=True)
    return customer


def bearer(token: str, *, enforce_csrf_checks: bool = False) -> Client:
    return Client(enforce_csrf_checks, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def token_a(branch_a: Branch) -> str:
    _, token = create_api_client(name="crm-a", branches=[branch_a],
                                 scopes=[ApiScope.CUSTOMERS_READ, ApiScope.CUSTOMERS_WRITE])
    return token


def test_the_token_is_answered_once_and_only_its_hash_is_stored(branch_a: Branch, admin_user: User) -> None:
    client, token = create_api_client(name="CRM", branches=[branch_a], created_by=admin_user)
    stored = ApiClient.objects.get(pk=client.pk)
    assert stored.token_hash == hash_api_token(token) != token
    assert stored.token_prefix == token[:8]
    assert sorted(stored.scopes) == sorted(ApiScope.values)
    assert stored.created_by == admin_user
    entry = AuditEntry.objects.get(action="create", object_type="org.apiclient")
    assert entry.actor_name == "sysadmin"
    assert token not in str(entry.changes) and token not in entry.summary


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "  "}, "请填写客户端名称"),
        ({"name": "x"}, "请指定至少一个营业部"),
        ({"name": "x", "all_branches": True, "with_branch": True}, "不能同时指定"),
        ({"name": "x", "with_branch": True, "scopes": ["customers:delete"]}, "未知权限范围：customers:delete"),
        ({"name": "x", "with_branch": True, "scopes": []}, "请至少选择一个权限范围"),
    ],
)
def test_create_refuses_bad_choices_in_chinese(branch_a: Branch, kwargs: dict[str, object], message: str) -> None:
    branches = [branch_a] if kwargs.pop("with_branch", False) else []
    with pytest.raises(ApiClientError, match=message):
        create_api_client(branches=branches, **kwargs)  # type: ignore[arg-type]
    assert not ApiClient.objects.exists()


def test_a_name_is_taken_once(branch_a: Branch) -> None:
    create_api_client(name="CRM", branches=[branch_a])
    with pytest.raises(ApiClientError, match="已存在"):
        create_api_client(name="CRM", all_branches=True)


def test_client_of_branch_a_reads_its_customer_and_gets_404_for_branch_b(
    token_a: str, customer_a: Customer, customer_b: Customer
) -> None:
    api = bearer(token_a)
    response = api.get(f"{BASE}/{customer_a.customer_no}")
    assert response.status_code == 200
    assert response.json()["name"] == "张伟"
    hidden = api.get(f"{BASE}/{customer_b.customer_no}")
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"
    assert "李娜" not in hidden.content.decode()


def test_client_list_shows_only_its_branches(token_a: str, customer_a: Customer, customer_b: Customer) -> None:
    body = bearer(token_a).get(BASE).json()
    assert (body["count"], [item["name"] for item in body["items"]]) == (1, ["张伟"])


def test_last_four_search_finds_the_customer_only_in_the_clients_branches(
    token_a: str, customer_a: Customer, customer_b: Customer
) -> None:
    body = bearer(token_a).get(BASE, {"q": "5678"}).json()
    assert [item["customer_no"] for item in body["items"]] == [customer_a.customer_no]


def test_client_of_all_branches_sees_both(customer_a: Customer, customer_b: Customer) -> None:
    _, token = create_api_client(name="counter", all_branches=True, scopes=[ApiScope.CUSTOMERS_READ])
    api = bearer(token)
    assert api.get(BASE).json()["count"] == 2
    assert api.get(f"{BASE}/{customer_b.customer_no}").status_code == 200


def test_client_without_customers_read_gets_403_with_a_code(branch_a: Branch, customer_a: Customer) -> None:
    _, token = create_api_client(name="events-only", branches=[branch_a], scopes=[ApiScope.EVENTS_WRITE])
    response = bearer(token).get(f"{BASE}/{customer_a.customer_no}")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "scope_missing"
    assert "customers:read" in body["message"]
    assert "张伟" not in response.content.decode()


def test_client_cannot_reach_routers_that_grant_no_scope(token_a: str) -> None:
    response = bearer(token_a).get("/api/v1/org/users")
    assert (response.status_code, response.json()["code"]) == (403, "scope_missing")


def _rotated_away(branch: Branch) -> str:
    client, token = create_api_client(name="old", branches=[branch])
    rotate_api_client_token(client=client, actor=None)
    return token


def _deactivated(branch: Branch) -> str:
    client, token = create_api_client(name="gone", branches=[branch])
    deactivate_api_client(client=client, actor=None)
    return token


@pytest.mark.parametrize(
    "make_token",
    [lambda branch: "hf_not-a-token", lambda branch: "", _rotated_away, _deactivated],
    ids=["wrong", "empty", "rotated-away", "inactive"],
)
def test_a_token_that_is_not_valid_gets_401_json(
    branch_a: Branch, customer_a: Customer, make_token: Callable[[Branch], str]
) -> None:
    response = bearer(make_token(branch_a)).get(f"{BASE}/{customer_a.customer_no}")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_rotated_token_works_and_the_old_one_does_not(branch_a: Branch, customer_a: Customer) -> None:
    client, old = create_api_client(name="crm", branches=[branch_a])
    new = rotate_api_client_token(client=client, actor=None)
    assert bearer(new).get(f"{BASE}/{customer_a.customer_no}").status_code == 200
    assert bearer(old).get(f"{BASE}/{customer_a.customer_no}").status_code == 401
    assert AuditEntry.objects.filter(action="rotate_token", object_id=str(client.pk)).count() == 1


def test_a_deactivated_client_cannot_get_a_new_token(branch_a: Branch) -> None:
    client, _ = create_api_client(name="crm", branches=[branch_a])
    assert deactivate_api_client(client=client, actor=None) is True
    assert deactivate_api_client(client=client, actor=None) is False
    with pytest.raises(ApiClientError):
        rotate_api_client_token(client=client, actor=None)
    assert AuditEntry.objects.filter(action="deactivate").count() == 1


def test_session_users_still_read_their_branch(login: Callable[[User], Client], agent_a: User,
                                               customer_a: Customer, customer_b: Customer) -> None:
    client = login(agent_a)
    assert client.get(f"{BASE}/{customer_a.customer_no}").status_code == 200
    assert client.get(f"{BASE}/{customer_b.customer_no}").status_code == 404


def test_client_actions_are_audited_under_the_clients_name(token_a: str, customer_a: Customer) -> None:
    phone = customer_a.contact_points.get()
    # A real client sends no CSRF token: the bearer must be read before the session's CSRF check.
    url = f"{BASE}/{customer_a.customer_no}/phones/{phone.pk}/reveal"
    response = bearer(token_a, enforce_csrf_checks=True).post(url)
    assert response.status_code == 200
    assert response.json()["number"] == MOBILE_A
    entry = AuditEntry.objects.get(action="reveal")
    assert (entry.actor_name, entry.actor_id) == ("api:crm-a", None)


def test_last_used_at_is_written_at_most_once_a_minute(token_a: str, customer_a: Customer) -> None:
    url = f"{BASE}/{customer_a.customer_no}"
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        bearer(token_a).get(url)
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        bearer(token_a).get(url)
    assert ApiClient.objects.get().last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        bearer(token_a).get(url)
    assert ApiClient.objects.get().last_used_at == start + dt.timedelta(seconds=61)


def test_the_principal_is_scoped_to_its_branches_and_has_only_its_scopes(branch_a: Branch, branch_b: Branch) -> None:
    client, token = create_api_client(name="crm", branches=[branch_a, branch_b], scopes=[ApiScope.CUSTOMERS_READ])
    found = api_client_for_token(token)
    assert found == client
    principal = ApiClientPrincipal.of(found)
    assert principal.get_username() == "api:crm"
    assert principal.branch_ids == {branch_a.pk, branch_b.pk}
    assert principal.has_perm("customers.view_customer")
    assert not principal.has_perm("customers.change_customer")
    assert not principal.has_role("admin")
    assert branch_q(principal, "branch") != branch_q(None, "branch")
    request = HttpRequest()
    request.user = principal  # type: ignore[assignment]
    require_scope(request, ApiScope.CUSTOMERS_READ)
    with pytest.raises(ScopeDenied):
        require_scope(request, ApiScope.CUSTOMERS_WRITE)


def test_require_scope_lets_session_users_through(agent_a: User) -> None:
    request = HttpRequest()
    request.user = agent_a
    require_scope(request, ApiScope.CUSTOMERS_WRITE)


def test_the_command_prints_a_token_that_works(branch_a: Branch, branch_b: Branch, customer_a: Customer,
                                               customer_b: Customer) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_client", "--name", "CRM", "--branch", "3101", "--scope", "customers:read",
                 stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert "令牌只显示这一次" in err.getvalue()
    client = ApiClient.objects.get(name="CRM")
    assert (client.token_hash, client.scopes) == (hash_api_token(token), ["customers:read"])
    api = bearer(token)
    assert api.get(f"{BASE}/{customer_a.customer_no}").status_code == 200
    assert api.get(f"{BASE}/{customer_b.customer_no}").status_code == 404


def test_the_command_gives_every_scope_by_default(branch_a: Branch) -> None:
    call_command("create_api_client", "--name", "CRM", "--all-branches", stdout=io.StringIO(), stderr=io.StringIO())
    client = ApiClient.objects.get()
    assert client.all_branches and sorted(client.scopes) == sorted(ApiScope.values)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--branch", "9999"], "未知营业部代码：9999"),
        ([], "请用 --branch CODE 指定营业部"),
        (["--branch", "3101", "--all-branches"], "只能选一个"),
        (["--branch", "3101", "--scope", "customers:delete"], "未知权限范围"),
        (["--branch", "3101", "--name", "taken"], "已存在"),
    ],
)
def test_the_command_explains_bad_arguments_in_chinese(branch_a: Branch, arguments: list[str], message: str) -> None:
    create_api_client(name="taken", branches=[branch_a])
    name = [] if "--name" in arguments else ["--name", "new"]
    with pytest.raises(CommandError, match=message):
        call_command("create_api_client", *name, *arguments, stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiClient.objects.count() == 1
