"""The dashboards (看板, htmx: each refreshes its panel every 30 seconds) and the quarterly roll-up's filing forms.

/dashboards/ picks the board for the user's roles: HQ (who sees every branch and supervises), the branch board
(supervisors of a branch; HQ may open any branch's), or the agent's own day. Every board reads through
`visible_to`; a branch the user does not see is a 404, a board the role may not open a 403."""

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from huifang.lib.web import HtmxHttpRequest
from huifang.org.choices import Role
from huifang.org.models import User
from huifang.org.queries import NotFound, access_branch
from huifang.org.scoping import sees_all_branches
from huifang.reports import dashboards, filings
from huifang.reports.models import ReportFiling
from huifang.reports.periods import Period

#: who opens the HQ board (and must see every branch)
HQ_ROLES = (Role.HQ_SUPERVISOR, Role.ADMIN, Role.AUDITOR)
#: who opens a branch's board
BRANCH_ROLES = (Role.HQ_SUPERVISOR, Role.BRANCH_OPERATOR, Role.TEAM_LEAD, Role.ADMIN, Role.AUDITOR)
#: who has a day of their own to look at
AGENT_ROLES = (Role.AGENT, Role.TEAM_LEAD)


def may_see_hq(user: Any) -> bool:
    return sees_all_branches(user) and (user.is_superuser or user.has_role(*HQ_ROLES))


def may_see_branch(user: Any) -> bool:
    return bool(user.is_superuser or user.has_role(*BRANCH_ROLES))


def may_see_own_day(user: Any) -> bool:
    return bool(user.has_role(*AGENT_ROLES))


def _board(request: HtmxHttpRequest, board: dashboards.Board) -> HttpResponse:
    context = {"board": board, "refresh_url": request.path}
    if request.htmx:
        return render(request, "reports/dashboard_board.html", context)
    return render(request, "reports/dashboard.html", {**context, "title": board.title,
                                                       "partial": "reports/dashboard_board.html"})


@login_required
@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    if may_see_hq(user):
        return redirect("dashboards:hq")
    branch_id = getattr(user, "branch_id", None)
    if may_see_branch(user) and branch_id:
        return redirect("dashboards:branch", branch_id=branch_id)
    if may_see_own_day(user):
        return redirect("dashboards:me")
    raise PermissionDenied


@login_required
@require_GET
def hq(request: HtmxHttpRequest) -> HttpResponse:
    if not may_see_hq(request.user):
        raise PermissionDenied
    return _board(request, dashboards.supervisor_board(request.user))


@login_required
@require_GET
def branch(request: HtmxHttpRequest, branch_id: int) -> HttpResponse:
    found = access_branch(request.user, branch_id)
    if not may_see_branch(request.user):
        raise PermissionDenied
    return _board(request, dashboards.supervisor_board(request.user, found.pk))


@login_required
@require_GET
def me(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not may_see_own_day(user):
        raise PermissionDenied
    context = {"day": dashboards.agent_day(user), "refresh_url": request.path}
    if request.htmx:
        return render(request, "reports/dashboard_me.html", context)
    return render(request, "reports/dashboard.html", {**context, "title": "我的今日",
                                                       "partial": "reports/dashboard_me.html"})


# --- the quarterly roll-up's filing -------------------------------------------------------------------------------

def _quarter(period_key: str) -> Period:
    try:
        return filings.quarter_of(period_key)
    except filings.FilingError as error:
        raise Http404(str(error)) from None


def filing_context(user: Any, period: Period) -> dict[str, Any]:
    """The context of reports/quarterly_filing.html for `period`: every branch `user` sees with its filing and
    the buttons `user` may press. The quarterly report's page includes the partial with this context (or loads
    it from dashboards:filings)."""
    rows = [{"status": s, "may_file": filings.may_file(user, s.branch) and not s.filed,
             "may_approve": filings.may_approve(user) and s.filed and not s.approved}
            for s in filings.filing_statuses(user, period)]
    return {"period": period, "rows": rows, "working_days": settings.HUIFANG_QUARTERLY_FILING_WORKING_DAYS}


def _filing_panel(request: HtmxHttpRequest, period: Period, *, error: str = "", message: str = "",
                  status: int = 200) -> HttpResponse:
    context = {**filing_context(request.user, period), "error": error, "message": message}
    template = "reports/quarterly_filing.html" if request.htmx else "reports/quarterly_filing_page.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def filing_panel(request: HtmxHttpRequest, period_key: str) -> HttpResponse:
    return _filing_panel(request, _quarter(period_key))


@login_required
@require_POST
def file_quarterly(request: HtmxHttpRequest, period_key: str, branch_id: int) -> HttpResponse:
    period = _quarter(period_key)
    found = access_branch(request.user, branch_id)
    try:
        filings.file_quarterly(branch=found, period_key=period.key, by=request.user,
                               note=request.POST.get("note", "")[:1000])
    except filings.FilingError as error:
        return _filing_panel(request, period, error=str(error), status=422)
    return _filing_panel(request, period, message=f"已报送{found.name}{period.label}的回访汇总")


@login_required
@require_POST
def approve_quarterly(request: HtmxHttpRequest, filing_id: int) -> HttpResponse:
    try:
        filing = ReportFiling.objects.visible_to(request.user).select_related("branch").get(
            pk=filing_id, report_code=filings.REPORT_CODE)
    except ReportFiling.DoesNotExist:
        raise NotFound("报送记录不存在") from None
    period = _quarter(filing.period_key)
    try:
        filings.approve_quarterly(filing=filing, by=request.user)
    except filings.FilingError as error:
        return _filing_panel(request, period, error=str(error), status=422)
    return _filing_panel(request, period, message=f"已审核{filing.branch.name}{period.label}的回访汇总")
