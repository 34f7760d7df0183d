"""The callback pages: list, one callback, deadline views, the catalogue with its rules (run, dry run,
explain), risk referral and the navigation links; permissions, bad input and branch isolation on each."""

import datetime as dt
from collections.abc import Callable
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from huifang.callbacks.choices import Origin, State
from huifang.callbacks.models import Callback, RuleRun
from huifang.callbacks.services import create_callback
from huifang.campaigns.models import CallbackType, Rule
from huifang.customers.models import Customer, CustomerEvent
from huifang.customers.tests.conftest import make_customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User

SH = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 9, 30)  # a Wednesday; 1–7 October are holidays, Saturday 10 October a make-up working day
_periods = count(1)

LIST = reverse("callbacks:list")
DEADLINES = reverse("callbacks:deadlines")
RULES = reverse("callbacks:rules")
RUN = reverse("callbacks:run_rules")
EXPLAIN = reverse("callbacks:explain_rule")
REFERRAL = reverse("callbacks:referral")


def make_callback(customer: Customer, code: str = "risk_aml", due: dt.date = dt.date(2026, 10, 8),
                  **extra: Any) -> Callback:
    return create_callback(customer=customer, callback_type=CallbackType.objects.get(code=code),
                           origin=extra.pop("origin", Origin.API), due=due, period=f"T{next(_periods)}",
                           today=TODAY, **extra)


@pytest.fixture
def cust_a(branch_a: Branch) -> Customer:
    return make_customer(branch_a, "0031010000001", "张伟")


@pytest.fixture
def cust_b(branch_b: Branch) -> Customer:
    return make_customer(branch_b, "0044010000001", "李娜")


@pytest.fixture
def operator_b(branch_b: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_b, Role.BRANCH_OPERATOR, username="operator_b")


@pytest.fixture
def risk_officer(hq: Branch, make_user: Callable[..., User]) -> User:
    return make_user(hq, Role.RISK_OFFICER, username="risk_officer", name="风控王")


@pytest.fixture
def on_today(time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 9, 30, 10, 0, tzinfo=SH), tick=False)


def html(response: Any) -> str:
    return response.content.decode()


# --- the list --------------------------------------------------------------------------------------------------

def test_list_shows_the_columns_and_filters(login: Callable[[User], Client], hq_supervisor: User, agent_a: User,
                                            cust_a: Customer, cust_b: Customer) -> None:
    make_callback(cust_a, agent=agent_a)
    make_callback(cust_b, "info_change", dt.date(2026, 11, 2))
    client = login(hq_supervisor)
    page = html(client.get(LIST))
    for text in ("0031010000001", "张伟", "0044010000001", "李娜", "风控平台(反洗钱)回访", "2026-10-08",
                 agent_a.name, "上海浦东营业部", 'name="branch"'):
        assert text in page, text
    filtered = html(client.get(LIST, {"type": "info_change"}))
    assert "李娜" in filtered and "张伟" not in filtered
    by_customer = html(client.get(LIST, {"customer_no": "００３１０１００００００１"}))  # full-width digits
    assert "张伟" in by_customer and "李娜" not in by_customer
    by_due = html(client.get(LIST, {"due_from": "2026-11-01", "due_to": "2026-11-30", "state": "open"}))
    assert "李娜" in by_due and "张伟" not in by_due


def test_list_of_a_branch_user_shows_only_the_branch(login: Callable[[User], Client], agent_b: User,
                                                     cust_a: Customer, cust_b: Customer, branch_a: Branch) -> None:
    make_callback(cust_a)
    make_callback(cust_b)
    client = login(agent_b)
    page = html(client.get(LIST))
    assert "李娜" in page and "张伟" not in page
    assert 'name="branch"' not in page  # no branch filter for a branch user
    # the branch filter of HQ is not a way around the scope
    assert "张伟" not in html(client.get(LIST, {"branch": branch_a.pk}))


def test_list_pages_by_fifty(login: Callable[[User], Client], hq_supervisor: User, branch_a: Branch) -> None:
    for n in range(51):
        make_callback(make_customer(branch_a, f"00310100{n:05d}", f"客户{n}"))
    client = login(hq_supervisor)
    first = client.get(LIST)
    assert len(first.context["page"].object_list) == 50
    assert "第 1 / 2 页，共 51 条" in html(first)
    second = client.get(LIST, {"page": "2", "state": "new"})
    assert len(second.context["page"].object_list) == 1
    assert "state=new&amp;page=1" in html(second)


def test_list_runs_a_fixed_number_of_queries(login: Callable[[User], Client], hq_supervisor: User,
                                             agent_a: User, branch_a: Branch,
                                             django_assert_num_queries: Any) -> None:
    for n in range(3):
        make_callback(make_customer(branch_a, f"00310100{n:05d}", f"客户{n}"), agent=agent_a)
    client = login(hq_supervisor)
    # session (read, saved), user, its branch and groups, two permission reads; the filter form's types and
    # branches; the count and the page with customer, type, branch, agent and project joined in
    with django_assert_num_queries(QUERIES_OF_THE_LIST):
        client.get(LIST)
    for n in range(3, 12):
        make_callback(make_customer(branch_a, f"00310100{n:05d}", f"客户{n}"), agent=agent_a)
    with django_assert_num_queries(QUERIES_OF_THE_LIST):
        response = client.get(LIST)
    assert len(response.context["page"].object_list) == 12


QUERIES_OF_THE_LIST = 13


def test_list_htmx_answers_the_rows_only(login: Callable[[User], Client], hq_supervisor: User,
                                         cust_a: Customer) -> None:
    make_callback(cust_a)
    page = html(login(hq_supervisor).get(LIST, headers={"HX-Request": "true"}))
    assert "张伟" in page and "<html" not in page


def test_list_bad_input_is_a_400_with_the_message(login: Callable[[User], Client], hq_supervisor: User,
                                                  cust_a: Customer) -> None:
    make_callback(cust_a)
    client = login(hq_supervisor)
    for params in ({"due_from": "昨天"}, {"customer_no": "abc"}, {"state": "nonsense"},
                   {"due_from": "2026-10-09", "due_to": "2026-10-01"}):
        response = client.get(LIST, params)
        assert response.status_code == 400, params
        assert "errorlist" in html(response) and "张伟" not in html(response), params


def test_list_needs_the_permission(login: Callable[[User], Client], make_user: Callable[..., User],
                                   branch_a: Branch, client: Client) -> None:
    assert client.get(LIST).status_code == 302  # to the login
    nobody = make_user(branch_a, Role.QA_INSPECTOR)
    assert login(nobody).get(LIST).status_code == 403


# --- one callback ------------------------------------------------------------------------------------------------

def test_detail_shows_the_history(login: Callable[[User], Client], operator_a: User, agent_a: User,
                                  cust_a: Customer) -> None:
    callback = make_callback(cust_a, agent=agent_a, by=operator_a, reason="可疑交易")
    response = login(operator_a).get(reverse("callbacks:detail", args=[callback.pk]))
    assert response.status_code == 200
    page = html(response)
    assert "处理记录" in page and "可疑交易" in page and f"分配给 {agent_a}" in page
    assert page.count("→") == 2 and "—" in page  # created (— → new), then assigned
    assert str(operator_a) in page


def test_detail_of_another_branch_is_not_found(login: Callable[[User], Client], agent_b: User,
                                               hq_supervisor: User, cust_a: Customer) -> None:
    callback = make_callback(cust_a)
    url = reverse("callbacks:detail", args=[callback.pk])
    assert login(agent_b).get(url).status_code == 404
    assert login(hq_supervisor).get(url).status_code == 200
    assert login(hq_supervisor).get(reverse("callbacks:detail", args=[987654])).status_code == 404


# --- deadline views ------------------------------------------------------------------------------------------------

def test_deadlines_count_across_national_day_and_link_to_the_list(
        login: Callable[[User], Client], hq_supervisor: User, cust_a: Customer, cust_b: Customer,
        on_today: None) -> None:
    make_callback(cust_a, due=dt.date(2026, 10, 10))  # the 3rd working day (make-up Saturday)
    make_callback(cust_a, due=dt.date(2026, 10, 12))  # the 4th: not at risk within 3
    make_callback(cust_b, due=dt.date(2026, 9, 29))   # overdue
    client = login(hq_supervisor)
    response = client.get(DEADLINES)
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.horizon == dt.date(2026, 10, 10)
    assert (summary.at_risk.total, summary.overdue.total) == (1, 1)
    page = html(response)
    assert "2026-09-30 至 2026-10-10" in page
    link = (f"{LIST}?state=open&amp;branch={cust_a.branch_id}&amp;type=risk_aml&amp;due_from=2026-09-30"
            "&amp;due_to=2026-10-10")
    assert link in page
    listed = client.get(link.replace("&amp;", "&"))
    assert [c.due_date for c in listed.context["page"]] == [dt.date(2026, 10, 10)]
    assert f"{LIST}?state=open&amp;branch={cust_b.branch_id}&amp;type=risk_aml&amp;due_to=2026-09-29" in page
    wider = client.get(DEADLINES, {"within": 4})
    assert wider.context["summary"].at_risk.total == 2


def test_deadlines_of_a_branch_show_only_the_branch(login: Callable[[User], Client], operator_b: User,
                                                    cust_a: Customer, cust_b: Customer, on_today: None) -> None:
    make_callback(cust_a, due=dt.date(2026, 10, 8))
    make_callback(cust_a, due=dt.date(2026, 9, 1))
    page = html(login(operator_b).get(DEADLINES))
    assert "上海浦东营业部" not in page
    assert "没有即将到期的回访任务" in page and "没有逾期的回访任务" in page


def test_deadlines_bad_input_and_permission(login: Callable[[User], Client], hq_supervisor: User,
                                            make_user: Callable[..., User], branch_a: Branch,
                                            on_today: None) -> None:
    client = login(hq_supervisor)
    for within in ("abc", "-1", "999"):
        response = client.get(DEADLINES, {"within": within})
        assert response.status_code == 400 and "errorlist" in html(response), within
    assert login(make_user(branch_a, Role.QA_INSPECTOR)).get(DEADLINES).status_code == 403


def test_deadlines_in_an_uncovered_year_say_so_and_still_show_the_overdue(
        login: Callable[[User], Client], hq_supervisor: User, cust_a: Customer, time_machine: Any) -> None:
    make_callback(cust_a, due=dt.date(2026, 12, 1))
    time_machine.move_to(dt.datetime(2027, 12, 30, 10, 0, tzinfo=SH), tick=False)
    response = login(hq_supervisor).get(DEADLINES)
    assert response.status_code == 200
    assert 'id="calendar-error"' in html(response) and "2027" in html(response)
    assert "已逾期：截止日期早于 2027-12-30 的未完成任务，共 1 条" in html(response)


# --- the catalogue, rule runs and explain -----------------------------------------------------------------------

def _risk_flag(customer: Customer, day: dt.date = TODAY) -> None:
    CustomerEvent.objects.create(customer=customer, type="risk_flagged", source="test",
                                 occurred_at=dt.datetime.combine(day, dt.time(11), tzinfo=SH), data={})


def test_rules_page_shows_the_catalogue_and_rules(login: Callable[[User], Client], operator_a: User) -> None:
    response = login(operator_a).get(RULES)
    assert response.status_code == 200
    page = html(response)
    for text in ("new_account", "次月第 5 个工作日", "5 个工作日", "2 个交易日", "当季季末", "7 个自然日",
                 "风控标记（近 7 天）", "&quot;event_types&quot;: [",
                 "最近运行记录"):
        assert text in page, text
    assert page.count('<tr id="type-') == CallbackType.objects.count()
    assert page.count('<tr id="rule-') == Rule.objects.count()
    assert 'id="run-form"' not in page  # a branch operator may not run the rules
    assert 'id="explain-form"' in page


def test_rules_page_needs_view_rule(login: Callable[[User], Client], agent_a: User) -> None:
    assert login(agent_a).get(RULES).status_code == 403
    assert login(agent_a).get(EXPLAIN).status_code == 403


def test_dry_run_counts_and_creates_nothing(login: Callable[[User], Client], hq_supervisor: User,
                                            cust_a: Customer, cust_b: Customer) -> None:
    _risk_flag(cust_a)
    _risk_flag(cust_b)
    client = login(hq_supervisor)
    response = client.post(RUN, {"as_of": "2026-09-30", "dry_run": "on"})
    assert response.status_code == 200
    page = html(response)
    assert "将生成 2 条" in page
    assert response.context["report"]["counts"] == [
        {"type": "风控平台(反洗钱)回访", "branch": "上海浦东营业部", "count": 1},
        {"type": "风控平台(反洗钱)回访", "branch": "广州天河营业部", "count": 1}]
    assert not Callback.objects.exists()
    run = RuleRun.objects.get()
    assert run.dry_run and run.started_by == hq_supervisor and run.trigger == "manual"


def test_run_creates_the_callbacks_and_lists_the_run(login: Callable[[User], Client], hq_supervisor: User,
                                                     cust_a: Customer) -> None:
    _risk_flag(cust_a)
    client = login(hq_supervisor)
    page = html(client.post(RUN, {"as_of": "2026-09-30"}))
    assert "已生成 1 条" in page
    assert Callback.objects.get().customer == cust_a
    again = client.get(RULES)
    assert [row.count for row in again.context["runs"]] == [1]


def test_run_reports_a_calendar_gap_as_an_error(login: Callable[[User], Client], hq_supervisor: User,
                                                cust_a: Customer) -> None:
    page = html(login(hq_supervisor).post(RUN, {"as_of": "2027-12-30", "dry_run": "on"}))
    assert 'id="run-errors"' in page and "2027" in page


def test_run_needs_add_rulerun_and_a_date(login: Callable[[User], Client], auditor: User, operator_a: User,
                                          hq_supervisor: User) -> None:
    assert login(auditor).post(RUN, {"as_of": "2026-09-30"}).status_code == 403
    assert login(operator_a).post(RUN, {"as_of": "2026-09-30"}).status_code == 403
    assert not RuleRun.objects.exists()
    response = login(hq_supervisor).post(RUN, {"as_of": "not a date"})
    assert response.status_code == 422 and "errorlist" in html(response)
    assert not RuleRun.objects.exists()


def _risk_rule() -> str:
    return str(Rule.objects.get(callback_type__code="risk_aml").pk)


def test_explain_lists_the_conditions(login: Callable[[User], Client], operator_a: User, cust_a: Customer) -> None:
    _risk_flag(cust_a)
    response = login(operator_a).get(EXPLAIN, {"rule": _risk_rule(), "customer_no": cust_a.customer_no,
                                               "as_of": "2026-09-30"})
    assert response.status_code == 200
    steps = response.context["explanation"][0]["steps"]
    assert steps and all(step["holds"] for step in steps)
    assert "✓ 全部条件（含配额与抽样）" in html(response)
    not_flagged = login(operator_a).get(EXPLAIN, {"rule": _risk_rule(), "customer_no": cust_a.customer_no,
                                                  "as_of": "2026-12-30"})
    assert "✗" in html(not_flagged)


def test_explain_a_customer_of_another_branch_is_not_found(login: Callable[[User], Client], operator_b: User,
                                                           cust_a: Customer) -> None:
    response = login(operator_b).get(EXPLAIN, {"rule": _risk_rule(), "customer_no": cust_a.customer_no,
                                               "as_of": "2026-09-30"})
    assert response.status_code == 404
    assert f"客户 {cust_a.customer_no} 不存在" in html(response)
    assert "张伟" not in html(response)


def test_explain_bad_input(login: Callable[[User], Client], operator_a: User, cust_a: Customer) -> None:
    client = login(operator_a)
    assert client.get(EXPLAIN, {"rule": "999999", "customer_no": "1", "as_of": "2026-09-30"}).status_code == 400
    assert client.get(EXPLAIN, {"rule": _risk_rule(), "customer_no": "x", "as_of": "2026-09-30"}).status_code \
        == 400
    uncovered = client.get(EXPLAIN, {"rule": _risk_rule(), "customer_no": cust_a.customer_no,
                                     "as_of": "2027-12-30"})
    assert uncovered.status_code == 422 and "2027" in html(uncovered)


# --- risk referral --------------------------------------------------------------------------------------------------

def test_referral_lands_at_the_customers_branch(login: Callable[[User], Client], risk_officer: User,
                                                cust_a: Customer, on_today: None) -> None:
    client = login(risk_officer)
    form = client.get(REFERRAL)
    assert form.status_code == 200
    assert '<option value="risk_aml" selected>' in html(form)
    response = client.post(REFERRAL, {"customer_no": cust_a.customer_no, "callback_type": "risk_aml",
                                      "reason": "反洗钱系统预警：短期内频繁大额转入转出"}, follow=True)
    assert "已下达至 上海浦东营业部" in html(response)
    callback = Callback.objects.get()
    assert (callback.branch, callback.origin, callback.created_by) == (cust_a.branch, Origin.RISK_REFERRAL,
                                                                       risk_officer)
    assert callback.reason.startswith("反洗钱系统预警")
    assert callback.state == State.NEW and callback.due_date == dt.date(2026, 10, 13)  # 8, 9, 10 (make-up), 12, 13 Oct


def test_referral_errors_stand_at_their_field(login: Callable[[User], Client], risk_officer: User,
                                              cust_a: Customer, on_today: None) -> None:
    client = login(risk_officer)
    data = {"customer_no": cust_a.customer_no, "callback_type": "risk_aml", "reason": "预警"}
    assert client.post(REFERRAL, data).status_code == 302
    duplicate = client.post(REFERRAL, data)
    assert duplicate.status_code == 422 and "本期" in html(duplicate)
    unknown = client.post(REFERRAL, {**data, "customer_no": "0099999999999"})
    assert unknown.status_code == 422 and "客户 0099999999999 不存在" in html(unknown)
    empty = client.post(REFERRAL, {**data, "reason": "   "})
    assert empty.status_code == 422 and "请填写转介原因" in html(empty)
    inactive = CallbackType.objects.get(code="other")
    inactive.is_active = False
    inactive.save()
    assert client.post(REFERRAL, {**data, "callback_type": "other"}).status_code == 422
    assert Callback.objects.count() == 1


def test_a_branch_user_refers_only_own_customers(login: Callable[[User], Client], operator_b: User,
                                                 cust_a: Customer, cust_b: Customer, on_today: None) -> None:
    client = login(operator_b)
    data = {"callback_type": "risk_aml", "reason": "柜台发现异常"}
    refused = client.post(REFERRAL, {**data, "customer_no": cust_a.customer_no})
    assert refused.status_code == 422 and "不存在" in html(refused)
    assert client.post(REFERRAL, {**data, "customer_no": cust_b.customer_no}).status_code == 302
    assert list(Callback.objects.values_list("customer_id", flat=True)) == [cust_b.pk]


def test_referral_needs_add_callback(login: Callable[[User], Client], agent_a: User, cust_a: Customer) -> None:
    client = login(agent_a)
    assert client.get(REFERRAL).status_code == 403
    assert client.post(REFERRAL, {"customer_no": cust_a.customer_no, "callback_type": "risk_aml",
                                  "reason": "x"}).status_code == 403
    assert not Callback.objects.exists()


# --- navigation -------------------------------------------------------------------------------------------------------

def test_nav_links_follow_the_permissions(login: Callable[[User], Client], hq_supervisor: User,
                                          agent_a: User) -> None:
    hq_page = html(login(hq_supervisor).get(reverse("home")))
    assert f'<a href="{LIST}">回访任务</a>' in hq_page and f'<a href="{RULES}">触发规则</a>' in hq_page
    agent_page = html(login(agent_a).get(reverse("home")))
    assert f'<a href="{LIST}">回访任务</a>' in agent_page
    assert "触发规则" not in agent_page and "回访项目" not in agent_page
