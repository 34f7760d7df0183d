"""/reports/: the catalogue of reports and each report's page (htmx: the period and branch pickers swap the
body), its Excel and its printable PDF. Everything goes through registry.build_report, which reads only what the
user sees; a branch the user does not see is a 404, a user whose roles have no reports a 403. Every download is
audited (services.record_export)."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from huifang.lib.web import HtmxHttpRequest
from huifang.org.queries import visible_branches
from huifang.reports import exports, registry, services
from huifang.reports.periods import KIND_LABELS, Period
from huifang.reports.tables import Report

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BadRequest(ValueError):
    """A period or branch in the query string that cannot be read; the message names it."""


def _spec(code: str) -> registry.ReportSpec:
    spec = registry.report_spec(code)
    if spec is None:
        raise Http404(f"没有报表“{code}”")
    return spec


def _period(spec: registry.ReportSpec, request: HtmxHttpRequest) -> Period:
    """The period asked for (?period=2026-11), or the current one of ?kind= or of the report's default kind."""
    try:
        return registry.choose_period(spec, key=request.GET.get("period", ""), kind=request.GET.get("kind", ""))
    except registry.PeriodChoiceError as error:
        raise BadRequest(f"{'周期' if error.field == 'period' else '周期类型'}：{error}") from None


def _branch_id(request: HtmxHttpRequest) -> int | None:
    raw = request.GET.get("branch", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise BadRequest(f"营业部：“{raw}”不是营业部编号")
    return int(raw)


def _build(request: HtmxHttpRequest, code: str) -> tuple[registry.ReportSpec, Report, int | None]:
    """The report the query string asks for; NotFound (404) for a branch the user does not see."""
    if not registry.may_see_reports(request.user):
        raise PermissionDenied
    spec = _spec(code)
    period = _period(spec, request)
    branch_id = _branch_id(request)
    return spec, registry.build_report(code, user=request.user, period=period, branch_id=branch_id), branch_id


@login_required
@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    if not registry.may_see_reports(request.user):
        raise PermissionDenied
    from huifang.reports.delivery import may_manage

    specs = [{"spec": spec, "kinds": [KIND_LABELS[kind] for kind in spec.kinds]} for spec in registry.all_reports()]
    return render(request, "reports/report_list.html", {"reports": specs,
                                                        "may_subscribe": may_manage(request.user)})


def _page_context(request: HtmxHttpRequest, spec: registry.ReportSpec, report: Report,
                  branch_id: int | None) -> dict[str, Any]:
    period = report.period
    query = f"&branch={branch_id}" if branch_id else ""
    return {
        "spec": spec, "report": report, "branch_id": branch_id, "query": query,
        "kinds": [(kind, KIND_LABELS[kind]) for kind in spec.kinds],
        "previous": period.previous(), "next": period.next(),
        "branches": list(visible_branches(request.user).order_by("code").values("id", "name")),
        "charts": [{"id": f"chart-{index}", "option_id": f"chart-{index}-option", "title": chart.title,
                    "option": chart.option}
                   for index, chart in enumerate(report.charts)],
    }


@login_required
@require_GET
def page(request: HtmxHttpRequest, code: str) -> HttpResponse:
    try:
        spec, report, branch_id = _build(request, code)
    except BadRequest as error:
        spec = _spec(code)
        context = {"spec": spec, "error": str(error), "kinds": [(k, KIND_LABELS[k]) for k in spec.kinds]}
        template = "reports/report_body.html" if request.htmx else "reports/report_page.html"
        return render(request, template, context, status=422)
    context = _page_context(request, spec, report, branch_id)
    if spec.code == "quarterly":
        from huifang.reports.dashboard_views import filing_context

        context["filing"] = filing_context(request.user, report.period)
    template = "reports/report_body.html" if request.htmx else "reports/report_page.html"
    return render(request, template, context)


def _download(request: HtmxHttpRequest, code: str, fmt: str) -> HttpResponse:
    try:
        _, report, branch_id = _build(request, code)
    except BadRequest as error:
        return HttpResponse(str(error), status=422, content_type="text/plain; charset=utf-8")
    user = request.user
    if fmt == "xlsx":
        body, content_type = exports.excel_bytes(report), XLSX
    else:
        printed_by = getattr(user, "name", "") or user.get_username()
        body, content_type = exports.pdf_bytes(report, printed_by=printed_by), "application/pdf"
    services.record_export(actor=user, report=report, fmt=fmt, branch_id=branch_id)
    response = HttpResponse(body, content_type=content_type)
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=exports.export_filename(report, fmt))
    return response


@login_required
@require_GET
def excel(request: HtmxHttpRequest, code: str) -> HttpResponse:
    return _download(request, code, "xlsx")


@login_required
@require_GET
def pdf(request: HtmxHttpRequest, code: str) -> HttpResponse:
    return _download(request, code, "pdf")
