"""The quarterly roll-up (季度回访汇总) and its filing: the figures per branch and type equal counts of the raw
callbacks; the deadline is the 5th working day after the quarter's end by the holiday table (National Day in the
way); a roll-up not filed by then, or filed late, is flagged; who may file and approve, and the refusals."""

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from huifang.audit.models import AuditEntry
from huifang.callbacks.models import Callback
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.reports.filings import FilingError, approve_quarterly, file_quarterly, filing_deadline
from huifang.reports.models import ReportFiling
from huifang.reports.periods import parse_period
from huifang.reports.registry import build_report
from huifang.reports.tests.test_kpis import SHANGHAI, Month, generated_month, local

Q3 = parse_period("2026-Q3")
Q4 = parse_period("2026-Q4")

__all__ = ["generated_month"]


def _at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def lead_a(branch_a: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_a, Role.TEAM_LEAD, username="lead_a")


@pytest.fixture
def operator_b(branch_b: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_b, Role.BRANCH_OPERATOR, username="operator_b")


# --- the figures ---------------------------------------------------------------------------------------------

def _raw(month: Month, period: Any) -> Counter[tuple[str, str, str]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for callback in Callback.objects.select_related("branch", "callback_type"):
        if not period.contains(callback.due_date) or callback.state == "cancelled":
            continue
        key = (callback.branch.name, callback.callback_type.name)
        counts[(*key, "due")] += 1
        counts[(*key, "done")] += int(callback.state == "done")
        counts[(*key, "success")] += int(callback.state == "done" and callback.result == "success")
        counts[(*key, "on_time")] += int(callback.state == "done" and callback.closed_at is not None
                                         and local(callback.closed_at) <= callback.due_date)
    return counts


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["2026-Q3", "2026-Q4"])
def test_every_figure_per_branch_and_type_equals_the_count_of_the_raw_callbacks(
        key: str, generated_month: Month, hq_supervisor: User) -> None:
    period = parse_period(key)
    report = build_report("quarterly", user=hq_supervisor, period=period)
    by_branch, detail, filings = report.tables
    found: Counter[tuple[str, str, str]] = Counter()
    for branch, callback_type, due, done, success, on_time, *_ in detail.rows:
        found.update({(branch, callback_type, "due"): due, (branch, callback_type, "done"): done,
                      (branch, callback_type, "success"): success, (branch, callback_type, "on_time"): on_time})
    raw = _raw(generated_month, period)
    assert +found == +raw and sum(raw.values()) > 0
    assert detail.total is not None and detail.total[2] == sum(v for k, v in raw.items() if k[2] == "due")
    per_branch = {row[0]: row[1:5] for row in by_branch.rows}
    for branch in (generated_month.branch_a, generated_month.branch_b):
        assert per_branch[branch.name] == [sum(v for k, v in raw.items() if k[0] == branch.name and k[2] == name)
                                           for name in ("due", "done", "success", "on_time")]
    assert [row[0] for row in filings.rows] == [generated_month.branch_a.name, generated_month.branch_b.name]


@pytest.mark.django_db
def test_a_branch_sees_only_its_own_roll_up(generated_month: Month, operator_a: User, branch_a: Branch) -> None:
    report = build_report("quarterly", user=operator_a, period=Q4)
    assert {row[0] for row in report.tables[1].rows} == {branch_a.name}
    assert [row[0] for row in report.tables[2].rows] == [branch_a.name]


# --- the deadline and the flag -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_deadline_is_the_fifth_working_day_after_the_quarter_s_end() -> None:
    # 国庆 1–7 October off, Saturday 10 October a make-up working day: 8, 9, 10, 12, 13
    assert filing_deadline(Q3) == dt.date(2026, 10, 13)
    # 清明 4–6 April off: 1, 2, 3, 7, 8
    assert filing_deadline(parse_period("2026-Q1")) == dt.date(2026, 4, 8)
    # no holiday: 1, 2, 3, 6, 7 July
    assert filing_deadline(parse_period("2026-Q2")) == dt.date(2026, 7, 7)


@pytest.mark.django_db
def test_the_deadline_follows_the_setting(settings: Any) -> None:
    settings.HUIFANG_QUARTERLY_FILING_WORKING_DAYS = 3
    assert filing_deadline(Q3) == dt.date(2026, 10, 10)


@pytest.mark.django_db
def test_a_roll_up_filed_on_time_is_not_flagged_one_missing_after_the_deadline_is(
        time_machine: Any, hq_supervisor: User, operator_a: User, branch_a: Branch, branch_b: Branch) -> None:
    time_machine.move_to(_at(2026, 10, 13, 17), tick=False)
    file_quarterly(branch=branch_a, period_key="2026-Q3", by=operator_a)
    report = build_report("quarterly", user=hq_supervisor, period=Q3)
    filings = report.tables[2]
    assert [row[1] for row in filings.rows] == ["2026-10-13", "2026-10-13"]
    assert filings.flagged == set() and [row[-1] for row in filings.rows] == ["已报送，待审核", "待报送"]

    time_machine.move_to(_at(2026, 10, 14, 9), tick=False)
    report = build_report("quarterly", user=hq_supervisor, period=Q3)
    filings = report.tables[2]
    assert filings.flagged == {1} and filings.rows[1][-1] == "逾期未报送"
    assert "逾期未报送：广州天河营业部" in report.notes
    assert report.tables[0].flagged == {1}


@pytest.mark.django_db
def test_a_roll_up_filed_after_the_deadline_is_flagged_as_late(
        time_machine: Any, hq_supervisor: User, operator_a: User, branch_a: Branch, branch_b: Branch) -> None:
    time_machine.move_to(_at(2026, 10, 14, 0, ), tick=False)
    filing = file_quarterly(branch=branch_a, period_key="2026-Q3", by=operator_a)
    approve_quarterly(filing=filing, by=hq_supervisor)
    filings = build_report("quarterly", user=hq_supervisor, period=Q3).tables[2]
    assert filings.flagged == {0, 1}
    assert filings.rows[0][-1] == "已审核（逾期报送）" and filings.rows[0][3] == operator_a.name
    assert filings.rows[0][5] == hq_supervisor.name
    entry = AuditEntry.objects.get(action="file_report")
    assert "逾期" in entry.summary and entry.branch_code == branch_a.code
    assert AuditEntry.objects.filter(action="approve_report", object_id=str(filing.pk)).exists()


@pytest.mark.django_db
def test_a_quarter_whose_deadline_the_calendar_does_not_cover_is_said(
        time_machine: Any, hq_supervisor: User, operator_a: User, branch_a: Branch) -> None:
    time_machine.move_to(_at(2027, 1, 4), tick=False)
    report = build_report("quarterly", user=hq_supervisor, period=Q4)
    assert any("2027 年的节假日未录入日历表" in note for note in report.notes)
    with pytest.raises(FilingError, match=r"无法计算报送期限.*2027"):
        file_quarterly(branch=branch_a, period_key="2026-Q4", by=operator_a)
    assert not ReportFiling.objects.exists()


# --- who may file and approve ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_filing_is_refused_with_the_reason(time_machine: Any, hq: Branch, branch_a: Branch, branch_b: Branch,
                                          agent_a: User, operator_a: User, operator_b: User, lead_a: User,
                                          hq_supervisor: User) -> None:
    time_machine.move_to(_at(2026, 9, 30, 18), tick=False)
    with pytest.raises(FilingError, match="2026年第3季度尚未结束"):
        file_quarterly(branch=branch_a, period_key="2026-Q3", by=operator_a)
    time_machine.move_to(_at(2026, 10, 9), tick=False)
    with pytest.raises(FilingError, match="只有营业部客服主管或组长"):
        file_quarterly(branch=branch_a, period_key="2026-Q3", by=agent_a)
    with pytest.raises(FilingError, match=r"只能报送本营业部.*上海浦东营业部不是您所在的营业部"):
        file_quarterly(branch=branch_a, period_key="2026-Q3", by=operator_b)
    with pytest.raises(FilingError, match="只能报送本营业部"):
        file_quarterly(branch=branch_a, period_key="2026-Q3", by=hq_supervisor)
    with pytest.raises(FilingError, match="总部不报送"):
        file_quarterly(branch=hq, period_key="2026-Q3", by=hq_supervisor)
    with pytest.raises(FilingError, match="应为季度"):
        file_quarterly(branch=branch_a, period_key="2026-09", by=operator_a)
    assert not ReportFiling.objects.exists()
    filing = file_quarterly(branch=branch_a, period_key="2026-Q3", by=lead_a, note="已核对")
    assert filing.filed_by == lead_a and filing.deadline == dt.date(2026, 10, 13) and filing.note == "已核对"
    with pytest.raises(FilingError, match="已于 2026-10-09 10:00 报送，不能重复报送"):
        file_quarterly(branch=branch_a, period_key="2026-Q3", by=operator_a)
    assert AuditEntry.objects.filter(action="file_report").count() == 1


@pytest.mark.django_db
def test_only_the_hq_supervisor_approves_a_filed_roll_up_once(time_machine: Any, branch_a: Branch,
                                                              operator_a: User, hq_supervisor: User,
                                                              auditor: User) -> None:
    time_machine.move_to(_at(2026, 10, 9), tick=False)
    unfiled = ReportFiling.objects.create(branch=branch_a, report_code="quarterly", period_key="2026-Q2",
                                          deadline=dt.date(2026, 7, 7))
    with pytest.raises(FilingError, match="尚未报送"):
        approve_quarterly(filing=unfiled, by=hq_supervisor)
    filing = file_quarterly(branch=branch_a, period_key="2026-Q3", by=operator_a)
    for someone in (operator_a, auditor):
        with pytest.raises(FilingError, match="只有总部回访主管"):
            approve_quarterly(filing=filing, by=someone)
    approved = approve_quarterly(filing=filing, by=hq_supervisor)
    assert approved.approved_by == hq_supervisor and approved.approved_at is not None
    with pytest.raises(FilingError, match=r"已于 .* 审核"):
        approve_quarterly(filing=filing, by=hq_supervisor)


# --- the forms --------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_filing_forms_file_approve_and_answer_422_with_the_reason(
        time_machine: Any, login: Callable[[User], Client], branch_a: Branch, branch_b: Branch,
        operator_a: User, operator_b: User, hq_supervisor: User, client: Client) -> None:
    time_machine.move_to(_at(2026, 10, 9), tick=False)
    htmx = {"HX-Request": "true"}
    login(operator_a)
    panel = client.get(reverse("dashboards:filings", args=["2026-Q3"]), headers=htmx)
    assert panel.status_code == 200
    text = panel.content.decode()
    assert "上海浦东营业部" in text and "广州天河营业部" not in text and "报送</button>" in text
    done = client.post(reverse("dashboards:file_quarterly", args=["2026-Q3", branch_a.pk]), {"note": "无异常"},
                       headers=htmx)
    assert done.status_code == 200 and "已报送，待审核" in done.content.decode()
    again = client.post(reverse("dashboards:file_quarterly", args=["2026-Q3", branch_a.pk]), headers=htmx)
    assert again.status_code == 422 and "不能重复报送" in again.content.decode()
    other = client.post(reverse("dashboards:file_quarterly", args=["2026-Q3", branch_b.pk]), headers=htmx)
    assert other.status_code == 404
    filing = ReportFiling.objects.get(branch=branch_a)
    refused = client.post(reverse("dashboards:approve_quarterly", args=[filing.pk]), headers=htmx)
    assert refused.status_code == 422 and "只有总部回访主管" in refused.content.decode()

    login(operator_b)
    assert client.post(reverse("dashboards:approve_quarterly", args=[filing.pk]), headers=htmx).status_code == 404
    assert "上海浦东营业部" not in client.get(reverse("dashboards:filings", args=["2026-Q3"])).content.decode()

    login(hq_supervisor)
    page = client.get(reverse("dashboards:filings", args=["2026-Q3"]))
    assert page.status_code == 200 and "<html" in page.content.decode() and "审核通过" in page.content.decode()
    approved = client.post(reverse("dashboards:approve_quarterly", args=[filing.pk]), headers=htmx)
    assert approved.status_code == 200 and "已审核" in approved.content.decode()
    assert client.get(reverse("dashboards:filings", args=["2026-13"])).status_code == 404
