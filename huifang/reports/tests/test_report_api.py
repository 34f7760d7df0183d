"""The reports over REST: the catalogue, one report's figures (the same as the page's), audited; API clients need
the reports:read scope and see only their branches; bad periods answer 422 naming the parameter."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from huifang.audit.models import AuditEntry
from huifang.org.models import Branch, User
from huifang.org.services import create_api_client
from huifang.reports.registry import all_reports
from huifang.reports.tests.test_report_pages import october

__all__ = ["october"]  # the fixture, shared with the page tests
Login = Callable[[User], Client]


def _client(branches: list[Branch], scopes: list[str]) -> Client:
    _, token = create_api_client(name="oa", branches=branches, all_branches=not branches, scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _by_branch(body: dict[str, Any]) -> dict[str, list[Any]]:
    [table] = [table for table in body["tables"] if table["title"] == "按营业部"]
    return {row[0]: row for row in table["rows"]}


@pytest.mark.django_db
def test_the_catalogue_lists_every_report_with_its_periods(login: Login, hq_supervisor: User) -> None:
    body = login(hq_supervisor).get("/api/v1/reports").json()
    assert [item["code"] for item in body] == [spec.code for spec in all_reports()]
    daily = next(item for item in body if item["code"] == "daily")
    assert daily["title"] == "回访日报" and daily["kinds"][0] == "day"


@pytest.mark.django_db
def test_a_report_answers_its_figures_and_the_read_is_audited(october: None, login: Login, hq_supervisor: User,
                                                              branch_a: Branch, branch_b: Branch) -> None:
    response = login(hq_supervisor).get("/api/v1/reports/daily?period=2026-10")
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"kind": "month", "key": "2026-10", "label": "2026年10月", "start": "2026-10-01",
                              "end": "2026-10-31"}
    rows = _by_branch(body)
    assert rows[branch_a.name][1:4] == [6, 6, 4] and rows[branch_b.name][1:4] == [3, 3, 1]
    entry = AuditEntry.objects.get(action="export", object_type="reports.report")
    assert entry.changes == {"report": "daily", "period": "2026-10", "branch_id": None, "format": "json"}


@pytest.mark.django_db
def test_an_api_client_sees_only_its_branches(october: None, branch_a: Branch, branch_b: Branch) -> None:
    crm = _client([branch_a], ["reports:read"])
    rows = _by_branch(crm.get("/api/v1/reports/daily?period=2026-10").json())
    assert list(rows) == [branch_a.name]
    assert crm.get(f"/api/v1/reports/daily?period=2026-10&branch={branch_b.pk}").status_code == 404
    assert AuditEntry.objects.filter(action="export").count() == 1
    assert AuditEntry.objects.get(action="export").actor_name == "api:oa"


@pytest.mark.django_db
def test_an_api_client_without_the_scope_is_refused(branch_a: Branch) -> None:
    crm = _client([branch_a], ["callbacks:read"])
    response = crm.get("/api/v1/reports/daily")
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


@pytest.mark.django_db
def test_roles_without_reports_are_refused(login: Login, agent_a: User) -> None:
    response = login(agent_a).get("/api/v1/reports/daily")
    assert response.status_code == 403 and "报表" in response.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["period=2026-13", "kind=fortnight", "period=2026-10&x=1&kind=day"])
def test_a_bad_period_answers_422_naming_it(query: str, login: Login, hq_supervisor: User) -> None:
    response = login(hq_supervisor).get(f"/api/v1/reports/quarterly?{query}")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_period" and "period" in response.json()["message"]
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.django_db
def test_an_unknown_report_answers_404(login: Login, hq_supervisor: User) -> None:
    assert login(hq_supervisor).get("/api/v1/reports/nothing").status_code == 404
