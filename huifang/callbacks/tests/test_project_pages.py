"""The project pages (callbacks/project_views.py): list and create, the detail with its assignment form and its
result, bulk re-assign and cancel; permissions, bad input, and another branch's project answering 404."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.projects import assign_project_lines, create_project
from huifang.campaigns.models import CallbackType, Project
from huifang.customers.models import Customer
from huifang.customers.tests.conftest import make_customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User

TODAY = timezone.localdate()
HTMX = {"HX-Request": "true"}


@pytest.fixture
def agents_a(branch_a: Branch, make_user: Callable[..., User]) -> list[User]:
    return [make_user(branch_a, Role.AGENT, agent_no=f"PD{n:02d}", name=f"坐席{n}") for n in (1, 2)]


@pytest.fixture
def customers_a(branch_a: Branch) -> list[Customer]:
    return [make_customer(branch_a, f"00310100003{n:02d}", f"王小{n}") for n in range(1, 6)]


@pytest.fixture
def project_a(branch_a: Branch, operator_a: User) -> Project:
    return create_project(name="浦东页面项目", callback_type=CallbackType.objects.get(code="satisfaction"),
                          period_start=TODAY, period_end=TODAY + dt.timedelta(days=30), branch=branch_a,
                          owner=operator_a)


@pytest.fixture
def operator_b(branch_b: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_b, Role.BRANCH_OPERATOR, username="operator_b")


def test_list_shows_the_visible_projects_and_the_form(login: Callable[[User], Client], operator_a: User,
                                                      project_a: Project) -> None:
    page = login(operator_a).get(reverse("projects:list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "浦东页面项目" in html and 'id="project-create-form"' in html


def test_create_from_the_form(login: Callable[[User], Client], operator_a: User, branch_a: Branch) -> None:
    satisfaction = CallbackType.objects.get(code="satisfaction")
    response = login(operator_a).post(reverse("projects:create"), {
        "name": "新项目", "callback_type": satisfaction.pk, "period_start": TODAY.isoformat(),
        "period_end": (TODAY + dt.timedelta(days=10)).isoformat(), "branch": branch_a.pk, "description": ""})
    project = Project.objects.get(name="新项目")
    assert response.status_code == 302 and response["Location"] == reverse("projects:detail", args=[project.pk])
    assert (project.branch, project.owner) == (branch_a, operator_a)


def test_create_refuses_a_bad_period_and_another_branch(login: Callable[[User], Client], operator_a: User,
                                                        branch_a: Branch, branch_b: Branch) -> None:
    client = login(operator_a)
    satisfaction = CallbackType.objects.get(code="satisfaction")
    data = {"name": "新项目", "callback_type": satisfaction.pk, "period_start": TODAY.isoformat(),
            "period_end": (TODAY - dt.timedelta(days=1)).isoformat(), "branch": branch_a.pk}
    bad_period = client.post(reverse("projects:create"), data)
    assert bad_period.status_code == 422 and "结束日期不能早于开始日期" in bad_period.content.decode()
    foreign = client.post(reverse("projects:create"), {**data, "period_end": TODAY.isoformat(),
                                                       "branch": branch_b.pk})
    assert foreign.status_code == 422
    assert not Project.objects.exists()


def test_an_agent_may_not_see_or_create_projects(login: Callable[[User], Client], agent_a: User,
                                                 project_a: Project) -> None:
    client = login(agent_a)
    assert client.get(reverse("projects:list")).status_code == 403
    assert client.get(reverse("projects:detail", args=[project_a.pk])).status_code == 403
    assert client.post(reverse("projects:create"), {"name": "x"}).status_code == 403
    assert client.post(reverse("projects:assign", args=[project_a.pk]), {"lines": "1"}).status_code == 403


def test_anonymous_is_sent_to_log_in(client: Client, project_a: Project) -> None:
    assert client.get(reverse("projects:detail", args=[project_a.pk])).status_code == 302


def test_detail_and_assignment_with_its_result(login: Callable[[User], Client], operator_a: User,
                                               project_a: Project, agents_a: list[User],
                                               customers_a: list[Customer]) -> None:
    client = login(operator_a)
    detail = client.get(reverse("projects:detail", args=[project_a.pk]))
    assert detail.status_code == 200
    assert "PD01" in detail.content.decode()  # offered in the agents' select
    lines = "\ufeff0031010000301，PD02\n\n0031010000302\n0031010000303\n0031010000301\n0031019999999"
    response = client.post(reverse("projects:assign", args=[project_a.pk]),
                           {"lines": lines, "agents": [agents_a[0].pk, agents_a[1].pk]}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "已分配 3 位客户" in html
    assert "第 5 行" in html and "与第 1 行重复" in html
    assert "第 6 行" in html and "不存在或不属于本营业部" in html
    assert "<html" not in html  # the partial only
    assert "王**" in html  # masked names
    assert Callback.objects.filter(project=project_a).count() == 3
    full = client.post(reverse("projects:assign", args=[project_a.pk]), {"lines": "0031010000304,PD01"})
    assert full.status_code == 200 and "<html" in full.content.decode()
    assert Callback.objects.filter(project=project_a, agent=agents_a[0]).count() == 3


def test_assignment_refusals(login: Callable[[User], Client], operator_a: User, project_a: Project,
                             agent_b: User, customers_a: list[Customer]) -> None:
    client = login(operator_a)
    url = reverse("projects:assign", args=[project_a.pk])
    empty = client.post(url, {"lines": " \n"}, headers=HTMX)
    assert empty.status_code == 422 and "请粘贴分配名单" in empty.content.decode()
    foreign = client.post(url, {"lines": "0031010000301", "agents": [agent_b.pk]}, headers=HTMX)
    assert foreign.status_code == 422 and "不存在或不属于本营业部" in foreign.content.decode()
    assert not Callback.objects.exists()


def test_bulk_reassign_and_cancel(login: Callable[[User], Client], operator_a: User, project_a: Project,
                                  agents_a: list[User], customers_a: list[Customer]) -> None:
    assign_project_lines(project=project_a, text="\n".join(f"{c.customer_no},PD01" for c in customers_a[:3]),
                         agent_ids=[])
    ids = list(Callback.objects.filter(project=project_a).order_by("pk").values_list("pk", flat=True))
    client = login(operator_a)
    moved = client.post(reverse("projects:reassign", args=[project_a.pk]),
                        {"callbacks": ids[:2], "agent": agents_a[1].pk, "reassign_reason": "调班"}, headers=HTMX)
    assert moved.status_code == 200 and "已改派 2 条回访任务" in moved.content.decode()
    assert Callback.objects.filter(pk__in=ids[:2], agent=agents_a[1]).count() == 2
    assert CallbackHistory.objects.filter(callback_id__in=ids[:2], reason="调班").count() == 2

    no_reason = client.post(reverse("projects:cancel", args=[project_a.pk]), {"callbacks": ids}, headers=HTMX)
    assert no_reason.status_code == 422 and "须填写原因" in no_reason.content.decode()
    cancelled = client.post(reverse("projects:cancel", args=[project_a.pk]),
                            {"callbacks": ids[2:], "cancel_reason": "客户已销户"})
    assert cancelled.status_code == 302
    assert Callback.objects.get(pk=ids[2]).state == State.CANCELLED
    again = client.post(reverse("projects:cancel", args=[project_a.pk]),
                        {"callbacks": ids, "cancel_reason": "项目结束"}, headers=HTMX)
    assert "已取消 2 条回访任务，1 条未处理" in again.content.decode()
    no_agent = client.post(reverse("projects:reassign", args=[project_a.pk]), {"callbacks": ids}, headers=HTMX)
    assert no_agent.status_code == 422


def test_a_team_lead_may_reassign_but_not_assign(login: Callable[[User], Client], branch_a: Branch,
                                                 make_user: Callable[..., User], project_a: Project,
                                                 agents_a: list[User], customers_a: list[Customer]) -> None:
    assign_project_lines(project=project_a, text=f"{customers_a[0].customer_no},PD01", agent_ids=[])
    callback = Callback.objects.get(project=project_a)
    client = login(make_user(branch_a, Role.TEAM_LEAD))
    assert client.post(reverse("projects:assign", args=[project_a.pk]), {"lines": "1"}).status_code == 403
    moved = client.post(reverse("projects:reassign", args=[project_a.pk]),
                        {"callbacks": [callback.pk], "agent": agents_a[1].pk}, headers=HTMX)
    assert moved.status_code == 200
    callback.refresh_from_db()
    assert callback.agent == agents_a[1]


def test_branch_b_gets_not_found_and_changes_nothing(login: Callable[[User], Client], operator_b: User,
                                                     project_a: Project, agents_a: list[User],
                                                     customers_a: list[Customer]) -> None:
    assign_project_lines(project=project_a, text=f"{customers_a[0].customer_no},PD01", agent_ids=[])
    callback = Callback.objects.get(project=project_a)
    client = login(operator_b)
    assert "浦东页面项目" not in client.get(reverse("projects:list")).content.decode()
    assert client.get(reverse("projects:detail", args=[project_a.pk])).status_code == 404
    assert client.post(reverse("projects:assign", args=[project_a.pk]),
                       {"lines": f"{customers_a[1].customer_no},PD01"}).status_code == 404
    assert client.post(reverse("projects:reassign", args=[project_a.pk]),
                       {"callbacks": [callback.pk], "agent": agents_a[1].pk}).status_code == 404
    assert client.post(reverse("projects:cancel", args=[project_a.pk]),
                       {"callbacks": [callback.pk], "cancel_reason": "x"}).status_code == 404
    callback.refresh_from_db()
    assert (callback.agent, callback.state) == (agents_a[0], State.ASSIGNED)
    assert Callback.objects.count() == 1


def test_hq_sees_every_branch(login: Callable[[User], Client], hq_supervisor: User, project_a: Project) -> None:
    client = login(hq_supervisor)
    assert "浦东页面项目" in client.get(reverse("projects:list")).content.decode()
    assert client.get(reverse("projects:detail", args=[project_a.pk])).status_code == 200
