"""The API clients page (/org/api-clients/): HQ administrators only; the token is shown once."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from huifang.audit.models import AuditEntry
from huifang.org.choices import Role
from huifang.org.models import ApiClient, Branch, User, hash_api_token
from huifang.org.services import create_api_client

Login = Callable[[User], Client]


def _new(client: Client, **data: object) -> str:
    response = client.post(reverse("org:api_client_create"), {"scopes": ["customers:read"], **data})
    assert response.status_code == 200, response.content.decode()
    return response.content.decode()


def test_an_agent_gets_403_on_every_api_client_page(login: Login, agent_a: User, branch_a: Branch) -> None:
    existing, _ = create_api_client(name="crm", branches=[branch_a])
    client = login(agent_a)
    assert client.get(reverse("org:api_clients")).status_code == 403
    assert client.post(reverse("org:api_client_create"), {"name": "x", "all_branches": "on"}).status_code == 403
    assert client.post(reverse("org:api_client_deactivate", args=[existing.pk])).status_code == 403
    assert client.post(reverse("org:api_client_rotate", args=[existing.pk])).status_code == 403
    assert ApiClient.objects.get().is_active


def test_an_administrator_of_a_branch_gets_403(login: Login, branch_b: Branch, make_user: Callable[..., User]) -> None:
    admin_b = make_user(branch_b, Role.ADMIN, username="admin_b")
    assert login(admin_b).get(reverse("org:api_clients")).status_code == 403


def test_creating_shows_the_token_once(login: Login, admin_user: User, branch_a: Branch) -> None:
    client = login(admin_user)
    page = _new(client, name="CRM", branches=[branch_a.pk])
    created = ApiClient.objects.get(name="CRM")
    token = next(word for word in page.replace("<", " ").replace(">", " ").split()
                 if word.startswith(created.token_prefix))
    assert created.token_hash == hash_api_token(token)
    assert [branch.code for branch in created.branches.all()] == ["3101"]
    listing = client.get(reverse("org:api_clients")).content.decode()
    assert "CRM" in listing and created.token_prefix in listing and token not in listing


def test_creating_with_a_taken_name_shows_the_reason(login: Login, admin_user: User, branch_a: Branch) -> None:
    create_api_client(name="CRM", branches=[branch_a])
    response = login(admin_user).post(reverse("org:api_client_create"),
                                      {"name": "CRM", "all_branches": "on", "scopes": ["customers:read"]})
    assert response.status_code == 422
    assert "已存在" in response.content.decode()
    assert ApiClient.objects.count() == 1


def test_deactivating_stops_the_client_and_is_audited(login: Login, admin_user: User, branch_a: Branch) -> None:
    existing, token = create_api_client(name="crm", branches=[branch_a])
    response = login(admin_user).post(reverse("org:api_client_deactivate", args=[existing.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert not ApiClient.objects.get().is_active
    entry = AuditEntry.objects.get(action="deactivate")
    assert (entry.actor_name, entry.object_id) == ("sysadmin", str(existing.pk))
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/customers").status_code == 401


def test_rotating_shows_a_new_token_and_the_old_one_stops(login: Login, admin_user: User, branch_a: Branch) -> None:
    existing, old = create_api_client(name="crm", branches=[branch_a])
    page = login(admin_user).post(reverse("org:api_client_rotate", args=[existing.pk])).content.decode()
    existing.refresh_from_db()
    assert existing.token_prefix in page and old not in page
    assert existing.token_hash != hash_api_token(old)
    assert AuditEntry.objects.filter(action="rotate_token", actor_name="sysadmin").count() == 1


@pytest.mark.parametrize("route", ["org:api_client_deactivate", "org:api_client_rotate"])
def test_an_unknown_client_is_404(login: Login, admin_user: User, route: str) -> None:
    assert login(admin_user).post(reverse(route, args=[987654])).status_code == 404
