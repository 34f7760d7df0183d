"""Reads of callbacks for the pages: the filtered list, one callback with its history, the deadline views, the
catalogue with its rules and the latest rule runs. A callback of another branch is "not found"."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from huifang.calendars.queries import CalendarNotCovered, add_working_days
from huifang.callbacks.choices import OPEN_STATES
from huifang.callbacks.models import Callback, CallbackHistory, RuleRun
from huifang.campaigns.models import CallbackType, Rule
from huifang.org.models import Branch
from huifang.org.queries import NotFound
from huifang.org.scoping import own_branch_ids, sees_all_branches

#: the pseudo-state of the list filter meaning "any open state" (the deadline views link with it)
OPEN = "open"
LATEST_RUNS = 20


def visible_callbacks(user: Any) -> QuerySet[Callback]:
    """The callbacks `user` may see (their branch's, or all for HQ), with what the list shows joined in."""
    return Callback.objects.visible_to(user).select_related("customer", "callback_type", "branch", "agent",
                                                            "project")


@dataclass(frozen=True)
class CallbackFilter:
    type_code: str = ""
    state: str = ""
    branch_id: int | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    customer_no: str = ""


def filter_callbacks(user: Any, chosen: CallbackFilter) -> QuerySet[Callback]:
    """The visible callbacks matching the filter, by due date. A branch filter never widens what `user` sees."""
    callbacks = visible_callbacks(user)
    if chosen.type_code:
        callbacks = callbacks.filter(callback_type__code=chosen.type_code)
    if chosen.state == OPEN:
        callbacks = callbacks.filter(state__in=OPEN_STATES)
    elif chosen.state:
        callbacks = callbacks.filter(state=chosen.state)
    if chosen.branch_id is not None:
        callbacks = callbacks.filter(branch_id=chosen.branch_id)
    if chosen.due_from is not None:
        callbacks = callbacks.filter(due_date__gte=chosen.due_from)
    if chosen.due_to is not None:
        callbacks = callbacks.filter(due_date__lte=chosen.due_to)
    if chosen.customer_no:
        callbacks = callbacks.filter(customer__customer_no=chosen.customer_no)
    return callbacks.order_by("due_date", "id")


def access_callback(user: Any, callback_id: Any) -> Callback:
    """The callback `callback_id` if `user` may see it; NotFound otherwise (also for another branch's)."""
    try:
        return visible_callbacks(user).select_related("created_by", "rule", "questionnaire_version").get(
            pk=callback_id)
    except (Callback.DoesNotExist, ValueError, TypeError):
        raise NotFound("回访任务不存在") from None


def callback_history(callback: Callback) -> QuerySet[CallbackHistory]:
    """The state changes of one (access-checked) callback, oldest first, with who made them."""
    return CallbackHistory.objects.filter(callback=callback).select_related("by", "agent").order_by("at", "id")


# --- deadline views ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeadlineCell:
    type_code: str
    count: int


@dataclass
class DeadlineRow:
    branch_id: int
    branch_name: str
    #: one cell per column of the table (count 0 where the branch has none of that type)
    cells: list[DeadlineCell]
    total: int


@dataclass
class DeadlineTable:
    """Counts of open callbacks per branch (rows) × type (columns), due between `due_from` and `due_to`."""

    due_from: dt.date | None
    due_to: dt.date
    #: (code, name) of each column
    types: list[tuple[str, str]] = field(default_factory=list)
    rows: list[DeadlineRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def column_totals(self) -> list[int]:
        return [sum(row.cells[i].count for row in self.rows) for i in range(len(self.types))]


@dataclass
class DeadlineSummary:
    today: dt.date
    within_days: int
    #: the last day "at risk" reaches: `within_days` working days after today (None: the calendar cannot say)
    horizon: dt.date | None
    #: None when the calendar does not cover the days to count (see calendar_error)
    at_risk: DeadlineTable | None
    overdue: DeadlineTable
    #: why at_risk is missing: the message of CalendarNotCovered
    calendar_error: str = ""


def _deadline_table(user: Any, *, due_from: dt.date | None, due_to: dt.date) -> DeadlineTable:
    """One GROUP BY over the open callbacks `user` sees (callback_branch_state_due_idx / callback_state_due_idx)."""
    callbacks = Callback.objects.visible_to(user).filter(state__in=OPEN_STATES, due_date__lte=due_to)
    if due_from is not None:
        callbacks = callbacks.filter(due_date__gte=due_from)
    grouped = (callbacks.values("branch_id", "branch__name", "callback_type_id", "callback_type__code",
                                "callback_type__name")
               .annotate(count=Count("id")).order_by("branch__code", "branch_id", "callback_type_id"))
    types: dict[int, tuple[str, str]] = {}
    branches: dict[int, str] = {}
    counts: dict[tuple[int, int], int] = {}
    for row in grouped:
        types.setdefault(row["callback_type_id"], (row["callback_type__code"], row["callback_type__name"]))
        branches.setdefault(row["branch_id"], row["branch__name"])
        counts[(row["branch_id"], row["callback_type_id"])] = row["count"]
    type_ids = sorted(types)
    rows = []
    for branch_id, branch_name in branches.items():
        cells = [DeadlineCell(types[type_id][0], counts.get((branch_id, type_id), 0)) for type_id in type_ids]
        rows.append(DeadlineRow(branch_id, branch_name, cells, sum(cell.count for cell in cells)))
    return DeadlineTable(due_from=due_from, due_to=due_to, types=[types[t] for t in type_ids], rows=rows)


def deadline_summary(user: Any, today: dt.date, within_days: int) -> DeadlineSummary:
    """The open callbacks `user` sees that are at risk (due from today up to `within_days` working days after
    it, working days from the calendar module) and those overdue (due before today), per branch × type.
    When the calendar does not cover the days to count, at_risk is None and calendar_error says why; the
    overdue table needs no calendar and is always there."""
    overdue = _deadline_table(user, due_from=None, due_to=today - dt.timedelta(days=1))
    try:
        horizon = add_working_days(today, within_days)
    except CalendarNotCovered as error:
        return DeadlineSummary(today=today, within_days=within_days, horizon=None, at_risk=None, overdue=overdue,
                               calendar_error=str(error))
    return DeadlineSummary(today=today, within_days=within_days, horizon=horizon,
                           at_risk=_deadline_table(user, due_from=today, due_to=horizon), overdue=overdue)


# --- the catalogue and rule runs -----------------------------------------------------------------------------

def catalogue() -> QuerySet[CallbackType]:
    """Every callback type with its rules and default questionnaire (company-wide data)."""
    return (CallbackType.objects.select_related("default_questionnaire")
            .prefetch_related(Prefetch("rules", queryset=Rule.objects.order_by("id"))).order_by("id"))


def explainable_rules() -> QuerySet[Rule]:
    return Rule.objects.select_related("callback_type").order_by("callback_type_id", "id")


def access_rule(rule_id: Any) -> Rule:
    try:
        return explainable_rules().get(pk=rule_id)
    except (Rule.DoesNotExist, ValueError, TypeError):
        raise NotFound("规则不存在") from None


@dataclass
class RunRow:
    run: RuleRun
    #: what this run created (or, dry, would create) in the branches the user sees
    count: int
    errors: list[dict[str, Any]]


def latest_runs(user: Any, limit: int = LATEST_RUNS) -> list[RunRow]:
    """The latest rule runs; a branch user sees only their own branches' counts."""
    runs = list(RuleRun.objects.select_related("started_by").order_by("-started_at", "-id")[:limit])
    everything = sees_all_branches(user)
    own = set(own_branch_ids(user))
    rows = []
    for run in runs:
        counts = run.counts if isinstance(run.counts, list) else []
        count = sum(int(c.get("count", 0)) for c in counts if everything or c.get("branch") in own)
        rows.append(RunRow(run, count, run.errors if isinstance(run.errors, list) else []))
    return rows


def branch_names(branch_ids: set[int]) -> dict[int, str]:
    return dict(Branch.objects.filter(pk__in=branch_ids).values_list("id", "name"))


def type_names() -> dict[str, str]:
    return dict(CallbackType.objects.values_list("code", "name"))
