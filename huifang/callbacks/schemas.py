"""Shapes of the callbacks API (api.py): callbacks by their stable codes, rule runs and their counts."""

import datetime as dt
from typing import Any

from ninja import Field, Schema

from huifang.callbacks.services import RunReport, counts_by_type_and_branch
from huifang.org.models import Branch


class ErrorOut(Schema):
    code: str
    message: str


class CallbackOut(Schema):
    id: int
    customer_no: str
    #: the callback type's code (large_transfer, risk_aml, ...)
    type: str
    #: the state's stable code (new, assigned, in_progress, done, failed, cancelled, expired)
    state: str
    #: the branch's code
    branch: str
    due_date: dt.date
    not_before: dt.datetime | None
    #: the agent number (工号) of the assigned agent, or null
    agent_no: str | None
    #: the manual project's id, or null
    project: int | None
    #: rule, project, api, risk_referral, follow_up
    origin: str
    priority: int
    period_key: str
    attempts: int
    #: the outcome code of the last attempt ("" before any)
    result: str
    created_at: dt.datetime
    updated_at: dt.datetime


class HistoryOut(Schema):
    at: dt.datetime
    #: the user name of who made the change; null for a rule run, a job or an API client
    by: str | None
    from_: str = Field(..., alias="from")
    to: str
    reason: str


class CallbackDetailOut(CallbackOut):
    reason: str
    expires_on: dt.date | None
    history: list[HistoryOut]


class CallbackPage(Schema):
    items: list[CallbackOut]
    limit: int
    #: pass as `cursor` for the next page; null at the end
    next_cursor: str | None


class CallbackIn(Schema):
    customer_no: str
    #: a callback type's code
    type: str
    reason: str = ""
    #: default: from the type's deadline policy
    due_date: dt.date | None = None


class RiskReferralIn(Schema):
    customer_no: str
    reason: str
    type: str = "risk_aml"


class RunIn(Schema):
    #: YYYY-MM-DD; default: today (Asia/Shanghai)
    as_of: str | None = None
    dry_run: bool = False


class RunCountOut(Schema):
    type: str
    #: the branch's code
    branch: str
    count: int


class RunErrorOut(Schema):
    rule: int
    name: str
    message: str


class RunOut(Schema):
    run_id: int
    as_of: dt.date
    dry_run: bool
    #: created (a dry run: that would be created), all types and branches
    created: int
    counts: list[RunCountOut]
    errors: list[RunErrorOut]


def run_out(report: RunReport) -> dict[str, Any]:
    """The answer of a rule run (the API and `huifang rules run --json`): counts per type and branch code."""
    summed = counts_by_type_and_branch(report)
    codes = dict(Branch.objects.filter(pk__in={row["branch_id"] for row in summed}).values_list("id", "code"))
    run = report.run
    return {
        "run_id": run.pk,
        "as_of": run.as_of,
        "dry_run": run.dry_run,
        "created": report.total,
        "counts": [{"type": row["type"], "branch": codes.get(row["branch_id"], str(row["branch_id"])),
                    "count": row["count"]} for row in summed],
        "errors": [{"rule": o.rule_id, "name": o.rule, "message": o.error} for o in report.outcomes if o.error],
    }
