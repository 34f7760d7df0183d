"""The quarterly roll-up's filing (季度回访汇总报送): after a quarter ends, each branch files its roll-up within
settings.HUIFANG_QUARTERLY_FILING_WORKING_DAYS working days (5: the deadline is the 5th working day after the
quarter's last day, by the holiday table), and the HQ supervisor approves it. A roll-up not filed by its deadline,
or filed after it, is flagged in the quarterly report.

Who: the branch's own CC operator (营业部客服主管) or team lead files; the HQ supervisor approves. Both writes are
audited ("file_report", "approve_report") and refused with a Chinese message naming the reason."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.calendars.queries import CalendarNotCovered, add_working_days
from huifang.org.choices import Role
from huifang.org.models import Branch
from huifang.org.queries import visible_branches
from huifang.org.scoping import sees_all_branches
from huifang.reports.models import ReportFiling
from huifang.reports.periods import Period, PeriodError, parse_period

REPORT_CODE = "quarterly"
#: roles that file their own branch's roll-up
FILING_ROLES = (Role.BRANCH_OPERATOR, Role.TEAM_LEAD)
#: roles that approve the branches' roll-ups
APPROVING_ROLES = (Role.HQ_SUPERVISOR,)


class FilingError(ValueError):
    """A filing or approval refused; the message says why, in Chinese."""


def quarter_of(period_key: str) -> Period:
    """The quarter named by `period_key` (e.g. 2026-Q3); FilingError for anything else."""
    try:
        period = parse_period(period_key)
    except PeriodError as error:
        raise FilingError(str(error)) from None
    if period.kind != "quarter":
        raise FilingError(f"季度汇总的报表周期应为季度（如 2026-Q3），而不是“{period_key}”")
    return period


def filing_deadline(period: Period) -> dt.date:
    """The last day to file the quarter's roll-up: the Nth working day after its last day (N from the setting).
    Raises CalendarNotCovered when the holiday table lacks the year the deadline falls in."""
    return add_working_days(period.end, settings.HUIFANG_QUARTERLY_FILING_WORKING_DAYS)


def may_file(user: Any, branch: Branch) -> bool:
    return (bool(getattr(user, "is_authenticated", False)) and getattr(user, "branch_id", None) == branch.pk
            and not branch.is_headquarters and user.has_role(*FILING_ROLES))


def may_approve(user: Any) -> bool:
    return (bool(getattr(user, "is_authenticated", False)) and sees_all_branches(user)
            and (user.has_role(*APPROVING_ROLES) or user.is_superuser))


def _locked(branch: Branch, period: Period, deadline: dt.date) -> ReportFiling:
    """The branch's filing row of the quarter, locked; created (unfiled) if missing."""
    filing, _ = ReportFiling.objects.select_for_update().get_or_create(
        branch=branch, report_code=REPORT_CODE, period_key=period.key, defaults={"deadline": deadline})
    return filing


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


@transaction.atomic
def file_quarterly(*, branch: Branch, period_key: str, by: Any, note: str = "") -> ReportFiling:
    """The branch files its quarterly roll-up for `period_key`. Preconditions: `by` is the branch's own CC operator
    or team lead; the quarter has ended; the roll-up is not filed yet; the calendar covers the deadline. Side
    effects: the filing row (created if missing) gets filed_at / filed_by, and an audit entry. Filing after the
    deadline is accepted and recorded as late."""
    period = quarter_of(period_key)
    if branch.is_headquarters:
        raise FilingError("总部不报送季度回访汇总，只审核各营业部的汇总")
    if getattr(by, "branch_id", None) != branch.pk:
        raise FilingError(f"只能报送本营业部的季度回访汇总，{branch.name}不是您所在的营业部")
    if not by.has_role(*FILING_ROLES):
        raise FilingError("只有营业部客服主管或组长可以报送季度回访汇总")
    today = timezone.localdate()
    if today <= period.end:
        raise FilingError(f"{period.label}尚未结束（{period.end:%Y-%m-%d} 结束），结束后才能报送")
    try:
        deadline = filing_deadline(period)
    except CalendarNotCovered as error:
        raise FilingError(f"无法计算报送期限：{error}") from None
    filing = _locked(branch, period, deadline)
    if filing.filed_at is not None:
        raise FilingError(f"{branch.name}{period.label}的回访汇总已于 {_when(filing.filed_at)} 报送，不能重复报送")
    now = timezone.now()
    filing.deadline = deadline
    filing.filed_at = now
    filing.filed_by = by
    if note.strip():
        filing.note = note.strip()
    filing.save(update_fields=["deadline", "filed_at", "filed_by", "note"])
    late = timezone.localdate(now) > deadline
    record_action(actor=by, action="file_report", obj=filing,
                  summary=f"报送{period.label}季度回访汇总：{branch.name}"
                          + (f"（逾期，期限 {deadline:%Y-%m-%d}）" if late else ""))
    return filing


@transaction.atomic
def approve_quarterly(*, filing: ReportFiling, by: Any) -> ReportFiling:
    """The HQ supervisor approves a filed roll-up. Preconditions: `by` is an HQ supervisor; the roll-up is filed
    and not yet approved. Side effects: approved_at / approved_by, and an audit entry."""
    if not may_approve(by):
        raise FilingError("只有总部回访主管可以审核季度回访汇总")
    current = ReportFiling.objects.select_for_update().select_related("branch").get(pk=filing.pk)
    period = quarter_of(current.period_key)
    if current.filed_at is None:
        raise FilingError(f"{current.branch.name}尚未报送{period.label}的回访汇总，不能审核")
    if current.approved_at is not None:
        raise FilingError(f"{current.branch.name}{period.label}的回访汇总已于 {_when(current.approved_at)} 审核")
    current.approved_at = timezone.now()
    current.approved_by = by
    current.save(update_fields=["approved_at", "approved_by"])
    record_action(actor=by, action="approve_report", obj=current,
                  summary=f"审核{period.label}季度回访汇总：{current.branch.name}")
    return current


# --- reads ----------------------------------------------------------------------------------------------------

@dataclass
class FilingStatus:
    branch: Branch
    period: Period
    #: None when the calendar does not cover it (deadline_error says so)
    deadline: dt.date | None
    filing: ReportFiling | None
    deadline_error: str = ""
    #: filed after the deadline
    late: bool = False
    #: not filed and the deadline has passed
    missing: bool = False

    @property
    def flagged(self) -> bool:
        return self.late or self.missing

    @property
    def filed(self) -> bool:
        return self.filing is not None and self.filing.filed_at is not None

    @property
    def approved(self) -> bool:
        return self.filing is not None and self.filing.approved_at is not None

    @property
    def state_text(self) -> str:
        if self.approved:
            return "已审核（逾期报送）" if self.late else "已审核"
        if self.filed:
            return "已报送（逾期）" if self.late else "已报送，待审核"
        if self.missing:
            return "逾期未报送"
        return "未到报送时间" if timezone.localdate() <= self.period.end else "待报送"


def filing_statuses(user: Any, period: Period, branch_id: int | None = None) -> list[FilingStatus]:
    """The filing of the quarter of every branch `user` sees (headquarters does not file), by branch code."""
    branches = visible_branches(user).filter(is_headquarters=False).order_by("code")
    if branch_id is not None:
        branches = branches.filter(pk=branch_id)
    filings = {f.branch_id: f for f in ReportFiling.objects.visible_to(user).filter(
        report_code=REPORT_CODE, period_key=period.key).select_related("filed_by", "approved_by")}
    deadline: dt.date | None = None
    error = ""
    try:
        deadline = filing_deadline(period)
    except CalendarNotCovered as problem:
        error = str(problem)
    today = timezone.localdate()
    found = []
    for branch in branches:
        filing = filings.get(branch.pk)
        # a filed roll-up keeps the deadline it was filed against
        due = filing.deadline if filing is not None and filing.filed_at is not None else deadline
        status = FilingStatus(branch, period, due, filing, deadline_error="" if due else error)
        if due is not None:
            if filing is not None and filing.filed_at is not None:
                status.late = timezone.localdate(filing.filed_at) > due
            else:
                status.missing = today > due
        found.append(status)
    return found
