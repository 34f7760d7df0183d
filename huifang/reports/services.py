"""The writes of the reports app that are not filings: every export of a report (Excel, PDF, the API's JSON,
a mailed copy) leaves an audit entry naming the report, the period, the branch and the format, so who took which
figures out of the platform can be answered (REGULATION.md: records and their access are auditable)."""

from typing import Any

from huifang.audit.services import record_action
from huifang.org.models import Branch
from huifang.reports.tables import Report

#: the formats an export is made in, as the audit entry names them
FORMATS = {"xlsx": "Excel", "pdf": "PDF", "json": "API"}


def record_export(*, actor: Any, report: Report, fmt: str, branch_id: int | None = None) -> None:
    """One audit entry for `report` exported as `fmt` ("xlsx", "pdf" or "json") by `actor`."""
    branch_code = ""
    if branch_id is not None:
        branch_code = Branch.objects.filter(pk=branch_id).values_list("code", flat=True).first() or ""
    scope = report.scope or "全部可见营业部"
    record_action(actor=actor, action="export", object_type="reports.report", object_id=report.code,
                  object_repr=f"{report.title} {report.period.key}"[:200], branch_code=branch_code,
                  summary=f"导出{FORMATS.get(fmt, fmt)}：{report.title}（{report.period.label}，{scope}）",
                  changes={"report": report.code, "period": report.period.key, "branch_id": branch_id,
                           "format": fmt})
