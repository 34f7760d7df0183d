"""The projects API (callbacks/project_api.py): create, list, read, assign; permissions, bad input, branch
isolation (another branch's project answers 404), API clients through their scopes."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from huifang.callbacks.models import Callback
from huifang.callbacks.projects import create_project
from huifang.campaigns.models import CallbackType, Project
from huifang.customers.models import Customer
from huifang.customers.tests.conftest import make_customer
from huifang.org.choices import ApiScope, Role
from huifang.org.models import Branch, User
from huifang.org.services import create_api_client
from huifang.surveys.models import Questionnaire, QuestionnaireVersion

TODAY = timezone.localdate()
START, END = TODAY.isoformat(), (TODAY + dt.timedelta(days=30)).isoformat()


@pytest.fixture
def agents_a(branch_a: Branch, make_user: Callable[..., User]) -> list[User]:
    return [make_user(branch_a, Role.AGENT, agent_no=f"PD{n:02d}") for n in (1, 2)]


@pytest.fixture
def customers_a(branch_a: Branch) -> list[Customer]:
    return [make_customer(branch_a, f"00310100002{n:02d}", f"客户{n}") for n in range(1, 6)]


@pytest.fixture
def project_a(branch_a: Branch, operator_a: User) -> Project:
    return create_project(name="浦东满意度项目", callback_type=CallbackType.objects.get(code="satisfaction"),
                          period_start=TODAY, period_end=TODAY + dt.timedelta(days=30), branch=branch_a,
                          owner=operator_a)


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def test_create_a_project(login: Callable[[User], Client], operator_a: User, branch_a: Branch) -> None:
    questionnaire = Questionnaire.objects.create(code="pd_api", name="浦东问卷", owner_branch=branch_a)
    QuestionnaireVersion.objects.create(questionnaire=questionnaire, number=1, state="published")
    response = post(login(operator_a), "/api/v1/projects", {
        "name": "年末满意度", "type": "satisfaction", "period_start": START, "period_end": END,
        "questionnaire": "pd_api", "description": "抽样"})
    assert response.status_code == 201, response.content
    body = response.json()
    project = Project.objects.get(pk=body["id"])
    assert (project.branch, project.owner, project.questionnaire) == (branch_a, operator_a, questionnaire)
    assert body["branch"] == "3101" and body["type"] == "satisfaction" and body["period_key"] == f"P{project.pk}"
    assert body["callbacks"] == 0


def test_hq_creates_for_a_branch_and_must_name_it(login: Callable[[User], Client], hq_supervisor: User,
                                                  branch_a: Branch) -> None:
    client = login(hq_supervisor)
    body = {"name": "总部项目", "type": "other", "period_start": START, "period_end": END}
    missing = post(client, "/api/v1/projects", body)
    assert missing.status_code == 400 and missing.json()["field"] == "branch"
    created = post(client, "/api/v1/projects", {**body, "branch": "3101"})
    assert created.status_code == 201
    assert Project.objects.get(pk=created.json()["id"]).branch == branch_a


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"name": " "}, 400, "name"),
    ({"type": "nope"}, 422, "type"),
    ({"branch": "4401"}, 422, "branch"),  # another branch: as if it did not exist
    ({"questionnaire": "nope"}, 422, "questionnaire"),
    ({"period_end": (TODAY - dt.timedelta(days=1)).isoformat()}, 422, "period_end"),
])
def test_bad_input_names_the_field(login: Callable[[User], Client], operator_a: User, branch_b: Branch,
                                   change: dict[str, Any], status: int, field: str) -> None:
    body = {"name": "项目", "type": "satisfaction", "period_start": START, "period_end": END, **change}
    response = post(login(operator_a), "/api/v1/projects", body)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert response.json()["message"].startswith(f"{field}：")
    assert not Project.objects.exists()


def test_a_malformed_date_is_invalid_input(login: Callable[[User], Client], operator_a: User) -> None:
    response = post(login(operator_a), "/api/v1/projects",
                    {"name": "项目", "type": "satisfaction", "period_start": "明天", "period_end": END})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_an_agent_may_not_create_or_assign(login: Callable[[User], Client], agent_a: User,
                                           project_a: Project) -> None:
    client = login(agent_a)
    response = post(client, "/api/v1/projects",
                    {"name": "项目", "type": "satisfaction", "period_start": START, "period_end": END})
    assert response.status_code == 403
    assert post(client, f"/api/v1/projects/{project_a.pk}/assignments", {"lines": "1"}).status_code == 403
    assert client.get("/api/v1/projects").status_code == 403


def test_assign_answers_assigned_and_rejected_lines(login: Callable[[User], Client], operator_a: User,
                                                    project_a: Project, agents_a: list[User],
                                                    customers_a: list[Customer]) -> None:
    lines = ("\ufeff0031010000201，PD01\n\n0031010000202\n0031010000203\n0031010000201\n0031019999999\n")
    response = post(login(operator_a), f"/api/v1/projects/{project_a.pk}/assignments",
                    {"lines": lines, "agents": ["PD01", "PD02"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(a["line"], a["agent_no"]) for a in body["assigned"]] == [(1, "PD01"), (3, "PD02"), (4, "PD01")]
    assert [(r["line"], r["reason"]) for r in body["rejected"]] == [
        (5, "客户 0031010000201 与第 1 行重复"), (6, "客户 0031019999999 不存在或不属于本营业部")]
    assert body["rejected"][0]["message"] == "第 5 行：客户 0031010000201 与第 1 行重复"
    assert Callback.objects.filter(project=project_a).count() == 3
    detail = login(operator_a).get(f"/api/v1/projects/{project_a.pk}").json()
    assert (detail["callbacks"], detail["open_callbacks"]) == (3, 3)


def test_assign_refuses_empty_lines_and_unknown_agents(login: Callable[[User], Client], operator_a: User,
                                                       project_a: Project, agents_a: list[User],
                                                       agent_b: User, customers_a: list[Customer]) -> None:
    client = login(operator_a)
    url = f"/api/v1/projects/{project_a.pk}/assignments"
    empty = post(client, url, {"lines": "\ufeff \n", "agents": ["PD01"]})
    assert (empty.status_code, empty.json()["field"]) == (400, "lines")
    foreign = post(client, url, {"lines": "0031010000201", "agents": ["PD01", agent_b.agent_no]})
    assert (foreign.status_code, foreign.json()["field"]) == (422, "agents")
    assert agent_b.agent_no in foreign.json()["message"]
    assert not Callback.objects.exists()


def test_branch_b_gets_not_found(login: Callable[[User], Client], project_a: Project, branch_b: Branch,
                                 make_user: Callable[..., User], customers_a: list[Customer],
                                 agents_a: list[User]) -> None:
    client = login(make_user(branch_b, Role.BRANCH_OPERATOR))
    assert client.get(f"/api/v1/projects/{project_a.pk}").status_code == 404
    assign = post(client, f"/api/v1/projects/{project_a.pk}/assignments",
                  {"lines": "0031010000201,PD01", "agents": []})
    assert assign.status_code == 404
    assert client.get(f"/api/v1/projects/{project_a.pk}").json() == client.get("/api/v1/projects/987654").json()
    assert "浦东满意度项目" not in client.get("/api/v1/projects").content.decode()
    assert not Callback.objects.exists()


def test_hq_lists_every_branch(login: Callable[[User], Client], hq_supervisor: User, project_a: Project) -> None:
    listed = login(hq_supervisor).get("/api/v1/projects").json()
    assert [p["name"] for p in listed] == ["浦东满意度项目"]


def test_api_clients_through_their_scopes(project_a: Project, branch_a: Branch, branch_b: Branch,
                                          agents_a: list[User], customers_a: list[Customer]) -> None:
    _, token = create_api_client(name="crm-a", branches=[branch_a],
                                 scopes=[ApiScope.CALLBACKS_READ, ApiScope.PROJECTS_WRITE])
    crm = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    created = post(crm, "/api/v1/projects", {"name": "CRM 项目", "type": "other", "period_start": START,
                                             "period_end": END, "branch": "3101"})
    assert created.status_code == 201, created.content
    assert Project.objects.get(pk=created.json()["id"]).owner is None
    assigned = post(crm, f"/api/v1/projects/{created.json()['id']}/assignments",
                    {"lines": "0031010000201\n0031010000202", "agents": ["PD01", "PD02"]})
    assert assigned.status_code == 200 and len(assigned.json()["assigned"]) == 2
    assert post(crm, "/api/v1/projects", {"name": "B", "type": "other", "period_start": START,
                                          "period_end": END, "branch": "4401"}).status_code == 422

    _, read_only = create_api_client(name="crm-read", branches=[branch_a], scopes=[ApiScope.CALLBACKS_READ])
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert reader.get(f"/api/v1/projects/{project_a.pk}").status_code == 200
    assert post(reader, f"/api/v1/projects/{project_a.pk}/assignments", {"lines": "1"}).status_code == 403

    _, token_b = create_api_client(name="crm-b", branches=[branch_b])
    outsider = Client(HTTP_AUTHORIZATION=f"Bearer {token_b}")
    assert outsider.get(f"/api/v1/projects/{project_a.pk}").status_code == 404
    assert post(outsider, f"/api/v1/projects/{project_a.pk}/assignments",
                {"lines": "0031010000203", "agents": ["PD01"]}).status_code == 404
