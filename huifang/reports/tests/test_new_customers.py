"""《新客户回访信息汇总表》: for a generated month of new customers and their new-account callbacks, every figure equals
a count made here from the raw rows, one at a time; the deadline is the 5th working day of the next month by the
holiday table; a branch sees only itself; the Excel file has the expected sheets and Chinese headers."""

import datetime as dt
import io
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from openpyxl import load_workbook

from huifang.callbacks.models import Callback
from huifang.calls.models import OutcomeCode
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.org.queries import NotFound
from huifang.reports.exports import excel_bytes
from huifang.reports.periods import Period, parse_period
from huifang.reports.registry import build_report

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONTH = parse_period("2026-10")
STATES = ["done", "done", "done", "failed", "expired", "new", "assigned", "in_progress", "cancelled"]
RESULTS = ["success", "success", "refused", "no_answer", "invalid_number", "powered_off"]


@dataclass
class NewMonth:
    branch_a: Branch
    branch_b: Branch
    customers: list[Customer] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)


@pytest.fixture
def new_month(branch_a: Branch, branch_b: Branch, agent_a: User, agent_b: User) -> NewMonth:
    """60 customers per branch opened 2026-09-25 … 2026-11-05 (the edges outside October); most with a new-account
    callback due 2026-11-06 in every state (closed around the due date, some just before or after local midnight),
    some also with a callback of another type that must not count."""
    rng = random.Random(7)
    types = {t.code: t for t in CallbackType.objects.all()}
    month = NewMonth(branch_a, branch_b)
    created = dt.datetime(2026, 9, 25, 9, tzinfo=SHANGHAI)
    due = dt.date(2026, 11, 6)
    for branch, agent in ((branch_a, agent_a), (branch_b, agent_b)):
        for n in range(60):
            opened = dt.date(2026, 9, 25) + dt.timedelta(days=rng.randrange(0, 42))
            customer = Customer.objects.create(customer_no=f"{branch.code}{n:08d}", name=f"新客户{n}", branch=branch,
                                               open_date=opened)
            month.customers.append(customer)
            kinds = []
            if rng.random() < 0.85:
                kinds.append("new_account")
            if rng.random() < 0.3:
                kinds.append("info_change")
            for code in kinds:
                state = rng.choice(STATES)
                closed = None
                if state not in ("new", "assigned", "in_progress"):
                    closed = dt.datetime.combine(due, dt.time(), tzinfo=SHANGHAI) + dt.timedelta(
                        minutes=rng.choice([-3 * 24 * 60, -30, 23 * 60 + 50, 24 * 60 + 10, 4 * 24 * 60]))
                result = rng.choice(RESULTS) if state in ("done", "failed", "expired") else rng.choice(["", "busy"])
                month.callbacks.append(Callback.objects.create(
                    customer=customer, callback_type=types[code], period_key="once", branch=branch, due_date=due,
                    state=state, result=result, agent=agent, created_at=created, updated_at=created,
                    closed_at=closed))
    return month


def raw_figures(month: NewMonth, period: Period, branch: Branch | None = None) -> dict[str, Counter[Any]]:
    """Counted one row at a time: per branch id (and None for all), and per result code."""
    per: Counter[Any] = Counter()
    results: Counter[Any] = Counter()
    opened = {c.pk for c in month.customers if c.open_date and period.start <= c.open_date <= period.end
              and (branch is None or c.branch_id == branch.pk)}
    for customer in month.customers:
        if customer.pk in opened:
            for key in (customer.branch_id, None):
                per[key, "opened"] += 1
    for callback in month.callbacks:
        if callback.customer_id not in opened or callback.callback_type.code != "new_account":
            continue
        if callback.state == "cancelled":
            continue
        success = callback.state == "done" and callback.result == "success"
        open_ = callback.state in ("new", "assigned", "in_progress")
        on_time = success and callback.closed_at is not None and \
            callback.closed_at.astimezone(SHANGHAI).date() <= callback.due_date
        outcome = "open" if open_ else "success" if success else "unsuccessful"
        for key in (callback.customer.branch_id, None):
            per[key, "tasks"] += 1
            per[key, outcome] += 1
            per[key, "on_time"] += int(on_time)
        results[callback.result, "tasks"] += 1
        results[callback.result, outcome] += 1
    return {"per": per, "results": results}


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _expected_row(per: Counter[Any], key: Any) -> list[Any]:
    return [per[key, "opened"], per[key, "tasks"], per[key, "success"], per[key, "unsuccessful"], per[key, "open"],
            _share(per[key, "success"], per[key, "opened"]), per[key, "on_time"]]


@pytest.mark.django_db
def test_every_figure_of_the_month_equals_the_count_of_the_raw_rows(new_month: NewMonth,
                                                                    hq_supervisor: User) -> None:
    raw = raw_figures(new_month, MONTH)
    per = raw["per"]
    report = build_report("new_customers", user=hq_supervisor, period=MONTH)
    assert report.title == "《新客户回访信息汇总表》"
    by_branch, results = report.tables
    assert by_branch.headers == ["营业部", "新开客户数", "已生成回访任务", "成功回访", "未成功", "未完成", "回访率",
                                 "按时完成"]
    names = {new_month.branch_a.name: new_month.branch_a.pk, new_month.branch_b.name: new_month.branch_b.pk}
    assert sorted(row[0] for row in by_branch.rows) == sorted(names)
    for row in by_branch.rows:
        assert row[1:] == _expected_row(per, names[row[0]])
    assert by_branch.total == ["合计", *_expected_row(per, None)]
    # the month is a real sample: edges left out, every kind of outcome present
    assert 0 < per[None, "opened"] < len(new_month.customers)
    assert all(per[None, name] > 0 for name in ("success", "unsuccessful", "open", "on_time"))
    assert per[None, "on_time"] < per[None, "success"]

    labels = dict(OutcomeCode.objects.values_list("code", "label"))
    counted = raw["results"]
    expected_results = {labels.get(code, code) if code else "未登记":
                        [counted[code, "tasks"], counted[code, "success"], counted[code, "unsuccessful"],
                         counted[code, "open"], _share(counted[code, "tasks"], per[None, "tasks"])]
                        for code, name in counted if name == "tasks"}
    assert {row[0]: row[1:] for row in results.rows} == expected_results
    assert results.total is not None and results.total[1] == per[None, "tasks"]

    figures = {figure.label: figure for figure in report.figures}
    assert figures["新开客户数"].value == f"{per[None, 'opened']:,}"
    assert figures["成功回访"].value == f"{per[None, 'success']:,}"
    assert figures["回访率"].value == _share(per[None, "success"], per[None, "opened"])
    assert figures["回访率"].formula == "回访率 = 成功回访 ÷ 新开客户数"
    assert figures["按时完成率"].value == _share(per[None, "on_time"], per[None, "tasks"])
    series = report.charts[0].option["series"]
    assert [s["name"] for s in series] == ["新开客户数", "成功回访"]
    assert series[0]["data"] == [per[names[row[0]], "opened"] for row in by_branch.rows]


@pytest.mark.django_db
def test_the_table_is_due_on_the_fifth_working_day_of_the_next_month(hq_supervisor: User) -> None:
    # November 2026: Monday the 2nd is the first working day, Friday the 6th the fifth
    assert "报送期限：2026-11-06" in " ".join(build_report("new_customers", user=hq_supervisor, period=MONTH).notes)
    # after the third quarter, October's Golden Week (holidays 1–7 October, then Saturday the 10th worked): the
    # 8th, 9th, 10th, 12th and 13th, so Tuesday the 13th; a weekday count would say Thursday the 7th
    notes = build_report("new_customers", user=hq_supervisor, period=parse_period("2026-Q3")).notes
    assert "报送期限：2026-10-13" in " ".join(notes)
    notes = build_report("new_customers", user=hq_supervisor, period=parse_period("2026-12")).notes
    assert any("无法计算报送期限" in note and "2027" in note for note in notes)


@pytest.mark.django_db
def test_an_empty_period_shows_no_rows_and_zero_totals(new_month: NewMonth, hq_supervisor: User) -> None:
    report = build_report("new_customers", user=hq_supervisor, period=parse_period("2025"))
    by_branch, results = report.tables
    assert by_branch.rows == [] and results.rows == []
    assert by_branch.total == ["合计", 0, 0, 0, 0, 0, "—", 0]
    assert results.total == ["合计", 0, 0, 0, 0, "—"]
    assert {figure.label: figure.value for figure in report.figures}["回访率"] == "—"


@pytest.mark.django_db
def test_a_branch_user_sees_only_their_branch_and_cannot_ask_for_another(
        new_month: NewMonth, operator_a: User, branch_a: Branch, branch_b: Branch, hq_supervisor: User) -> None:
    per = raw_figures(new_month, MONTH, branch_a)["per"]
    report = build_report("new_customers", user=operator_a, period=MONTH)
    by_branch, results = report.tables
    assert [row[0] for row in by_branch.rows] == [branch_a.name]
    assert by_branch.total == ["合计", *_expected_row(per, None)]
    assert results.total is not None and results.total[1] == per[None, "tasks"]
    assert report.charts[0].option["xAxis"]["data"] == [branch_a.name]
    with pytest.raises(NotFound):
        build_report("new_customers", user=operator_a, period=MONTH, branch_id=branch_b.pk)
    # HQ asking for branch B gets branch B's figures only
    only_b = build_report("new_customers", user=hq_supervisor, period=MONTH, branch_id=branch_b.pk)
    assert [row[0] for row in only_b.tables[0].rows] == [branch_b.name]
    assert only_b.tables[0].total == ["合计", *_expected_row(raw_figures(new_month, MONTH, branch_b)["per"], None)]


@pytest.mark.django_db
def test_the_report_is_made_for_month_to_year_only(hq_supervisor: User) -> None:
    from huifang.reports.periods import PeriodError

    with pytest.raises(PeriodError):
        build_report("new_customers", user=hq_supervisor, period=parse_period("2026-W45"))
    assert build_report("new_customers", user=hq_supervisor, period=parse_period("2026-H2")).tables[0].rows == []


@pytest.mark.django_db
def test_the_excel_file_has_the_expected_sheets_and_chinese_headers(new_month: NewMonth,
                                                                    hq_supervisor: User) -> None:
    report = build_report("new_customers", user=hq_supervisor, period=MONTH)
    book = load_workbook(io.BytesIO(excel_bytes(report)))
    assert book.sheetnames == ["指标", "按营业部", "结果分布"]
    sheet = book["按营业部"]
    assert sheet["A1"].value == "《新客户回访信息汇总表》" and sheet["A2"].value == "2026年10月"
    assert [cell.value for cell in sheet[4]] == ["营业部", "新开客户数", "已生成回访任务", "成功回访", "未成功",
                                                 "未完成", "回访率", "按时完成"]
    assert sheet.cell(row=5 + len(report.tables[0].rows), column=1).value == "合计"
    assert [cell.value for cell in book["结果分布"][4]] == ["回访结果", "任务数", "成功回访", "未成功", "未完成",
                                                        "占比"]


@pytest.mark.django_db
def test_the_printable_copy_is_a_pdf_with_the_title_and_the_deadline(new_month: NewMonth,
                                                                     hq_supervisor: User) -> None:
    from pypdf import PdfReader

    from huifang.reports.exports import pdf_bytes

    report = build_report("new_customers", user=hq_supervisor, period=MONTH)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes(report))).pages)
    assert "新客户回访信息汇总表" in text and "结果分布" in text and "2026-11-06" in text
