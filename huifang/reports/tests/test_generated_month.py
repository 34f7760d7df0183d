"""The issue's acceptance check: for a generated month (the demo brokerage with its call history, November 2026
seen on 2 December), every figure of every report equals a count made here, independently, one raw row at a time
in Python — not with the builders' queries or the roll-ups."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from huifang.calendars.queries import is_working_day
from huifang.callbacks.models import Callback
from huifang.calls.models import Call, CallCallback, ContactCorrection
from huifang.customers.models import Customer, CustomerEvent
from huifang.org.models import User
from huifang.reports.periods import Period, parse_period
from huifang.reports.registry import build_report
from huifang.reports.tables import Report, Table

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: the history covers the 45 days before this evening: all of November
NOW = dt.datetime(2026, 12, 2, 19, 0, tzinfo=SHANGHAI)
MONTH = parse_period("2026-11")


@pytest.fixture(scope="module")
def generated(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The demo built once for the module on 2 December 2026 (time stands still there until the module ends),
    in a transaction rolled back afterwards; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), time_machine.travel(NOW, tick=False), transaction.atomic():
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            call_command("demo_data", customers=400, seed=7, stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def supervisor(generated: None, db: Any) -> User:
    """The demo's HQ supervisor."""
    return User.objects.get(username="supervisor")


def _local_day(moment: dt.datetime | None) -> dt.date | None:
    return moment.astimezone(SHANGHAI).date() if moment is not None else None


def _day(moment: dt.datetime | None) -> dt.date:
    assert moment is not None
    return moment.astimezone(SHANGHAI).date()


def _in(period: Period, moment: dt.datetime | None) -> bool:
    day = _local_day(moment)
    return day is not None and period.contains(day)


def _connected(link: CallCallback) -> int:
    assert link.outcome is not None
    return int(link.outcome.connected)


def _succeeded(link: CallCallback) -> int:
    assert link.outcome is not None
    return int(link.outcome.code == "success")


def _table(report: Report, title: str) -> Table:
    [table] = [table for table in report.tables if table.title == title]
    return table


def _rows(table: Table, width: int) -> dict[Any, list[Any]]:
    """The table's rows by their first cell, the first `width` figures after it."""
    return {row[0]: row[1:1 + width] for row in table.rows}


def _agent(user: User) -> str:
    return f"{user.name or user.username}（{user.agent_no}）" if user.agent_no else (user.name or user.username)


def _nonzero(counts: dict[Any, list[int]]) -> dict[Any, list[int]]:
    return {key: value for key, value in counts.items() if any(value)}


def _links(period: Period) -> list[CallCallback]:
    return [link for link in CallCallback.objects.select_related("call__branch", "call__agent", "outcome",
                                                                 "callback__callback_type")
            if _in(period, link.registered_at)]


def test_the_daily_report_of_the_month_equals_the_raw_outcomes_and_calls(supervisor: User) -> None:
    report = build_report("daily", user=supervisor, period=MONTH)
    links = _links(MONTH)
    assert len(links) > 1000  # a month of a demo brokerage's work
    for title, key in (("按回访类型", lambda link: link.callback.callback_type.name),
                       ("按回访人员", lambda link: _agent(link.call.agent)),
                       ("按营业部", lambda link: link.call.branch.name)):
        counted: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
        for link in links:
            figures = counted[key(link)]
            figures[0] += 1
            figures[1] += _connected(link)
            figures[2] += _succeeded(link)
        table = _table(report, title)
        assert _rows(table, 3) == dict(counted), title
        assert table.total is not None and table.total[1:4] == [sum(v[i] for v in counted.values()) for i in range(3)]
    calls = [call for call in Call.objects.all() if _in(MONTH, call.dialed_at)]
    headline = {figure.label: figure.value for figure in report.figures}
    assert headline["外呼次数"] == f"{len(links):,}"
    assert headline["成功回访数"] == f"{sum(map(_succeeded, links)):,}"
    assert headline["通话时长"] == f"{sum(call.duration_seconds for call in calls) / 60:,.0f} 分钟"


def _due(period: Period) -> list[Callback]:
    return [callback for callback in Callback.objects.select_related("branch", "callback_type")
            if period.contains(callback.due_date) and callback.state != "cancelled"]


def _success(callback: Callback) -> bool:
    return callback.state == "done" and callback.result == "success"


def _on_time(callback: Callback) -> bool:
    closed = _local_day(callback.closed_at)
    return callback.state == "done" and closed is not None and closed <= callback.due_date


def test_the_kpis_of_the_month_equal_the_raw_records(supervisor: User) -> None:
    report = build_report("kpis", user=supervisor, period=MONTH)
    found = {row[0]: (row[2], row[3]) for row in _table(report, "指标一览").rows}
    links = _links(MONTH)
    assert found["外呼成功率"] == (sum(map(_connected, links)), len(links))
    due = _due(MONTH)
    assert found["回访成功率"] == (sum(map(_success, due)), len(due))
    assert found["按时完成率"] == (sum(map(_on_time, due)), len(due))
    calls = [call for call in Call.objects.all() if _in(MONTH, call.dialed_at)]
    handled = sum(int((call.ended_at - call.dialed_at).total_seconds()) for call in calls if call.ended_at)
    assert found["平均处理时长"] == (handled, len(calls))
    agent_days = {(call.agent_id, _day(call.dialed_at)) for call in calls}
    working = {pair for pair in agent_days if is_working_day(pair[1])}
    assert found["人均日成功回访数"] == (sum(map(_succeeded, links)), len(working))
    # annual coverage: customers of the previous year's end, and those of them called successfully this year
    year_start = dt.date(2026, 1, 1)
    closing = {event.customer_id for event in CustomerEvent.objects.filter(
        type__in=("account_closed", "designation_withdrawn")) if _day(event.occurred_at) >= year_start}
    base = {customer.pk for customer in Customer.objects.all()
            if customer.open_date is not None and customer.open_date < year_start and customer.status != "dormant"
            and (customer.status not in ("closed", "designation_withdrawn") or customer.pk in closing)}
    succeeded = {link.callback.customer_id for link in CallCallback.objects.select_related("outcome", "callback")
                 if _succeeded(link) and year_start <= _day(link.registered_at) <= MONTH.end}
    assert found["年度回访覆盖率"] == (len(base & succeeded), len(base))


def _four(callbacks: Iterable[Callback], key: Any) -> dict[Any, list[int]]:
    counted: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for callback in callbacks:
        figures = counted[key(callback)]
        figures[0] += 1
        figures[1] += int(callback.state == "done")
        figures[2] += int(_success(callback))
        figures[3] += int(_on_time(callback))
    return dict(counted)


def test_the_quarterly_roll_up_equals_the_raw_callbacks(supervisor: User) -> None:
    quarter = parse_period("2026-Q4")
    report = build_report("quarterly", user=supervisor, period=quarter)
    due = _due(quarter)
    assert _rows(_table(report, "按营业部"), 4) == _four(due, lambda callback: callback.branch.name)
    detail = {(row[0], row[1]): row[2:6] for row in _table(report, "按营业部与回访类型").rows}
    assert detail == _four(due, lambda callback: (callback.branch.name, callback.callback_type.name))


@pytest.mark.parametrize("month", ["2026-10", "2026-11"])
def test_the_new_customer_summary_equals_the_raw_customers_and_callbacks(supervisor: User, month: str) -> None:
    period = parse_period(month)
    report = build_report("new_customers", user=supervisor, period=period)
    opened = {customer.pk: customer.branch.name for customer in Customer.objects.select_related("branch")
              if customer.open_date is not None and period.contains(customer.open_date)}
    counted: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for name in opened.values():
        counted[name][0] += 1
    for callback in Callback.objects.filter(callback_type__code="new_account").exclude(state="cancelled"):
        if callback.customer_id not in opened:
            continue
        figures = counted[opened[callback.customer_id]]
        figures[1] += 1
        figures[2] += int(_success(callback))
        figures[3] += int(callback.state not in ("new", "assigned", "in_progress") and not _success(callback))
        figures[4] += int(callback.state in ("new", "assigned", "in_progress"))
    assert _nonzero(_rows(_table(report, "按营业部"), 5)) == dict(counted)


def test_the_client_manager_summary_equals_the_raw_customers_and_callbacks(supervisor: User) -> None:
    report = build_report("managers", user=supervisor, period=MONTH)
    three_months_before = dt.date(2026, 8, 30)  # the period's end (30 November) less 3 months
    counted: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    managers = {user.pk: user for user in User.objects.filter(groups__name="client_manager")}
    for customer in Customer.objects.select_related("branch").filter(manager_id__in=managers):
        figures = counted[(customer.branch.name, _agent(managers[customer.manager_id]))]
        figures[0] += 1
        figures[1] += int(customer.open_date is not None and customer.open_date <= three_months_before)
    for callback in Callback.objects.select_related("customer__branch").filter(
            callback_type__code="manager_customers", period_key=MONTH.key).exclude(state="cancelled"):
        manager = managers.get(callback.customer.manager_id)
        if manager is None:
            continue
        figures = counted[(callback.customer.branch.name, _agent(manager))]
        figures[2] += 1
        figures[3] += int(_success(callback))
    found = {(row[0], row[1]): row[2:6] for row in _table(report, "按客户经理").rows}
    assert found == dict(counted)


def test_the_contact_change_statistics_equal_the_raw_corrections_and_events(supervisor: User) -> None:
    report = build_report("contact_changes", user=supervisor, period=MONTH)
    counted: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for correction in ContactCorrection.objects.select_related("branch"):
        if _in(MONTH, correction.found_at):
            counted[correction.branch.name][0 if correction.kind == "invalid" else 1] += 1
    for event in CustomerEvent.objects.select_related("customer__branch").filter(type="info_changed"):
        if _in(MONTH, event.occurred_at):
            counted[event.customer.branch.name][2] += 1
    assert _nonzero(_rows(_table(report, "按营业部"), 3)) == dict(counted)
    assert sum(figures[0] for figures in counted.values()) > 0 and sum(figures[2] for figures in counted.values()) > 0


def test_the_satisfaction_analysis_equals_the_raw_answers(supervisor: User) -> None:
    """Per branch and per customer tier: responses started in the month with an answered satisfaction question
    (a rating question whose text says 满意), their mean score on 0–100, and those at or above the scale's
    second-highest point."""
    from huifang.surveys import rules
    from huifang.surveys.models import Answer, QuestionnaireVersion

    scales: dict[tuple[int, str], tuple[int, int]] = {}
    for version in QuestionnaireVersion.objects.all():
        for question in rules.parse_definition(version.definition).questions:
            if question.kind == "rating" and "满意" in question.text:
                scales[(version.pk, question.code)] = (question.scale_min, question.scale_max)
    per_response: dict[int, list[tuple[float, float]]] = defaultdict(list)
    where: dict[int, tuple[str, str]] = {}
    for answer in Answer.objects.select_related("response__customer__branch"):
        response = answer.response
        scale = scales.get((response.version_id, answer.question_code))
        if scale is None or not _in(MONTH, response.started_at) or not isinstance(answer.value, int | float):
            continue
        low, high = scale
        per_response[response.pk].append(((answer.value - low) / (high - low) * 100,
                                          (high - 1 - low) / (high - low) * 100))
        where[response.pk] = (response.customer.branch.name, response.customer.tier)
    assert len(per_response) > 100
    report = build_report("satisfaction", user=supervisor, period=MONTH)
    for title, part in (("按营业部", 0), ("按客户等级", 1)):
        groups: dict[str, list[list[tuple[float, float]]]] = defaultdict(list)
        for pk, pairs in per_response.items():
            groups[where[pk][part]].append(pairs)
        tiers = {"diamond": "钻石", "gold": "黄金", "silver": "白银", "regular": "普通"}
        expected = {}
        for name, responses in groups.items():
            means = [sum(score for score, _ in pairs) / len(pairs) for pairs in responses]
            bars = [sum(bar for _, bar in pairs) / len(pairs) for pairs in responses]
            satisfied = sum(mean >= bar - 1e-9 for mean, bar in zip(means, bars, strict=True))
            expected[tiers.get(name, name)] = [len(responses), f"{sum(means) / len(means):.1f}", satisfied]
        assert _rows(_table(report, title), 3) == expected, title
