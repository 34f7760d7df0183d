"""号码变更统计: for a generated month of contact corrections (found by calls of several agents, or by no call) and
customer events, every figure — by branch, by agent, by day — equals a count made here from the raw rows, the day
being the local (Beijing) date; no number appears in the report or its Excel file; a branch sees only itself."""

import datetime as dt
import io
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from openpyxl import load_workbook

from huifang.calls.models import Call, ContactCorrection
from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.org.queries import NotFound
from huifang.reports.exports import excel_bytes
from huifang.reports.periods import Period, parse_period
from huifang.reports.registry import build_report

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONTH = parse_period("2026-10")
EVENT_TYPES = ["info_changed", "info_changed", "info_changed", "manager_changed", "transfer_out"]


@dataclass
class Changes:
    branch_a: Branch
    branch_b: Branch
    agents: list[User]
    numbers: list[str] = field(default_factory=list)
    corrections: list[ContactCorrection] = field(default_factory=list)
    events: list[CustomerEvent] = field(default_factory=list)


def _moment(rng: random.Random) -> dt.datetime:
    """A moment 2026-09-29 … 2026-11-02 local, a fifth of them right at a local midnight (±1 minute)."""
    day = dt.datetime(2026, 9, 29, tzinfo=SHANGHAI) + dt.timedelta(days=rng.randrange(0, 35))
    if rng.random() < 0.2:
        return day + dt.timedelta(minutes=rng.choice([-1, 0, 1]))
    return day + dt.timedelta(minutes=rng.randrange(0, 24 * 60))


@pytest.fixture
def changes(branch_a: Branch, branch_b: Branch, agent_a: User, agent_b: User, make_user: Any) -> Changes:
    """40 customers per branch with two phones each; corrections of both kinds found by calls of the branch's
    agents (two in branch A) or by no call; events of several types, some info_changed."""
    rng = random.Random(5)
    second_a = make_user(branch_a, Role.AGENT, name="浦东坐席二")
    found = Changes(branch_a, branch_b, [agent_a, second_a, agent_b])
    serial = 0
    for branch, agents in ((branch_a, [agent_a, second_a]), (branch_b, [agent_b])):
        for n in range(40):
            customer = Customer.objects.create(customer_no=f"{branch.code}{n:08d}", name=f"客户{n}", branch=branch)
            for m in range(2):
                number = f"13{rng.randrange(10**8, 10**9)}{m}"
                found.numbers.append(number)
                phone = ContactPoint.objects.create(customer=customer, kind="mobile", number=number,
                                                    is_primary=m == 0)
                if rng.random() < 0.6:
                    call = None
                    if rng.random() < 0.8:
                        serial += 1
                        dialed = _moment(rng)
                        call = Call.objects.create(serial=f"Z{serial:07d}", agent=rng.choice(agents),
                                                   customer=customer, phone=phone, phone_masked="138****0000",
                                                   branch=branch, state="ended", dialed_at=dialed, ended_at=dialed)
                    found.corrections.append(ContactCorrection.objects.create(
                        branch=branch, customer=customer, phone=phone, phone_masked=phone.masked_number,
                        kind=rng.choice(["invalid", "invalid", "changed"]), outcome="invalid_number",
                        found_by_call=call, found_at=_moment(rng)))
            for _ in range(rng.randint(0, 3)):
                found.events.append(CustomerEvent.objects.create(customer=customer, type=rng.choice(EVENT_TYPES),
                                                                 occurred_at=_moment(rng),
                                                                 data={"field": "mobile"}))
    return found


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def raw_counts(data: Changes, period: Period, branch: Branch | None = None) -> dict[str, Counter[Any]]:
    """Counted one row at a time: (key, column) by branch id, agent id (None: no call) and day."""
    counts: dict[str, Counter[Any]] = {"branch": Counter(), "agent": Counter(), "day": Counter(), "all": Counter()}
    for correction in data.corrections:
        day = _day(correction.found_at)
        if not period.contains(day) or (branch is not None and correction.branch_id != branch.pk):
            continue
        call = correction.found_by_call
        for group, key in (("branch", correction.branch_id), ("agent", call.agent_id if call else None),
                           ("day", day), ("all", None)):
            counts[group][key, correction.kind] += 1
    for event in data.events:
        day = _day(event.occurred_at)
        if event.type != "info_changed" or not period.contains(day):
            continue
        if branch is not None and event.customer.branch_id != branch.pk:
            continue
        for group, key in (("branch", event.customer.branch_id), ("day", day), ("all", None)):
            counts[group][key, "events"] += 1
    return counts


def _expected(counts: Counter[Any], key: Any, events: bool = True) -> list[int]:
    values = [counts[key, "invalid"], counts[key, "changed"], *([counts[key, "events"]] if events else [])]
    return [*values, sum(values)]


def _check(report: Any, data: Changes, period: Period, branch: Branch | None = None) -> dict[str, Counter[Any]]:
    raw = raw_counts(data, period, branch)
    by_branch, by_agent, by_day = report.tables
    ids = dict(Branch.objects.values_list("name", "id"))
    assert {ids[row[0]]: row[1:] for row in by_branch.rows} == \
        {key: _expected(raw["branch"], key) for key in {k for k, _c in raw["branch"]}}
    agents = {f"{a.name}（{a.agent_no}）": a.pk for a in data.agents} | {"无关联通话": None}
    assert {agents[row[0]]: row[1:] for row in by_agent.rows} == \
        {key: _expected(raw["agent"], key, events=False) for key in {k for k, _c in raw["agent"]}}
    assert {dt.date.fromisoformat(row[0]): row[1:] for row in by_day.rows} == \
        {key: _expected(raw["day"], key) for key in {k for k, _c in raw["day"]}}
    assert by_branch.total == by_day.total == ["合计", *_expected(raw["all"], None)]
    assert by_agent.total == ["合计", *_expected(raw["all"], None, events=False)]
    return raw


@pytest.mark.django_db
def test_every_figure_of_the_month_equals_the_count_of_the_raw_rows(changes: Changes, hq_supervisor: User) -> None:
    report = build_report("contact_changes", user=hq_supervisor, period=MONTH)
    assert report.title == "号码变更统计"
    raw = _check(report, changes, MONTH)
    everything = raw["all"]
    assert all(everything[None, kind] > 0 for kind in ("invalid", "changed", "events"))
    # the month is a real sample: the days around it are left out, corrections without a call are there
    assert sum(everything.values()) < len(changes.corrections) + len(changes.events)
    assert raw["agent"][None, "invalid"] + raw["agent"][None, "changed"] > 0
    assert [row[0] for row in report.tables[1].rows][-1] == "无关联通话"
    figures = {figure.label: figure.value for figure in report.figures}
    assert figures == {"无效号码": f"{everything[None, 'invalid']:,}", "号码变更": f"{everything[None, 'changed']:,}",
                       "信息变更事件": f"{everything[None, 'events']:,}",
                       "合计": f"{sum(everything.values()):,}"}
    chart = report.charts[0].option
    assert len(chart["xAxis"]["data"]) == 31 and chart["xAxis"]["data"][0] == "10-01"
    assert [s["type"] for s in chart["series"]] == ["line"] * 3
    assert chart["series"][0]["data"] == [raw["day"][MONTH.start + dt.timedelta(days=n), "invalid"]
                                          for n in range(31)]


@pytest.mark.django_db
def test_a_day_is_the_local_date_of_finding_or_occurring(branch_a: Branch, hq_supervisor: User) -> None:
    customer = Customer.objects.create(customer_no="E1", name="客户", branch=branch_a)
    # 1 October 00:00 in Beijing is 30 September in UTC; 31 October 23:59 is in the month, 1 November 00:00 not
    for minute, kind in ((-1, "invalid"), (0, "invalid"), (31 * 24 * 60 - 1, "changed"), (31 * 24 * 60, "changed")):
        at = dt.datetime(2026, 10, 1, tzinfo=SHANGHAI) + dt.timedelta(minutes=minute)
        ContactCorrection.objects.create(branch=branch_a, customer=customer, phone_masked="138****0000", kind=kind,
                                         found_at=at)
        CustomerEvent.objects.create(customer=customer, type="info_changed", occurred_at=at)
    report = build_report("contact_changes", user=hq_supervisor, period=MONTH)
    assert report.tables[2].rows == [["2026-10-01", 1, 0, 1, 2], ["2026-10-31", 0, 1, 1, 2]]
    day = build_report("contact_changes", user=hq_supervisor, period=parse_period("2026-09-30"))
    assert day.tables[0].total == ["合计", 1, 0, 1, 2]


@pytest.mark.django_db
def test_no_phone_number_appears_in_the_report_or_its_excel_file(changes: Changes, hq_supervisor: User) -> None:
    report = build_report("contact_changes", user=hq_supervisor, period=MONTH)
    book = load_workbook(io.BytesIO(excel_bytes(report)))
    cells = " ".join(str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row
                     if cell.value is not None)
    shown = " ".join([cells, repr(report.tables), repr(report.charts)])
    assert not any(number in shown for number in changes.numbers)
    assert "****" not in shown


@pytest.mark.django_db
def test_a_branch_user_sees_only_their_branch_and_cannot_ask_for_another(
        changes: Changes, operator_a: User, branch_a: Branch, branch_b: Branch, hq_supervisor: User) -> None:
    report = build_report("contact_changes", user=operator_a, period=MONTH)
    _check(report, changes, MONTH, branch_a)
    assert [row[0] for row in report.tables[0].rows] == [branch_a.name]
    assert changes.agents[2].name not in " ".join(row[0] for row in report.tables[1].rows)
    with pytest.raises(NotFound):
        build_report("contact_changes", user=operator_a, period=MONTH, branch_id=branch_b.pk)
    only_b = build_report("contact_changes", user=hq_supervisor, period=MONTH, branch_id=branch_b.pk)
    _check(only_b, changes, MONTH, branch_b)
    assert [row[0] for row in only_b.tables[0].rows] == [branch_b.name]


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["2026-10-15", "2026-W42", "2026-Q4", "2026-H2", "2026"])
def test_every_period_kind_is_counted(key: str, changes: Changes, hq_supervisor: User) -> None:
    period = parse_period(key)
    report = build_report("contact_changes", user=hq_supervisor, period=period)
    _check(report, changes, period)
    assert len(report.charts[0].option["xAxis"]["data"]) == period.days


@pytest.mark.django_db
def test_an_empty_period_shows_no_rows_and_zero_totals(hq_supervisor: User) -> None:
    report = build_report("contact_changes", user=hq_supervisor, period=MONTH)
    assert all(table.rows == [] for table in report.tables)
    assert [table.total for table in report.tables] == [["合计", 0, 0, 0, 0], ["合计", 0, 0, 0], ["合计", 0, 0, 0, 0]]


@pytest.mark.django_db
def test_the_excel_file_has_the_expected_sheets_and_chinese_headers(changes: Changes, hq_supervisor: User) -> None:
    report = build_report("contact_changes", user=hq_supervisor, period=MONTH)
    book = load_workbook(io.BytesIO(excel_bytes(report)))
    assert book.sheetnames == ["指标", "按营业部", "按回访人员", "按日期"]
    assert book["按营业部"]["A1"].value == "号码变更统计"
    assert [cell.value for cell in book["按营业部"][4]] == ["营业部", "无效号码", "号码变更", "信息变更事件", "合计"]
    assert [cell.value for cell in book["按回访人员"][4]] == ["回访人员", "无效号码", "号码变更", "合计"]
    assert [cell.value for cell in book["按日期"][4]] == ["日期", "无效号码", "号码变更", "信息变更事件", "合计"]


@pytest.mark.django_db
def test_the_printable_copy_is_a_pdf_of_every_page(changes: Changes, hq_supervisor: User) -> None:
    from pypdf import PdfReader

    from huifang.reports.exports import pdf_bytes

    report = build_report("contact_changes", user=hq_supervisor, period=MONTH)
    reader = PdfReader(io.BytesIO(pdf_bytes(report, printed_by="总部主管")))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "号码变更统计" in text and "按回访人员" in text
    assert not any(number in text for number in changes.numbers)
