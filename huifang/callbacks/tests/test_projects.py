"""Manual projects (callbacks/projects.py): creating one, assigning its customers from messy pasted text, the even
spread, re-assigning and cancelling with their history rows."""

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from huifang.callbacks.choices import OPEN_STATES, Origin, State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.projects import (
    assign_project_lines,
    cancel_callbacks,
    create_project,
    open_loads,
    project_questionnaires,
    reassign_callbacks,
)
from huifang.callbacks.services import CallbackError
from huifang.campaigns.models import CallbackType, Project
from huifang.customers.models import Customer
from huifang.customers.tests.conftest import make_customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.surveys.models import Questionnaire, QuestionnaireVersion

TODAY = timezone.localdate()


def published(code: str, *, owner_branch: Branch | None = None, is_template: bool = False,
              branches: tuple[Branch, ...] = ()) -> Questionnaire:
    questionnaire = Questionnaire.objects.create(code=code, name=f"问卷{code}", owner_branch=owner_branch,
                                                 is_template=is_template)
    questionnaire.branches.set(branches)
    QuestionnaireVersion.objects.create(questionnaire=questionnaire, number=1, state="published",
                                        definition=[{"code": "Q1", "kind": "yes_no", "text": "是否本人"}])
    return questionnaire


def satisfaction() -> CallbackType:
    return CallbackType.objects.get(code="satisfaction")


def new_project(branch: Branch, owner: User | None = None, **extra: Any) -> Project:
    fields: dict[str, Any] = {"name": "季度满意度调查", "callback_type": satisfaction(), "period_start": TODAY,
                              "period_end": TODAY + dt.timedelta(days=30), "branch": branch, "owner": owner}
    fields.update(extra)
    return create_project(**fields)


def retire(user: User) -> User:
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    return user


@pytest.fixture
def agents_a(branch_a: Branch, make_user: Callable[..., User]) -> list[User]:
    return [make_user(branch_a, Role.AGENT, username=f"pd_agent{n}", agent_no=f"PD{n:02d}") for n in (1, 2, 3)]


@pytest.fixture
def customers_a(branch_a: Branch) -> list[Customer]:
    return [make_customer(branch_a, f"00310100001{n:02d}", f"客户{n}") for n in range(1, 21)]


@pytest.fixture
def project_a(branch_a: Branch, operator_a: User) -> Project:
    return new_project(branch_a, operator_a)


# --- creating ----------------------------------------------------------------------------------------------

def test_create_project(branch_a: Branch, operator_a: User) -> None:
    questionnaire = published("pd_sat", owner_branch=branch_a)
    project = new_project(branch_a, operator_a, questionnaire=questionnaire, description=" 说明 ")
    assert (project.branch, project.owner, project.questionnaire, project.state) == (
        branch_a, operator_a, questionnaire, "open")
    assert project.description == "说明"
    assert project.period_key == f"P{project.pk}"


@pytest.mark.parametrize(("extra", "message"), [
    ({"name": "  "}, "项目名称不能为空"),
    ({"period_end": TODAY - dt.timedelta(days=1)}, "结束日期不能早于开始日期"),
    ({"period_start": TODAY - dt.timedelta(days=9), "period_end": TODAY - dt.timedelta(days=1)}, "不能早于今天"),
])
def test_create_project_refuses_bad_input(branch_a: Branch, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(CallbackError, match=message):
        new_project(branch_a, **extra)


def test_create_project_refuses_an_inactive_type_and_headquarters(hq: Branch, branch_a: Branch) -> None:
    CallbackType.objects.filter(code="satisfaction").update(is_active=False)
    with pytest.raises(CallbackError, match="已停用"):
        new_project(branch_a)
    CallbackType.objects.filter(code="satisfaction").update(is_active=True)
    with pytest.raises(CallbackError, match="营业部"):
        new_project(hq)


def test_questionnaires_a_project_may_ask(branch_a: Branch, branch_b: Branch) -> None:
    own = published("own_a", owner_branch=branch_a)
    template = published("tpl", is_template=True, branches=(branch_b,))
    company = published("company_all")
    for_a = published("company_a", branches=(branch_a,))
    for_b = published("company_b", branches=(branch_b,))
    of_b = published("own_b", owner_branch=branch_b)
    draft_only = Questionnaire.objects.create(code="draft_only", name="草稿")
    QuestionnaireVersion.objects.create(questionnaire=draft_only, number=1, state="draft")
    usable = set(project_questionnaires(branch_a))
    assert {own, template, company, for_a} <= usable
    assert not {for_b, of_b, draft_only} & usable
    for refused, message in ((for_b, "不适用"), (of_b, "不适用"), (draft_only, "没有已发布的版本")):
        with pytest.raises(CallbackError, match=message):
            new_project(branch_a, questionnaire=refused)


# --- assigning ---------------------------------------------------------------------------------------------

def test_messy_text_is_assigned_and_every_bad_line_is_reported(
        project_a: Project, operator_a: User, agents_a: list[User], customers_a: list[Customer],
        branch_b: Branch, make_user: Callable[..., User]) -> None:
    agent_b = make_user(branch_b, Role.AGENT, agent_no="GZ01")
    retired = retire(make_user(project_a.branch, Role.AGENT, agent_no="PD99"))
    manager = agents_a[2]
    Customer.objects.filter(pk=customers_a[5].pk).update(manager=manager)
    customer_b = make_customer(branch_b, "0044010000099", "广州客户")
    text = (
        "\ufeff0031010000101，PD01\n"          # 1: BOM and a full-width comma, to PD01
        "\n"                                   # 2: blank
        "  0031010000102  \n"                  # 3: spaces, spread (a tie at 1 each: PD01 first)
        "0031010000103 , PD02\n"               # 4: to PD02
        "0031010000101\n"                      # 5: duplicate of line 1
        "0031019999999\n"                      # 6: unknown customer
        f"{customer_b.customer_no}\n"         # 7: a customer of branch B
        "0031010000104,GZ01\n"                 # 8: an agent of another branch
        "0031010000105,PD99\n"                 # 9: an inactive agent
        "0031010000106,PD03\n"                 # 10: PD03 is the client manager: recusal
        "0031010000107,NOBODY\n"               # 11: unknown agent
        "\n\n"
    )
    result = assign_project_lines(project=project_a, text=text, agent_ids=[agents_a[0].pk, agents_a[1].pk],
                                  by=operator_a)
    assert [(item["line"], item["customer_no"], item["agent_no"]) for item in result.assigned] == [
        (1, "0031010000101", "PD01"), (3, "0031010000102", "PD01"), (4, "0031010000103", "PD02")]
    reasons = {item["line"]: item["reason"] for item in result.rejected}
    assert sorted(reasons) == [5, 6, 7, 8, 9, 10, 11]
    assert reasons[5] == "客户 0031010000101 与第 1 行重复"
    assert "不存在或不属于本营业部" in reasons[6]
    assert "不存在或不属于本营业部" in reasons[7]
    assert reasons[8] == "坐席 GZ01 不存在或不属于本营业部"
    assert reasons[9] == "坐席 PD99 已停用"
    assert "须回避" in reasons[10]
    assert "NOBODY" in reasons[11]
    assert next(item for item in result.rejected if item["line"] == 5)["message"].startswith("第 5 行：")
    assert agent_b.callbacks.count() == retired.callbacks.count() == 0

    callbacks = Callback.objects.filter(project=project_a).order_by("customer__customer_no")
    assert callbacks.count() == 3
    for callback in callbacks:
        assert (callback.origin, callback.state, callback.period_key, callback.due_date, callback.branch_id) == (
            Origin.PROJECT, State.ASSIGNED, project_a.period_key, project_a.period_end, project_a.branch_id)
        assert callback.questionnaire_version is not None  # the type's default questionnaire
        assert list(callback.history.values_list("from_state", "to_state")) == [
            ("", State.NEW), (State.NEW, State.ASSIGNED)]
        assert callback.history.last().agent_id == callback.agent_id


def test_the_projects_questionnaire_is_asked(project_a: Project, agents_a: list[User],
                                             customers_a: list[Customer]) -> None:
    questionnaire = published("pd_q", owner_branch=project_a.branch)
    Project.objects.filter(pk=project_a.pk).update(questionnaire=questionnaire)
    assign_project_lines(project=project_a, text=customers_a[0].customer_no, agent_ids=[agents_a[0].pk])
    callback = Callback.objects.get(project=project_a)
    assert callback.questionnaire_version == questionnaire.versions.get()


def test_a_customer_already_in_the_project_is_rejected(project_a: Project, agents_a: list[User],
                                                      customers_a: list[Customer]) -> None:
    assign_project_lines(project=project_a, text="0031010000101", agent_ids=[agents_a[0].pk])
    again = assign_project_lines(project=project_a, text="0031010000101\n0031010000102", agent_ids=[agents_a[0].pk])
    assert [item["customer_no"] for item in again.assigned] == ["0031010000102"]
    assert again.rejected[0]["reason"] == "客户 0031010000101 已在本项目中"


def test_lines_without_an_agent_and_none_chosen_are_rejected(project_a: Project, agents_a: list[User],
                                                             customers_a: list[Customer]) -> None:
    result = assign_project_lines(project=project_a, text="0031010000101\n0031010000102,PD01", agent_ids=[])
    assert [item["line"] for item in result.assigned] == [2]
    assert "没有指定坐席" in result.rejected[0]["reason"]


def test_a_bad_chosen_agent_refuses_the_whole_assignment(project_a: Project, agents_a: list[User],
                                                         customers_a: list[Customer], agent_b: User,
                                                         make_user: Callable[..., User]) -> None:
    retired = retire(make_user(project_a.branch, Role.AGENT))
    for bad in (agent_b.pk, retired.pk, 987654, "x"):
        with pytest.raises(CallbackError, match="所选坐席"):
            assign_project_lines(project=project_a, text="0031010000101", agent_ids=[agents_a[0].pk, bad])
    assert not Callback.objects.filter(project=project_a).exists()


def test_a_closed_project_takes_no_assignment(project_a: Project, agents_a: list[User],
                                              customers_a: list[Customer]) -> None:
    Project.objects.filter(pk=project_a.pk).update(state="closed")
    with pytest.raises(CallbackError, match="已关闭"):
        assign_project_lines(project=project_a, text="0031010000101", agent_ids=[agents_a[0].pk])


def test_a_client_manager_is_skipped_when_spreading(project_a: Project, agents_a: list[User],
                                                    customers_a: list[Customer]) -> None:
    Customer.objects.filter(pk__in=[c.pk for c in customers_a[:4]]).update(manager=agents_a[0])
    text = "\n".join(c.customer_no for c in customers_a[:4])
    result = assign_project_lines(project=project_a, text=text, agent_ids=[agents_a[0].pk, agents_a[1].pk])
    assert {item["agent_no"] for item in result.assigned} == {"PD02"}
    only_manager = assign_project_lines(project=project_a, text=customers_a[0].customer_no,
                                        agent_ids=[agents_a[0].pk])
    assert only_manager.assigned == []
    assert "已在本项目中" in only_manager.rejected[0]["reason"]
    Customer.objects.filter(pk=customers_a[10].pk).update(manager=agents_a[0])
    refused = assign_project_lines(project=project_a, text=customers_a[10].customer_no, agent_ids=[agents_a[0].pk])
    assert "所选坐席都是客户" in refused.rejected[0]["reason"]


def test_no_recusal_when_the_type_does_not_ask_for_it(project_a: Project, agents_a: list[User],
                                                      customers_a: list[Customer]) -> None:
    CallbackType.objects.filter(pk=project_a.callback_type_id).update(recusal=False)
    Customer.objects.filter(pk=customers_a[0].pk).update(manager=agents_a[0])
    result = assign_project_lines(project=project_a, text=f"{customers_a[0].customer_no},PD01", agent_ids=[])
    assert [item["agent_no"] for item in result.assigned] == ["PD01"]


def test_the_spread_evens_out_existing_loads(project_a: Project, operator_a: User, agents_a: list[User],
                                             customers_a: list[Customer], branch_a: Branch) -> None:
    # PD01 already has 5 open callbacks of another project, PD02 one, PD03 none (and a closed one)
    other = new_project(branch_a, name="另一个项目")
    extra = [make_customer(branch_a, f"00310200000{n:02d}", f"老客户{n}") for n in range(1, 8)]
    lines = [f"{c.customer_no},PD01" for c in extra[:5]] + [f"{extra[5].customer_no},PD02",
                                                             f"{extra[6].customer_no},PD03"]
    assign_project_lines(project=other, text="\n".join(lines), agent_ids=[])
    closed = Callback.objects.get(customer=extra[6])
    cancel_callbacks(ids=[closed.pk], reason="客户已销户")
    chosen = [a.pk for a in agents_a]
    assert open_loads(chosen) == {agents_a[0].pk: 5, agents_a[1].pk: 1, agents_a[2].pk: 0}

    # two explicit lines to PD03 count too; the other 12 are spread
    text = "\n".join([f"{customers_a[0].customer_no},PD03", f"{customers_a[1].customer_no},PD03",
                      *(c.customer_no for c in customers_a[2:14])])
    result = assign_project_lines(project=project_a, text=text, agent_ids=chosen, by=operator_a)
    assert len(result.assigned) == 14 and result.rejected == []
    loads = open_loads(chosen)
    assert sum(loads.values()) == 6 + 14
    assert max(loads.values()) - min(loads.values()) <= 1
    assert Counter(result.per_agent) == Counter({"PD01": 2, "PD02": 6, "PD03": 6})


# --- re-assigning and cancelling ---------------------------------------------------------------------------

@pytest.fixture
def assigned(project_a: Project, agents_a: list[User], customers_a: list[Customer]) -> list[Callback]:
    text = "\n".join(f"{c.customer_no},PD01" for c in customers_a[:4])
    assign_project_lines(project=project_a, text=text, agent_ids=[])
    return list(Callback.objects.filter(project=project_a).order_by("pk"))


def test_reassign_one(assigned: list[Callback], agents_a: list[User], operator_a: User) -> None:
    result = reassign_callbacks(ids=[assigned[0].pk], agent=agents_a[1], by=operator_a, reason="休假")
    assert (result.changed, result.refused) == (1, [])
    assigned[0].refresh_from_db()
    assert (assigned[0].agent, assigned[0].state) == (agents_a[1], State.ASSIGNED)
    last = assigned[0].history.order_by("id").last()
    assert last is not None
    assert (last.from_state, last.to_state, last.agent, last.by, last.reason) == (
        State.ASSIGNED, State.ASSIGNED, agents_a[1], operator_a, "休假")


def test_reassign_in_bulk_refuses_closed_foreign_and_same_agent(
        assigned: list[Callback], agents_a: list[User], operator_a: User, agent_b: User) -> None:
    cancel_callbacks(ids=[assigned[3].pk], reason="不需要")
    before = CallbackHistory.objects.count()
    ids = [c.pk for c in assigned] + [987654]
    result = reassign_callbacks(ids=ids, agent=agents_a[2], by=operator_a,
                                within=Callback.objects.filter(project=assigned[0].project))
    assert result.changed == 3
    refused = {item["id"]: item["reason"] for item in result.refused}
    assert sorted(refused) == sorted([assigned[3].pk, 987654])
    assert "不能改派" in refused[assigned[3].pk] and refused[987654] == "回访任务不存在"
    assert CallbackHistory.objects.count() == before + 3
    assert set(Callback.objects.filter(pk__in=ids[:3]).values_list("agent_id", flat=True)) == {agents_a[2].pk}
    again = reassign_callbacks(ids=[assigned[0].pk], agent=agents_a[2])
    assert again.changed == 0 and "已由坐席" in again.refused[0]["reason"]
    foreign = reassign_callbacks(ids=[assigned[0].pk], agent=agent_b)
    assert foreign.changed == 0 and "不属于该任务的营业部" in foreign.refused[0]["reason"]


def test_reassign_refuses_an_inactive_agent_and_recusal(assigned: list[Callback], agents_a: list[User]) -> None:
    Customer.objects.filter(pk=assigned[0].customer_id).update(manager=agents_a[1])
    result = reassign_callbacks(ids=[assigned[0].pk], agent=agents_a[1])
    assert "须回避" in result.refused[0]["reason"]
    retire(agents_a[2])
    with pytest.raises(CallbackError, match="已停用"):
        reassign_callbacks(ids=[assigned[0].pk], agent=agents_a[2])


def test_cancel_one_and_many_with_history(assigned: list[Callback], operator_a: User) -> None:
    with pytest.raises(CallbackError, match="原因"):
        cancel_callbacks(ids=[assigned[0].pk], reason="  ")
    single = cancel_callbacks(ids=[assigned[0].pk], by=operator_a, reason="客户要求")
    assert single.changed == 1
    bulk = cancel_callbacks(ids=[c.pk for c in assigned], by=operator_a, reason="项目缩减")
    assert bulk.changed == 3
    assert [item["id"] for item in bulk.refused] == [assigned[0].pk]
    assert not Callback.objects.filter(project=assigned[0].project, state__in=OPEN_STATES).exists()
    for callback in assigned:
        callback.refresh_from_db()
        assert callback.closed_at is not None
        last = callback.history.order_by("id").last()
        assert last is not None
        assert (last.from_state, last.to_state, last.by) == (State.ASSIGNED, State.CANCELLED, operator_a)
    assert CallbackHistory.objects.filter(to_state=State.CANCELLED).count() == 4


def test_bulk_needs_a_selection(assigned: list[Callback], agents_a: list[User]) -> None:
    with pytest.raises(CallbackError, match="至少选择"):
        reassign_callbacks(ids=[], agent=agents_a[0])
