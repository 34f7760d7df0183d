"""The daily report (回访日报) for any period: every figure equals a count made from the raw outcomes; the Excel file
has the expected sheets; a branch sees only itself."""

import datetime as dt
import io
import random
from collections import Counter
from typing import Any

import pytest
from openpyxl import load_workbook

from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, OutcomeCode
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.org.queries import NotFound
from huifang.reports.exports import excel_bytes, sheet_title
from huifang.reports.periods import parse_period
from huifang.reports.registry import build_report

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONTH = parse_period("2026-10")


@pytest.fixture
def a_month(branch_a: Branch, branch_b: Branch, agent_a: User, agent_b: User) -> list[CallCallback]:
    """300 outcomes over 2026-09-30 … 2026-11-01 local (the edges outside the month), both branches, written as
    raw rows, then the roll-ups rebuilt from them."""
    rng = random.Random(11)
    types = list(CallbackType.objects.order_by("code")[:4])
    outcomes = list(OutcomeCode.objects.all())
    now = dt.datetime(2026, 10, 1, tzinfo=SHANGHAI)
    links = []
    for branch, agent in ((branch_a, agent_a), (branch_b, agent_b)):
        for n in range(150):
            customer = Customer.objects.create(customer_no=f"{branch.code}{n:09d}", name="客户", branch=branch)
            callback = Callback.objects.create(customer=customer, callback_type=rng.choice(types), period_key="t",
                                               branch=branch, due_date=dt.date(2026, 10, 31), created_at=now,
                                               updated_at=now)
            dialed = dt.datetime(2026, 9, 30, 23, 0, tzinfo=SHANGHAI) + dt.timedelta(minutes=rng.randrange(0, 46000))
            call = Call.objects.create(serial=f"C{branch.code}{n:06d}", agent=agent, customer=customer,
                                       phone_masked="138****0000", branch=branch, state="ended", dialed_at=dialed,
                                       ended_at=dialed + dt.timedelta(seconds=90), answered_at=dialed,
                                       duration_seconds=60)
            links.append(CallCallback.objects.create(call=call, callback=callback, outcome=rng.choice(outcomes),
                                                     registered_at=dialed + dt.timedelta(seconds=100),
                                                     registered_by=agent))
    rollups.rebuild()
    return links


def _raw(links: list[CallCallback], branch: Branch | None = None) -> dict[str, Counter[str]]:
    """Counted one link at a time: by type name, by branch name, and in all."""
    counts: dict[str, Counter[str]] = {"type": Counter(), "branch": Counter(), "all": Counter()}
    for link in links:
        assert link.registered_at is not None and link.outcome is not None
        if not MONTH.contains(link.registered_at.astimezone(SHANGHAI).date()):
            continue
        if branch is not None and link.call.branch_id != branch.pk:
            continue
        for group, key in (("type", link.callback.callback_type.name), ("branch", link.call.branch.name),
                           ("all", "")):
            counts[group][f"{key}|attempts"] += 1
            counts[group][f"{key}|connected"] += int(link.outcome.connected)
            counts[group][f"{key}|successes"] += int(link.outcome.code == "success")
    return counts


def _from_table(rows: list[list[Any]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for name, attempts, connected, successes, *_ in rows:
        found.update({f"{name}|attempts": attempts, f"{name}|connected": connected, f"{name}|successes": successes})
    return +found


@pytest.mark.django_db
def test_every_figure_of_the_month_equals_the_count_of_the_raw_outcomes(a_month: list[CallCallback],
                                                                        hq_supervisor: User) -> None:
    raw = _raw(a_month)
    report = build_report("daily", user=hq_supervisor, period=MONTH)
    by_type, _by_agent, by_branch = report.tables
    assert _from_table(by_type.rows) == +raw["type"]
    assert _from_table(by_branch.rows) == +raw["branch"]
    assert by_type.total is not None
    assert by_type.total[1:4] == [raw["all"]["|attempts"], raw["all"]["|connected"], raw["all"]["|successes"]]
    figures = {figure.label: figure.value for figure in report.figures}
    assert figures["外呼次数"] == f"{raw['all']['|attempts']:,}"
    assert figures["外呼成功率"] == f"{raw['all']['|connected'] / raw['all']['|attempts']:.1%}"
    assert 0 < raw["all"]["|attempts"] < len(a_month)  # the edge days are left out


@pytest.mark.django_db
def test_a_branch_user_sees_only_their_branch_and_cannot_ask_for_another(
        a_month: list[CallCallback], agent_a: User, branch_a: Branch, branch_b: Branch) -> None:
    report = build_report("daily", user=agent_a, period=MONTH)
    assert [row[0] for row in report.tables[2].rows] == [branch_a.name]
    assert _from_table(report.tables[0].rows) == +_raw(a_month, branch_a)["type"]
    with pytest.raises(NotFound):
        build_report("daily", user=agent_a, period=MONTH, branch_id=branch_b.pk)


@pytest.mark.django_db
def test_the_excel_file_has_a_sheet_per_table_with_chinese_headers(a_month: list[CallCallback],
                                                                  hq_supervisor: User) -> None:
    report = build_report("daily", user=hq_supervisor, period=MONTH)
    book = load_workbook(io.BytesIO(excel_bytes(report)))
    assert book.sheetnames == ["指标", "按回访类型", "按回访人员", "按营业部"]
    sheet = book["按回访类型"]
    assert sheet["A1"].value == "回访月报" and sheet["A2"].value == "2026年10月"
    assert [cell.value for cell in sheet[4]] == ["回访类型", "外呼次数", "接通次数", "成功回访数", "外呼成功率",
                                                 "成功占比"]
    assert sheet.cell(row=5 + len(report.tables[0].rows), column=1).value == "合计"


def test_sheet_names_are_made_valid_and_unique() -> None:
    taken: set[str] = set()
    assert sheet_title("按类型/营业部", taken) == "按类型_营业部"
    assert sheet_title("按类型/营业部", taken) == "按类型_营业部（2）"
    assert len(sheet_title("长" * 40, taken)) == 31
