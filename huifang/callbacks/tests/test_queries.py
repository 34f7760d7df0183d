"""Reads of the callback pages: the filtered list, access to one callback, the deadline summary across the 2026
National Day break, and the rule runs a branch user sees."""

import datetime as dt
from itertools import count
from typing import Any

import pytest

from huifang.callbacks import queries
from huifang.callbacks.choices import Origin, State
from huifang.callbacks.models import Callback, RuleRun
from huifang.callbacks.services import change_state, create_callback
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.customers.tests.conftest import make_customer
from huifang.org.models import Branch, User
from huifang.org.queries import NotFound

TODAY = dt.date(2026, 9, 30)  # a Wednesday; 1–7 October are holidays, Saturday 10 October a make-up working day
_periods = count(1)


def make_callback(customer: Customer, code: str, due: dt.date, *, state: str = State.NEW) -> Callback:
    callback = create_callback(customer=customer, callback_type=CallbackType.objects.get(code=code),
                               origin=Origin.API, due=due, period=f"T{next(_periods)}", today=TODAY)
    if state == State.CANCELLED:
        callback = change_state(callback=callback, to=State.CANCELLED, reason="测试")
    return callback


@pytest.fixture
def cust_a(branch_a: Branch) -> Customer:
    return make_customer(branch_a, "0031010000001", "张伟")


@pytest.fixture
def cust_b(branch_b: Branch) -> Customer:
    return make_customer(branch_b, "0044010000001", "李娜")


def _cells(table: queries.DeadlineTable) -> dict[tuple[str, str], int]:
    return {(row.branch_name, cell.type_code): cell.count for row in table.rows for cell in row.cells}


def test_at_risk_counts_working_days_across_national_day(hq_supervisor: User, cust_a: Customer,
                                                         cust_b: Customer) -> None:
    make_callback(cust_a, "risk_aml", dt.date(2026, 10, 8))     # 1st working day after the break
    make_callback(cust_a, "risk_aml", dt.date(2026, 10, 10))    # 3rd: the make-up Saturday
    make_callback(cust_a, "risk_aml", dt.date(2026, 10, 12))    # 4th: outside
    make_callback(cust_a, "info_change", TODAY)                 # due today: at risk, not overdue
    make_callback(cust_b, "risk_aml", dt.date(2026, 10, 9))
    make_callback(cust_a, "risk_aml", dt.date(2026, 9, 29))     # overdue
    make_callback(cust_b, "risk_aml", dt.date(2026, 9, 1))      # overdue
    make_callback(cust_a, "risk_aml", dt.date(2026, 9, 2), state=State.CANCELLED)  # closed: counted nowhere

    summary = queries.deadline_summary(hq_supervisor, TODAY, 3)
    assert summary.at_risk is not None

    assert summary.horizon == dt.date(2026, 10, 10)  # not 5 October, as weekdays alone would say
    assert _cells(summary.at_risk) == {("上海浦东营业部", "risk_aml"): 2, ("上海浦东营业部", "info_change"): 1,
                                       ("广州天河营业部", "risk_aml"): 1, ("广州天河营业部", "info_change"): 0}
    assert summary.at_risk.total == 4
    assert summary.at_risk.column_totals == [3, 1]
    assert _cells(summary.overdue) == {("上海浦东营业部", "risk_aml"): 1, ("广州天河营业部", "risk_aml"): 1}
    assert summary.overdue.due_to == dt.date(2026, 9, 29)


def test_within_zero_days_is_today_only(hq_supervisor: User, cust_a: Customer) -> None:
    make_callback(cust_a, "risk_aml", TODAY)
    make_callback(cust_a, "risk_aml", dt.date(2026, 10, 8))
    summary = queries.deadline_summary(hq_supervisor, TODAY, 0)
    assert summary.horizon == TODAY
    assert summary.at_risk is not None and summary.at_risk.total == 1


def test_a_branch_sees_only_its_own_deadlines(agent_b: User, cust_a: Customer, cust_b: Customer) -> None:
    make_callback(cust_a, "risk_aml", dt.date(2026, 10, 8))
    make_callback(cust_a, "risk_aml", dt.date(2026, 9, 1))
    make_callback(cust_b, "risk_aml", dt.date(2026, 10, 9))
    summary = queries.deadline_summary(agent_b, TODAY, 3)
    assert summary.at_risk is not None
    assert [row.branch_name for row in summary.at_risk.rows] == ["广州天河营业部"]
    assert summary.overdue.rows == []


def test_in_an_uncovered_year_at_risk_is_missing_but_overdue_still_counts(hq_supervisor: User,
                                                                           cust_a: Customer) -> None:
    make_callback(cust_a, "risk_aml", dt.date(2026, 12, 1))
    summary = queries.deadline_summary(hq_supervisor, dt.date(2027, 12, 30), 3)
    assert summary.at_risk is None and summary.horizon is None
    assert "2027" in summary.calendar_error
    assert summary.overdue.total == 1


def test_access_callback_is_not_found_for_another_branch(agent_a: User, agent_b: User, hq_supervisor: User,
                                                         cust_a: Customer) -> None:
    callback = make_callback(cust_a, "risk_aml", dt.date(2026, 10, 8))
    assert queries.access_callback(agent_a, callback.pk) == callback
    assert queries.access_callback(hq_supervisor, callback.pk) == callback
    with pytest.raises(NotFound):
        queries.access_callback(agent_b, callback.pk)
    with pytest.raises(NotFound):
        queries.access_callback(agent_a, "x")


def test_filter_callbacks(hq_supervisor: User, agent_a: User, branch_b: Branch, cust_a: Customer,
                          cust_b: Customer) -> None:
    early = make_callback(cust_a, "risk_aml", dt.date(2026, 10, 8))
    late = make_callback(cust_a, "info_change", dt.date(2026, 11, 8))
    closed = make_callback(cust_a, "risk_aml", dt.date(2026, 10, 9), state=State.CANCELLED)
    other = make_callback(cust_b, "risk_aml", dt.date(2026, 10, 8))

    def ids(user: Any, **chosen: Any) -> list[int]:
        return [c.pk for c in queries.filter_callbacks(user, queries.CallbackFilter(**chosen))]

    assert ids(hq_supervisor) == [early.pk, other.pk, closed.pk, late.pk]
    assert ids(agent_a) == [early.pk, closed.pk, late.pk]
    assert ids(hq_supervisor, type_code="info_change") == [late.pk]
    assert ids(hq_supervisor, state=queries.OPEN, branch_id=cust_a.branch_id) == [early.pk, late.pk]
    assert ids(hq_supervisor, state=State.CANCELLED) == [closed.pk]
    assert ids(hq_supervisor, due_from=dt.date(2026, 10, 9), due_to=dt.date(2026, 10, 31)) == [closed.pk]
    assert ids(hq_supervisor, customer_no="0044010000001") == [other.pk]
    # a branch filter never widens what a branch user sees
    assert ids(agent_a, branch_id=branch_b.pk) == []


def test_latest_runs_show_a_branch_only_its_own_counts(hq_supervisor: User, agent_a: User, branch_a: Branch,
                                                       branch_b: Branch) -> None:
    RuleRun.objects.create(as_of=TODAY, started_at=dt.datetime(2026, 9, 30, 18, tzinfo=dt.UTC), created_count=5,
                           counts=[{"type": "risk_aml", "rule": 1, "branch": branch_a.pk, "count": 2},
                                   {"type": "risk_aml", "rule": 1, "branch": branch_b.pk, "count": 3}])
    assert [row.count for row in queries.latest_runs(hq_supervisor)] == [5]
    assert [row.count for row in queries.latest_runs(agent_a)] == [2]
