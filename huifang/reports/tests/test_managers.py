"""《客户经理客户回访工作汇总表》: for generated months of client managers, their customers and the client-manager
callbacks, every figure — customers, those opened 3 months before the period's end, callbacks, successes, the
target (min(3, eligible customers) a month) and whether it is met — equals a count made here from the raw rows; a
branch sees only its own managers; the Excel file has the expected sheet and Chinese headers."""

import datetime as dt
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from openpyxl import load_workbook

from huifang.callbacks.models import Callback
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.org.queries import NotFound
from huifang.reports.exports import excel_bytes
from huifang.reports.periods import Period, parse_period
from huifang.reports.registry import build_report

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONTH = parse_period("2026-10")
Q3 = parse_period("2026-Q3")
STATES = ["done", "done", "done", "done", "failed", "assigned", "cancelled", "expired"]
MONTH_KEYS = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]


@dataclass
class Managed:
    managers: list[User]
    not_a_manager: User
    customers: list[Customer] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)


@pytest.fixture
def managed(branch_a: Branch, branch_b: Branch, make_user: Callable[..., User]) -> Managed:
    """Three client managers in branch A (one with only two customers), two in branch B, and an agent of branch A
    set as the manager of some customers (not a client manager: left out); customers opened 2025-06 … 2026-10 in
    every status; client-manager callbacks for the months 2026-06 … 2026-11 in every state, and a few of another
    type."""
    rng = random.Random(31)
    managers = [make_user(branch_a, Role.CLIENT_MANAGER, name="浦东经理一"),
                make_user(branch_a, Role.CLIENT_MANAGER, name="浦东经理二"),
                make_user(branch_a, Role.CLIENT_MANAGER, name="浦东经理三"),
                make_user(branch_b, Role.CLIENT_MANAGER, name="天河经理一"),
                make_user(branch_b, Role.CLIENT_MANAGER, name="天河经理二")]
    agent = make_user(branch_a, Role.AGENT, name="浦东坐席")
    found = Managed(managers, agent)
    manager_type = CallbackType.objects.get(code="manager_customers")
    other_type = CallbackType.objects.get(code="satisfaction")
    created = dt.datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)
    n = 0
    for manager in [*managers, agent]:
        branch = branch_a if manager.branch_id == branch_a.pk else branch_b
        for _ in range(2 if manager is managers[2] else rng.randint(6, 14)):
            n += 1
            customer = Customer.objects.create(
                customer_no=f"M{n:08d}", name=f"客户{n}", branch=branch, manager=manager,
                status=rng.choice(["normal", "normal", "normal", "dormant", "closed"]),
                open_date=None if n % 17 == 0 else dt.date(2025, 6, 1) + dt.timedelta(days=rng.randrange(0, 520)))
            found.customers.append(customer)
            for key in rng.sample(MONTH_KEYS, rng.randint(0, 4)):
                callback_type = other_type if rng.random() < 0.1 else manager_type
                state = rng.choice(STATES)
                year, month = (int(part) for part in key.split("-"))
                found.callbacks.append(Callback.objects.create(
                    customer=customer, callback_type=callback_type, period_key=key, branch=branch,
                    due_date=dt.date(year, month, 28), state=state, created_at=created, updated_at=created,
                    result=("success" if rng.random() < 0.75 else "refused") if state == "done" else ""))
    # the edges of "opened 3 months before October's end" (2026-07-31): on it, and the day after
    for number, opened in (("M90000001", dt.date(2026, 7, 31)), ("M90000002", dt.date(2026, 8, 1))):
        found.customers.append(Customer.objects.create(customer_no=number, name="边界客户", branch=branch_a,
                                                       manager=managers[0], open_date=opened))
    # unmanaged customers count nowhere
    Customer.objects.create(customer_no="M99999999", name="无经理", branch=branch_a,
                            open_date=dt.date(2025, 1, 1))
    return found


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    first_next = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return dt.date(year, month + 1, min(day.day, (first_next - dt.timedelta(days=1)).day))


def raw_rows(data: Managed, period: Period, branch: Branch | None = None) -> dict[int, list[Any]]:
    """Per client manager id: [customers, opened 3 months before the end, callbacks, successes, target, met]."""
    months = [key for key in MONTH_KEYS
              if period.start <= dt.date(int(key[:4]), int(key[5:]), 1) <= period.end]
    cutoff = _months_back(period.end, 3)
    rows: dict[int, list[Any]] = {}
    for manager in data.managers:
        if branch is not None and manager.branch_id != branch.pk:
            continue
        mine = [c for c in data.customers if c.manager_id == manager.pk]
        callbacks = [cb for cb in data.callbacks if cb.customer.manager_id == manager.pk
                     and cb.callback_type.code == "manager_customers" and cb.period_key in months
                     and cb.state != "cancelled"]
        successes = [cb for cb in callbacks if cb.state == "done" and cb.result == "success"]
        target, met = 0, True
        for key in months:
            first = dt.date(int(key[:4]), int(key[5:]), 1)
            eligible = [c for c in mine if c.status == "normal" and c.open_date is not None
                        and c.open_date <= _months_back(first, 3)]
            required = min(3, len(eligible))
            target += required
            met = met and sum(1 for cb in successes if cb.period_key == key) >= required
        rows[manager.pk] = [len(mine), sum(1 for c in mine if c.open_date is not None and c.open_date <= cutoff),
                            len(callbacks), len(successes), target, met]
    return rows


def _by_manager(report: Any, data: Managed) -> dict[int, list[Any]]:
    names = {f"{m.name}（{m.agent_no}）": m.pk for m in data.managers}
    return {names[row[1]]: row for row in report.tables[0].rows}


def _check(report: Any, data: Managed, period: Period, branch: Branch | None = None) -> dict[int, list[Any]]:
    raw = raw_rows(data, period, branch)
    table = report.tables[0]
    found = _by_manager(report, data)
    assert set(found) == set(raw)
    names: dict[int | None, str] = dict(Branch.objects.values_list("id", "name"))
    branches = {m.pk: names[m.branch_id] for m in data.managers}
    for pk, (customers, seasoned, tasks, successes, target, met) in raw.items():
        row = found[pk]
        assert row[0] == branches[pk]
        assert row[2:7] == [customers, seasoned, tasks, successes, target]
        assert row[7] == (f"{successes / target:.1%}" if target else "—")
        assert row[8] == ("—" if not target else "达标" if met else "未达标")
        assert (table.rows.index(row) in table.flagged) == (bool(target) and not met)
    assert table.total is not None
    assert table.total[2:7] == [sum(r[i] for r in raw.values()) for i in range(5)]
    return raw


@pytest.mark.django_db
def test_every_figure_of_the_month_equals_the_count_of_the_raw_rows(managed: Managed, hq_supervisor: User) -> None:
    report = build_report("managers", user=hq_supervisor, period=MONTH)
    assert report.title == "《客户经理客户回访工作汇总表》"
    raw = _check(report, managed, MONTH)
    # a real sample: some managers met their quota, some did not, one has fewer than 3 eligible customers
    assert {row[5] for row in raw.values()} == {True, False}
    assert any(0 < row[4] < 3 for row in raw.values())
    # the agent set as a manager is no client manager
    assert all(not row[1].startswith("浦东坐席") for row in report.tables[0].rows)
    figures = {figure.label: figure.value for figure in report.figures}
    assert figures["成功回访数"] == f"{sum(row[3] for row in raw.values()):,}"
    met = sum(1 for row in raw.values() if row[4] and row[5])
    assert figures["达标人数"] == f"{met} / {sum(1 for row in raw.values() if row[4])}"
    assert any("完成期限：每月 30 日前完成" in note and "2026-10-30" in note for note in report.notes)
    chart = report.charts[0].option
    assert [s["name"] for s in chart["series"]] == ["目标", "成功回访数"]
    assert chart["series"][1]["data"] == [row[5] for row in report.tables[0].rows]


@pytest.mark.django_db
def test_a_quarter_sums_its_months_and_is_met_only_when_every_month_is(managed: Managed,
                                                                      hq_supervisor: User) -> None:
    report = build_report("managers", user=hq_supervisor, period=Q3)
    raw = _check(report, managed, Q3)
    assert any(row[4] > 3 for row in raw.values())
    assert "2026-07-30、2026-08-30、2026-09-30" in " ".join(report.notes)


@pytest.mark.django_db
def test_a_branch_user_sees_only_their_managers_and_cannot_ask_for_another(
        managed: Managed, operator_a: User, branch_a: Branch, branch_b: Branch, hq_supervisor: User) -> None:
    report = build_report("managers", user=operator_a, period=MONTH)
    raw = _check(report, managed, MONTH, branch_a)
    assert {row[0] for row in report.tables[0].rows} == {branch_a.name} and len(raw) == 3
    with pytest.raises(NotFound):
        build_report("managers", user=operator_a, period=MONTH, branch_id=branch_b.pk)
    only_b = build_report("managers", user=hq_supervisor, period=MONTH, branch_id=branch_b.pk)
    assert len(_check(only_b, managed, MONTH, branch_b)) == 2


@pytest.mark.django_db
def test_an_empty_period_shows_no_rows_and_zero_totals(hq_supervisor: User, branch_a: Branch) -> None:
    report = build_report("managers", user=hq_supervisor, period=MONTH)
    table = report.tables[0]
    assert table.rows == [] and table.flagged == set()
    assert table.total == ["合计", "0 人", 0, 0, 0, 0, 0, "—", "—"]
    assert {figure.label: figure.value for figure in report.figures}["完成率"] == "—"


@pytest.mark.django_db
def test_the_excel_file_has_the_expected_sheets_and_chinese_headers(managed: Managed, hq_supervisor: User) -> None:
    report = build_report("managers", user=hq_supervisor, period=MONTH)
    book = load_workbook(io.BytesIO(excel_bytes(report)))
    assert book.sheetnames == ["指标", "按客户经理"]
    sheet = book["按客户经理"]
    assert sheet["A1"].value == "《客户经理客户回访工作汇总表》" and sheet["A2"].value == "2026年10月"
    assert [cell.value for cell in sheet[4]] == ["营业部", "客户经理", "名下客户数", "其中开户满3个月", "回访任务数",
                                                 "成功回访数", "目标", "完成率", "是否达标"]
    assert sheet.cell(row=5 + len(report.tables[0].rows), column=1).value == "合计"


@pytest.mark.django_db
def test_the_printable_copy_is_a_pdf_with_every_manager(managed: Managed, hq_supervisor: User) -> None:
    from pypdf import PdfReader

    from huifang.reports.exports import pdf_bytes

    report = build_report("managers", user=hq_supervisor, period=MONTH)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes(report))).pages)
    assert "客户经理客户回访工作汇总表" in text
    assert all(manager.name in text for manager in managed.managers)
