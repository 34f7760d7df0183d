"""The reports over REST, for a data warehouse or an OA system that files them:
- `GET /api/v1/reports`: the catalogue (code, title, the period kinds each is made for);
- `GET /api/v1/reports/{code}?period=2026-11&branch=12`: one report's figures and tables, the same object the
  page, the Excel and the PDF show. Each read is an audited export.
Users need a reporting role (registry.REPORT_ROLES); API clients the `reports:read` scope, and see the branches
they are limited to. A branch the caller does not see answers 404; a period that cannot be read 422."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from huifang.org.auth import ApiError
from huifang.reports import registry, services
from huifang.reports.periods import PeriodError

router = Router(tags=["reports"])


class ReportSpecOut(Schema):
    code: str
    title: str
    description: str
    kinds: list[str]


class PeriodOut(Schema):
    kind: str
    key: str
    label: str
    start: dt.date
    end: dt.date


class FigureOut(Schema):
    label: str
    value: str
    formula: str
    status: str


class TableOut(Schema):
    title: str
    headers: list[str]
    rows: list[list[Any]]
    total: list[Any] | None
    note: str
    #: indexes of the rows the report flags (a late filing, a quota not met)
    flagged: list[int]


class ReportOut(Schema):
    code: str
    title: str
    period: PeriodOut
    scope: str
    notes: list[str]
    figures: list[FigureOut]
    tables: list[TableOut]


def _require(request: HttpRequest) -> None:
    if not registry.may_see_reports(request.user):
        raise ApiError(403, "permission_denied", "没有查看报表的权限")


@router.get("", response=list[ReportSpecOut], summary="The reports there are, and the periods each is made for")
def list_reports(request: HttpRequest) -> Any:
    _require(request)
    return [{"code": spec.code, "title": spec.title, "description": spec.description, "kinds": list(spec.kinds)}
            for spec in registry.all_reports()]


@router.get("/{code}", response=ReportOut, summary="One report for a period, limited to a branch if given")
def get_report(request: HttpRequest, code: str, period: str = "", kind: str = "", branch: int | None = None) -> Any:
    """`period` is a key (2026-11-05, 2026-W45, 2026-11, 2026-Q4, 2026-H2, 2026); without it, the current period
    of `kind` (default: the report's first kind)."""
    _require(request)
    spec = registry.report_spec(code)
    if spec is None:
        raise ApiError(404, "not_found", f"没有报表“{code}”")
    try:
        chosen = registry.choose_period(spec, key=period, kind=kind)
        report = registry.build_report(code, user=request.user, period=chosen, branch_id=branch)
    except PeriodError as error:
        raise ApiError(422, "invalid_period", f"period：{error}") from None
    services.record_export(actor=request.user, report=report, fmt="json", branch_id=branch)
    return {
        "code": report.code, "title": report.title, "scope": report.scope, "notes": report.notes,
        "period": {"kind": report.period.kind, "key": report.period.key, "label": report.period.label,
                   "start": report.period.start, "end": report.period.end},
        "figures": [vars(figure) for figure in report.figures],
        "tables": [{**vars(table), "flagged": sorted(table.flagged)} for table in report.tables],
    }
