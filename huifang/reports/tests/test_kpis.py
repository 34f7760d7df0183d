"""The KPIs (回访指标): for a generated month of raw rows (customers, callbacks, calls, outcomes, questionnaire
responses), every KPI — in all, per branch and per agent — equals a count made here, one raw row at a time,
without the roll-ups or the KPI module's queries. The report shows them with their formulas; a branch user
sees only their branch.

The generated month (`generated_month`) is shared with the quarterly and satisfaction tests."""

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from huifang.calendars import queries as calendar
from huifang.callbacks.attempts import questionnaire_complete
from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, OutcomeCode
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer, CustomerEvent
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.org.queries import NotFound
from huifang.reports.kpis import KPI_BY_CODE, KPIS, quota_units
from huifang.reports.periods import Period, parse_period
from huifang.reports.registry import build_report
from huifang.surveys.models import QuestionnaireVersion, Response

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONTH = parse_period("2026-10")
QUARTER = parse_period("2026-Q4")
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=SHANGHAI)
STATES = ["done", "done", "done", "failed", "new", "assigned", "in_progress", "cancelled", "expired"]
TIERS = ["diamond", "gold", "silver", "regular", "regular"]
STATUSES = ["normal"] * 6 + ["dormant", "closed", "designation_withdrawn"]


@dataclass
class Month:
    branch_a: Branch
    branch_b: Branch
    agents: list[User]
    managers: list[User]
    customers: list[Customer] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    links: list[CallCallback] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)


def local(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI) + dt.timedelta(minutes=rng.randrange(0, 24 * 60))


@pytest.fixture
def generated_month(branch_a: Branch, branch_b: Branch, make_user: Callable[..., User]) -> Month:
    """Two branches with agents and client managers; 70 customers each (tiers, statuses, open dates from 2023,
    closing events); 1–3 callbacks per customer due 2026-09-25 … 2026-11-06 in every state, some with a
    questionnaire and its response (their own, or only the customer's); 0–3 calls per callback dialed around
    their due date with outcomes; product purchases in the quarter. The roll-ups are rebuilt from the rows."""
    rng = random.Random(20261)
    agents = [make_user(branch_a, Role.AGENT, name="浦东坐席一"), make_user(branch_a, Role.AGENT, name="浦东坐席二"),
              make_user(branch_b, Role.AGENT, name="天河坐席一")]
    managers = [make_user(branch_a, Role.CLIENT_MANAGER, name="浦东经理一"),
                make_user(branch_a, Role.CLIENT_MANAGER, name="浦东经理二"),
                make_user(branch_b, Role.CLIENT_MANAGER, name="天河经理一")]
    month = Month(branch_a, branch_b, agents, managers)
    types = {t.code: t for t in CallbackType.objects.all()}
    chosen = [types[code] for code in ("manager_customers", "product_buyer", "new_account", "satisfaction",
                                       "info_change", "other")]
    outcomes = list(OutcomeCode.objects.all())
    success = next(o for o in outcomes if o.code == "success")
    versions = list(QuestionnaireVersion.objects.filter(state="published"))
    created = dt.datetime(2026, 9, 1, 9, tzinfo=SHANGHAI)
    serial = 0
    for branch in (branch_a, branch_b):
        branch_agents = [a for a in agents if a.branch_id == branch.pk]
        branch_managers = [m for m in managers if m.branch_id == branch.pk]
        for n in range(70):
            status = rng.choice(STATUSES)
            customer = Customer.objects.create(
                customer_no=f"{branch.code}{n:08d}", name=f"客户{n}", branch=branch, tier=rng.choice(TIERS),
                status=status, manager=rng.choice([*branch_managers, None]),
                open_date=None if n == 0 else dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 1340)))
            month.customers.append(customer)
            if status in ("closed", "designation_withdrawn") and rng.random() < 0.7:
                CustomerEvent.objects.create(
                    customer=customer, type="account_closed" if status == "closed" else "designation_withdrawn",
                    occurred_at=_at(dt.date(2025, 10, 1) + dt.timedelta(days=rng.randrange(0, 200)), rng))
            if rng.random() < 0.4:
                CustomerEvent.objects.create(customer=customer, type="product_purchased",
                                             occurred_at=_at(dt.date(2026, 9, 20) + dt.timedelta(
                                                 days=rng.randrange(0, 60)), rng))
            for callback_type in rng.sample(chosen, rng.randint(1, 3)):
                key = {"manager_customers": "2026-10", "product_buyer": "2026-Q4"}.get(
                    callback_type.code, rng.choice(["2026-Q4", "2026-10", "t"]))
                due = dt.date(2026, 9, 25) + dt.timedelta(days=rng.randrange(0, 43))
                state = rng.choice(STATES)
                closed = None
                if state in ("done", "failed", "expired", "cancelled"):
                    closed = _at(due + dt.timedelta(days=rng.randrange(-6, 4)), rng)
                version = rng.choice(versions) if rng.random() < 0.6 else None
                callback = Callback.objects.create(
                    customer=customer, callback_type=callback_type, period_key=key, branch=branch, due_date=due,
                    state=state, agent=rng.choice([*branch_agents, None]), created_at=created, updated_at=created,
                    closed_at=closed, questionnaire_version=version,
                    result=("success" if rng.random() < 0.8 else "refused") if state == "done" else
                    rng.choice(["", "no_answer", "refused"]))
                month.callbacks.append(callback)
                if version is not None and rng.random() < 0.7:
                    response = Response.objects.create(version=version, customer=customer,
                                                       status=rng.choice(["complete", "complete", "incomplete",
                                                                          "in_progress"]),
                                                       started_by=callback.agent)
                    started = created + dt.timedelta(days=rng.choice([-3, 5, 20, 40]))
                    Response.objects.filter(pk=response.pk).update(started_at=started)
                    response.refresh_from_db()
                    month.responses.append(response)
                    if rng.random() < 0.6:
                        Callback.objects.filter(pk=callback.pk).update(response=response)
                        callback.refresh_from_db()
                for _ in range(rng.choice([0, 1, 1, 2, 3])):
                    serial += 1
                    dialed = _at(due + dt.timedelta(days=rng.randrange(-5, 3)), rng)
                    ended = dialed + dt.timedelta(seconds=rng.randrange(5, 900), microseconds=rng.randrange(10**6))
                    call = Call.objects.create(
                        serial=f"K{serial:07d}", agent=rng.choice(branch_agents), customer=customer,
                        phone_masked="138****0000", branch=branch, state="ended", dialed_at=dialed, ended_at=ended,
                        answered_at=dialed + dt.timedelta(seconds=3), duration_seconds=rng.randrange(0, 600))
                    month.calls.append(call)
                    outcome = success if rng.random() < 0.3 else rng.choice(outcomes)
                    month.links.append(CallCallback.objects.create(
                        call=call, callback=callback, outcome=outcome, registered_by=call.agent,
                        registered_at=ended + dt.timedelta(seconds=rng.randrange(0, 120))))
    rollups.rebuild()
    for link in month.links:
        link.refresh_from_db()
    return month


# --- the counts made here --------------------------------------------------------------------------------------

Key = Any


def _group(by: str | None, branch_id: int, agent_id: int | None) -> Key:
    return branch_id if by == "branch" else agent_id if by == "agent" else None


def _visible(user: User, branch_id: int) -> bool:
    return user.branch is not None and (user.branch.is_headquarters or user.branch_id == branch_id)


def raw_counts(code: str, month: Month, user: User, period: Period, by: str | None) -> dict[Key, tuple[int, int]]:
    """(numerator, denominator) of the KPI `code`, one raw row at a time."""
    num: dict[Key, int] = defaultdict(int)
    den: dict[Key, int] = defaultdict(int)
    if code == "contact_rate":
        for link in month.links:
            assert link.registered_at is not None and link.outcome is not None
            if period.contains(local(link.registered_at)) and _visible(user, link.call.branch_id):
                key = _group(by, link.call.branch_id, link.call.agent_id)
                den[key] += 1
                num[key] += int(link.outcome.connected)
    elif code == "handle_time":
        for call in month.calls:
            if period.contains(local(call.dialed_at)) and _visible(user, call.branch_id) and call.ended_at:
                key = _group(by, call.branch_id, call.agent_id)
                den[key] += 1
                num[key] += max(0, int((call.ended_at - call.dialed_at).total_seconds()))
    elif code == "successes_per_agent_day":
        days: dict[Key, set[tuple[int, dt.date]]] = defaultdict(set)
        for link in month.links:
            assert link.registered_at is not None and link.outcome is not None
            if period.contains(local(link.registered_at)) and _visible(user, link.call.branch_id):
                num[_group(by, link.call.branch_id, link.call.agent_id)] += int(link.outcome.code == "success")
        for call in month.calls:
            day = local(call.dialed_at)
            if period.contains(day) and _visible(user, call.branch_id) and calendar.is_working_day(day):
                days[_group(by, call.branch_id, call.agent_id)].add((call.agent_id, day))
        for key, pairs in days.items():
            den[key] = len(pairs)
    elif code in ("success_rate", "on_time_rate", "questionnaire_completion"):
        for callback in month.callbacks:
            callback.refresh_from_db()
            if not period.contains(callback.due_date) or callback.state == "cancelled":
                continue
            if not _visible(user, callback.branch_id):
                continue
            key = _group(by, callback.branch_id, callback.agent_id)
            if code == "success_rate":
                den[key] += 1
                num[key] += int(callback.state == "done" and callback.result == "success")
            elif code == "on_time_rate":
                den[key] += 1
                num[key] += int(callback.state == "done" and callback.closed_at is not None
                                and local(callback.closed_at) <= callback.due_date)
            else:
                reached = any(link.callback_id == callback.pk and link.outcome is not None
                              and link.outcome.connected for link in month.links)
                if callback.questionnaire_version_id is not None and reached:
                    den[key] += 1
                    num[key] += int(questionnaire_complete(callback))
    elif code == "quota_fulfilment":
        for unit in _raw_quota(month, user, period):
            key = unit[1] if by == "branch" else None
            den[key] += 1
            num[key] += int(unit[4] >= unit[3])
    elif code == "annual_coverage":
        year_end = dt.date(period.end.year - 1, 12, 31)
        high = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
        successful = {link.callback.customer_id for link in month.links
                      if link.outcome is not None and link.outcome.code == "success" and link.registered_at
                      and YEAR_START <= link.registered_at < high}
        for customer in month.customers:
            if not _visible(user, customer.branch_id) or customer.open_date is None or customer.open_date > year_end:
                continue
            if customer.status == "dormant":
                continue
            closed_after = CustomerEvent.objects.filter(customer=customer, occurred_at__gte=YEAR_START,
                                                        type__in=["account_closed", "designation_withdrawn"]).exists()
            if customer.status in ("closed", "designation_withdrawn") and not closed_after:
                continue
            key = customer.branch_id if by == "branch" else None
            den[key] += 1
            num[key] += int(customer.pk in successful)
    else:
        raise AssertionError(code)
    return {key: (num[key], den[key]) for key in set(num) | set(den)}


def _raw_quota(month: Month, user: User, period: Period) -> list[tuple[str, int, int | None, int, int]]:
    """(type, branch, manager, required, achieved) for the two quota types, from the customers and callbacks."""
    found: list[tuple[str, int, int | None, int, int]] = []
    # 客户经理客户回访: per manager and month, customers opened 3 months before the month's first day, normal
    for key, first in (("2026-10", dt.date(2026, 10, 1)),):
        if not (period.start <= first <= period.end):
            continue
        cutoff = dt.date(first.year, first.month - 3, first.day)
        for manager in month.managers:
            eligible = [c for c in month.customers if c.manager_id == manager.pk and c.status == "normal"
                        and c.open_date is not None and c.open_date <= cutoff and _visible(user, c.branch_id)]
            if not eligible:
                continue
            done = {cb.customer_id for cb in month.callbacks
                    if cb.callback_type.code == "manager_customers" and cb.period_key == key and cb.state == "done"
                    and cb.result == "success" and cb.customer.manager_id == manager.pk}
            found.append(("manager_customers", eligible[0].branch_id, manager.pk, min(3, len(eligible)), len(done)))
    # 基金/理财产品回访: per branch and quarter, customers who bought in the quarter
    low, high = QUARTER.bounds()
    for branch in (month.branch_a, month.branch_b):
        if not _visible(user, branch.pk):
            continue
        bought = {e.customer_id for e in CustomerEvent.objects.filter(type="product_purchased",
                                                                       customer__branch=branch,
                                                                       occurred_at__gte=low, occurred_at__lt=high)}
        done = {cb.customer_id for cb in month.callbacks
                if cb.callback_type.code == "product_buyer" and cb.period_key == "2026-Q4" and cb.state == "done"
                and cb.result == "success" and cb.customer.branch_id == branch.pk}
        if bought:
            found.append(("product_buyer", branch.pk, None, min(30, len(bought)), len(done)))
    return found


# --- the tests -------------------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("code", [kpi.code for kpi in KPIS])
def test_every_kpi_equals_the_count_of_the_raw_rows_in_all_and_per_branch_and_agent(
        code: str, generated_month: Month, hq_supervisor: User) -> None:
    kpi = KPI_BY_CODE[code]
    numerator, denominator, value = kpi.compute(hq_supervisor, MONTH, None)
    raw = raw_counts(code, generated_month, hq_supervisor, MONTH, None)[None]
    assert (numerator, denominator) == raw
    assert denominator > 0 and value == numerator / denominator
    for by in kpi.groups:
        found = {key: counts for key, counts in kpi.compute_by(by, hq_supervisor, MONTH, None).items()
                 if counts != (0, 0)}
        expected = {key: counts for key, counts in raw_counts(code, generated_month, hq_supervisor, MONTH, by).items()
                    if counts != (0, 0)}
        assert found == expected, by
        assert len(expected) > 1


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["contact_rate", "success_rate", "questionnaire_completion", "on_time_rate"])
def test_an_agent_s_kpi_is_counted_over_their_own_rows(code: str, generated_month: Month,
                                                       hq_supervisor: User) -> None:
    agent = generated_month.agents[1]
    numerator, denominator, _value = KPI_BY_CODE[code].compute(hq_supervisor, MONTH, None, agent_id=agent.pk)
    assert (numerator, denominator) == raw_counts(code, generated_month, hq_supervisor, MONTH, "agent")[agent.pk]


@pytest.mark.django_db
def test_the_quota_units_are_the_managers_months_and_the_branches_quarters(generated_month: Month,
                                                                         hq_supervisor: User) -> None:
    found = sorted((u.callback_type, u.branch_id, u.manager_id, u.required, u.achieved)
                   for u in quota_units(hq_supervisor, MONTH))
    names = dict(CallbackType.objects.values_list("code", "name"))
    expected = sorted((names[t], b, m, r, a) for t, b, m, r, a in _raw_quota(generated_month, hq_supervisor, MONTH))
    assert found == expected
    assert {row[0] for row in found} == {"客户经理客户回访", "基金/理财产品回访"}


@pytest.mark.django_db
def test_the_daily_target_comes_from_the_setting(generated_month: Month, hq_supervisor: User, settings: Any) -> None:
    kpi = KPI_BY_CODE["successes_per_agent_day"]
    _n, _d, value = kpi.compute(hq_supervisor, MONTH, None)
    assert value is not None
    settings.HUIFANG_DAILY_SUCCESS_TARGET = 80
    assert kpi.status(value) == "bad" and kpi.target_text() == "≥ 80"
    settings.HUIFANG_DAILY_SUCCESS_TARGET = value
    assert kpi.status(value) == "ok"


@pytest.mark.django_db
def test_the_report_shows_each_kpi_with_its_formula_and_the_counts(generated_month: Month,
                                                                   hq_supervisor: User) -> None:
    report = build_report("kpis", user=hq_supervisor, period=MONTH)
    assert [figure.label for figure in report.figures] == [kpi.name for kpi in KPIS]
    assert report.figures[0].formula.startswith("外呼成功率 = 接通次数 ÷ 外呼次数")
    overview, by_branch, by_agent, quotas = report.tables
    for row, kpi in zip(overview.rows, KPIS, strict=True):
        raw = raw_counts(kpi.code, generated_month, hq_supervisor, MONTH, None)[None]
        assert row[0] == kpi.name and row[1] == kpi.formula
        assert (row[2], row[3]) == raw
        assert row[4] == kpi.format(raw[0] / raw[1])
    assert [row[0] for row in by_branch.rows] == sorted([generated_month.branch_a.name,
                                                         generated_month.branch_b.name])
    success = by_branch.headers.index("回访成功率")
    for row in by_branch.rows:
        branch = Branch.objects.get(name=row[0])
        n, d = raw_counts("success_rate", generated_month, hq_supervisor, MONTH, "branch")[branch.pk]
        assert row[success] == f"{n / d:.1%}"
    assert {row[0] for row in by_agent.rows} >= {f"{a.name}（{a.agent_no}）" for a in generated_month.agents}
    assert "未分配" in {row[0] for row in by_agent.rows}
    assert quotas.flagged == {i for i, row in enumerate(quotas.rows) if row[-1] != "达标"}
    assert report.charts and report.charts[0].option["series"]


@pytest.mark.django_db
def test_a_branch_user_s_kpis_count_only_their_branch(generated_month: Month, operator_a: User,
                                                      branch_a: Branch, branch_b: Branch) -> None:
    for kpi in KPIS:
        numerator, denominator, _value = kpi.compute(operator_a, MONTH, None)
        assert (numerator, denominator) == raw_counts(kpi.code, generated_month, operator_a, MONTH, None)[None]
        if "branch" in kpi.groups:
            assert set(kpi.compute_by("branch", operator_a, MONTH, None)) <= {branch_a.pk}
    report = build_report("kpis", user=operator_a, period=MONTH)
    assert [row[0] for row in report.tables[1].rows] == [branch_a.name]
    assert all(row[2] == branch_a.name for row in report.tables[3].rows)
    with pytest.raises(NotFound):
        build_report("kpis", user=operator_a, period=MONTH, branch_id=branch_b.pk)


@pytest.mark.django_db
def test_a_year_the_calendar_does_not_cover_is_said_not_guessed(hq_supervisor: User, branch_a: Branch,
                                                                agent_a: User) -> None:
    customer = Customer.objects.create(customer_no="X1", name="客户", branch=branch_a)
    dialed = dt.datetime(2027, 3, 3, 10, tzinfo=SHANGHAI)
    Call.objects.create(serial="X0000001", agent=agent_a, customer=customer, phone_masked="138****0000",
                        branch=branch_a, state="ended", dialed_at=dialed, ended_at=dialed + dt.timedelta(minutes=2))
    rollups.rebuild()
    report = build_report("kpis", user=hq_supervisor, period=parse_period("2027-03"))
    figure = next(f for f in report.figures if f.label == "人均日成功回访数")
    assert figure.value == "—"
    assert any("2027 年的节假日未录入日历表" in note for note in report.notes)


def test_formulas_name_numerator_and_denominator() -> None:
    for kpi in KPIS:
        assert kpi.formula.startswith(f"{kpi.name} = ") and "÷" in kpi.formula

