"""Writes of callbacks: rule runs (one INSERT … SELECT per rule), single callbacks (API, risk referral), state
changes with their history rows, expiry.

Every state change writes a CallbackHistory row (who, when, from, to, why) in the same transaction as the
change; set-based writes (a rule run, expiry, bulk cancel) write their history set-based too."""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.calendars.queries import CalendarNotCovered, work_calendar
from huifang.callbacks.choices import COUNTED_STATES, OPEN_STATES, Origin, RunTrigger, State
from huifang.callbacks.models import Callback, CallbackHistory, RuleRun
from huifang.campaigns.compiler import CompiledRule, compile_rule
from huifang.campaigns.models import CallbackType, Rule
from huifang.campaigns.rules import PolicyError, due_date, expires_on, parse_deadline, period_key
from huifang.customers.models import Customer, CustomerEvent
from huifang.surveys.models import QuestionnaireVersion

logger = logging.getLogger(__name__)

CALLBACK = "callbacks_callback"
HISTORY = "callbacks_callbackhistory"

#: state changes a callback may make (the workbench adds its own through these)
TRANSITIONS: dict[str, set[str]] = {
    State.NEW: {State.ASSIGNED, State.IN_PROGRESS, State.CANCELLED, State.EXPIRED},
    State.ASSIGNED: {State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.CANCELLED, State.EXPIRED},
    State.IN_PROGRESS: {State.ASSIGNED, State.DONE, State.FAILED, State.CANCELLED, State.EXPIRED},
    State.DONE: set(),
    State.FAILED: set(),
    State.CANCELLED: set(),
    State.EXPIRED: set(),
}


class CallbackError(ValueError):
    """A change that cannot be made; the message says why, in Chinese."""


@dataclass
class RuleOutcome:
    rule_id: int
    rule: str
    type: str
    #: {branch_id: count}
    by_branch: dict[int, int] = field(default_factory=dict)
    error: str = ""

    @property
    def total(self) -> int:
        return sum(self.by_branch.values())


@dataclass
class RunReport:
    run: RuleRun
    outcomes: list[RuleOutcome]

    @property
    def total(self) -> int:
        return sum(outcome.total for outcome in self.outcomes)


def questionnaire_version_for(callback_type: CallbackType) -> int | None:
    """The published version of the type's default questionnaire, asked by its new callbacks (None: none)."""
    if callback_type.default_questionnaire_id is None:
        return None
    return (QuestionnaireVersion.objects.filter(questionnaire_id=callback_type.default_questionnaire_id,
                                                state="published").values_list("id", flat=True).first())


def called_in_period(callback_type: CallbackType) -> Any:
    """The callbacks of a type that count as "called" in a period (cancelled and expired ones do not)."""

    def called(key: str) -> QuerySet[Callback]:
        return Callback.objects.filter(callback_type=callback_type, period_key=key, state__in=COUNTED_STATES)

    return called


def compiled_rules(*, as_of: dt.date, rules: QuerySet[Rule] | None = None) -> list[tuple[Rule, CompiledRule | str]]:
    """Every active rule of an active automatic type, compiled as of `as_of`, or the reason it cannot be."""
    chosen = rules if rules is not None else Rule.objects.filter(
        is_active=True, callback_type__is_active=True, callback_type__automation="auto")
    calendar = work_calendar()
    compiled: list[tuple[Rule, CompiledRule | str]] = []
    for rule in chosen.select_related("callback_type").order_by("callback_type_id", "id"):
        try:
            compiled.append((rule, compile_rule(rule, as_of=as_of, calendar=calendar,
                                                called=called_in_period(rule.callback_type))))
        except (PolicyError, CalendarNotCovered, ValueError) as error:
            compiled.append((rule, str(error)))
    return compiled


def _insert_sql(compiled: CompiledRule) -> tuple[str, list[Any]]:
    select, params = compiled.select_sql()
    columns = ("customer_id, callback_type_id, period_key, origin, rule_id, run_id, event_id, branch_id, "
               "questionnaire_version_id, state, priority, due_date, not_before, expires_on, attempts, result, "
               "reason, created_at, updated_at")
    # WHERE before ON CONFLICT: SQLite reads "SELECT … FROM x ON CONFLICT" as a join constraint otherwise.
    sql = (f"INSERT INTO {CALLBACK} ({columns}) "
           f"SELECT s.customer_id, %s, s.period_key, %s, %s, %s, s.event_id, s.branch_id, %s, %s, %s, s.due_date, "
           f"s.not_before, s.expires_on, 0, '', '', %s, %s FROM ({select}) s WHERE s.due_date IS NOT NULL "
           "ORDER BY s.trigger_day, s.customer_id "
           "ON CONFLICT (customer_id, callback_type_id, period_key) DO NOTHING")
    return sql, params


def run_rules(*, as_of: dt.date, dry_run: bool = False, trigger: str = RunTrigger.MANUAL, by: Any = None,
              rules: QuerySet[Rule] | None = None) -> RunReport:
    """Run the trigger rules as of `as_of` (default: every active rule of every active automatic type).

    Each rule is one INSERT … SELECT in its own transaction, with its history rows (one per new callback) in
    the same transaction: a rule that fails (a calendar year not covered, a bad config) creates nothing and
    is reported; the others still run. Re-running creates nothing new: the unique (customer, type, period key)
    skips what exists. A dry run makes the same inserts and rolls them back: it counts, per branch, exactly what
    would be created, and keeps only the RuleRun row.
    Side effects: a RuleRun row, the callbacks and their history, an audit entry."""
    now = timezone.now()
    run = RuleRun.objects.create(as_of=as_of, dry_run=dry_run, trigger=trigger,
                                 started_by=by if getattr(by, "pk", None) else None, started_at=now)
    if dry_run:
        # The real inserts, rolled back: the counts are exactly what a run would create, also when several
        # rules of one type pick the same customer.
        with transaction.atomic():
            outcomes = _run_each(as_of=as_of, rules=rules, run=run, now=now)
            transaction.set_rollback(True)
    else:
        outcomes = _run_each(as_of=as_of, rules=rules, run=run, now=now)
    counts = [{"type": o.type, "rule": o.rule_id, "branch": branch, "count": count}
              for o in outcomes for branch, count in sorted(o.by_branch.items())]
    errors = [{"rule": o.rule_id, "name": o.rule, "message": o.error} for o in outcomes if o.error]
    total = sum(o.total for o in outcomes)
    RuleRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), counts=counts, errors=errors,
                                             created_count=0 if dry_run else total)
    run.refresh_from_db()
    record_action(action="run_rules", obj=run, actor=by, summary=(
        f"{'试运行' if dry_run else '运行'}回访规则（截至 {as_of}）："
        f"{'将生成' if dry_run else '生成'} {total} 条回访任务" + (f"，{len(errors)} 条规则失败" if errors else "")))
    return RunReport(run=run, outcomes=outcomes)


def _run_each(*, as_of: dt.date, rules: QuerySet[Rule] | None, run: RuleRun, now: dt.datetime) -> list[RuleOutcome]:
    outcomes: list[RuleOutcome] = []
    for rule, compiled in compiled_rules(as_of=as_of, rules=rules):
        outcome = RuleOutcome(rule_id=rule.pk, rule=rule.name, type=rule.callback_type.code)
        outcomes.append(outcome)
        if isinstance(compiled, str):
            outcome.error = compiled
            logger.error("规则 %s（%s）未运行：%s", rule.pk, rule.name, compiled)
            continue
        if compiled.warnings:
            outcome.error = "；".join(compiled.warnings)
            logger.warning("规则 %s（%s）：%s", rule.pk, rule.name, outcome.error)
        try:
            outcome.by_branch = _run_one(compiled, run=run, now=now)
        except Exception as error:  # a database error in one rule must not stop the others
            logger.exception("规则 %s（%s）运行失败", rule.pk, rule.name)
            outcome.error = f"运行失败：{error}"
    return outcomes


@transaction.atomic
def _run_one(compiled: CompiledRule, *, run: RuleRun, now: dt.datetime) -> dict[int, int]:
    callback_type = compiled.callback_type
    stamp = connection.ops.adapt_datetimefield_value(now)
    sql, params = _insert_sql(compiled)
    constants: list[Any] = [callback_type.pk, str(Origin.RULE), compiled.rule.pk, run.pk,
                            questionnaire_version_for(callback_type),
                            str(State.NEW), callback_type.priority, stamp, stamp]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants, *params])
        if not cursor.rowcount:
            return {}
        cursor.execute(
            f"INSERT INTO {HISTORY} (callback_id, at, by_id, from_state, to_state, reason, agent_id) "
            f"SELECT id, %s, %s, '', %s, %s, NULL FROM {CALLBACK} WHERE run_id = %s AND rule_id = %s",
            [stamp, run.started_by_id, State.NEW, f"规则生成：{compiled.rule.name}"[:300], run.pk, compiled.rule.pk])
        cursor.execute(f"SELECT branch_id, COUNT(*) FROM {CALLBACK} WHERE run_id = %s AND rule_id = %s "
                       "GROUP BY branch_id", [run.pk, compiled.rule.pk])
        return {int(branch): int(count) for branch, count in cursor.fetchall()}


def explain_rule(*, rule: Rule, customer: Customer, as_of: dt.date) -> list[dict[str, Any]]:
    """Which conditions of `rule` hold for `customer` as of `as_of`, from the same compiled query as the run.
    Raises CallbackError when the rule cannot be compiled."""
    for _, compiled in compiled_rules(as_of=as_of, rules=Rule.objects.filter(pk=rule.pk)):
        if isinstance(compiled, str):
            raise CallbackError(compiled)
        return compiled.explain(customer.pk)
    raise CallbackError("规则不存在")


# --- single callbacks ----------------------------------------------------------------------------------------

def _history(callback: Callback, *, at: dt.datetime, by: Any, from_state: str, to_state: str,
             reason: str = "") -> CallbackHistory:
    return CallbackHistory.objects.create(callback=callback, at=at, by=by if getattr(by, "pk", None) else None,
                                          from_state=from_state, to_state=to_state, reason=reason[:300],
                                          agent_id=callback.agent_id)


def callback_dates(callback_type: CallbackType, trigger: dt.date) -> tuple[dt.date, str, dt.date]:
    """Due date, period key and expiry of a callback of `callback_type` for something on `trigger`.
    Raises CalendarNotCovered."""
    calendar = work_calendar()
    due = due_date(calendar, trigger, parse_deadline(callback_type.deadline))
    period = callback_type.dedupe_period
    key = period_key(trigger, period) if period not in ("event",) else f"D{trigger.isoformat()}"
    return due, key, max(due, expires_on(due, period))


@transaction.atomic
def create_callback(*, customer: Customer, callback_type: CallbackType, origin: str, by: Any = None,
                    reason: str = "", event: CustomerEvent | None = None, project_id: int | None = None,
                    due: dt.date | None = None, period: str | None = None, agent: Any = None,
                    questionnaire_version_id: int | None = None, today: dt.date | None = None) -> Callback:
    """One callback for one customer (API, risk referral, follow-up, project line). It lands at the customer's
    branch. Due date, period key and expiry follow the type unless given.

    Raises CallbackError when the customer already has a callback of this type in the period (the unique
    key), CalendarNotCovered when the deadline cannot be worked out. Side effects: the callback, its
    creation history row (and the assignment's, for an agent)."""
    now = timezone.now()
    today = today or timezone.localdate()
    type_due, type_key, type_expiry = callback_dates(callback_type, today)
    due = due or type_due
    key = period or type_key
    if Callback.objects.filter(customer=customer, callback_type=callback_type, period_key=key).exists():
        raise CallbackError(f"客户 {customer.customer_no} 本期（{key}）已有{callback_type.name}任务")
    state = State.ASSIGNED if agent is not None else State.NEW
    callback = Callback.objects.create(
        customer=customer, callback_type=callback_type, period_key=key, origin=origin, project_id=project_id,
        event=event, branch_id=customer.branch_id, state=state, priority=callback_type.priority, due_date=due,
        expires_on=max(due, type_expiry), agent=agent, reason=reason,
        created_by=by if getattr(by, "pk", None) else None,
        questionnaire_version_id=questionnaire_version_id or questionnaire_version_for(callback_type),
        created_at=now, updated_at=now,
    )
    _history(callback, at=now, by=by, from_state="", to_state=State.NEW, reason=reason or str(Origin(origin).label))
    if agent is not None:
        _history(callback, at=now, by=by, from_state=State.NEW, to_state=State.ASSIGNED,
                 reason=f"分配给 {agent}")
    # An API client is recorded by name here: created_by and the history hold users only.
    record_action(actor=by, action="create", obj=callback,
                  summary=f"新建{callback_type.name}任务：客户 {customer.customer_no}（{Origin(origin).label}）")
    return callback


@transaction.atomic
def change_state(*, callback: Callback, to: str, by: Any = None, reason: str = "", agent: Any = None,
                 result: str | None = None) -> Callback:
    """Move one callback to state `to` (re-reading it locked), with its history row. Raises CallbackError for
    a change the state machine does not allow."""
    current = Callback.objects.select_for_update().get(pk=callback.pk)
    if to not in TRANSITIONS.get(current.state, set()):
        raise CallbackError(f"回访任务处于“{State(current.state).label}”状态，不能改为“{State(to).label}”")
    now = timezone.now()
    from_state = current.state
    current.state = to
    if agent is not None or to == State.NEW:
        current.agent = agent
    if result is not None:
        current.result = result
    if to in (State.DONE, State.FAILED, State.CANCELLED, State.EXPIRED):
        current.closed_at = now
    current.updated_at = now
    current.save(update_fields=["state", "agent", "result", "closed_at", "updated_at"])
    _history(current, at=now, by=by, from_state=from_state, to_state=to, reason=reason)
    return current


@transaction.atomic
def book_appointment(*, callbacks: list[Callback], at: dt.datetime, agent: Any = None, by: Any = None,
                     reason: str = "预约回访") -> int:
    """Book an appointment (预约) at `at` for open, unheld callbacks: for `agent` only (they are assigned to them)
    or, without one, for anyone. The queue hands a due appointment out before anything else.

    Raises CallbackError for a callback that is held or closed. Side effects: appointment_at and
    appointment_agent, the state (assigned to the agent), one history row each. Returns how many were booked."""
    now = timezone.now()
    booked = 0
    for callback in callbacks:
        current = Callback.objects.select_for_update().get(pk=callback.pk)
        if current.state not in (State.NEW, State.ASSIGNED):
            raise CallbackError(f"回访任务处于“{State(current.state).label}”状态，不能预约")
        from_state = current.state
        current.appointment_at, current.appointment_agent = at, agent
        if agent is not None:
            current.state, current.agent = State.ASSIGNED, agent
        current.updated_at = now
        current.save(update_fields=["appointment_at", "appointment_agent", "state", "agent", "updated_at"])
        _history(current, at=now, by=by, from_state=from_state, to_state=current.state,
                 reason=f"{reason}：{timezone.localtime(at):%Y-%m-%d %H:%M}")
        booked += 1
    return booked


def _bulk_history(cursor: Any, *, ids_sql: str, params: list[Any], stamp: Any, by_id: int | None, to_state: str,
                  reason: str) -> None:
    cursor.execute(
        f"INSERT INTO {HISTORY} (callback_id, at, by_id, from_state, to_state, reason, agent_id) "
        f"SELECT id, %s, %s, state, %s, %s, agent_id FROM {CALLBACK} WHERE {ids_sql}",
        [stamp, by_id, to_state, reason[:300], *params])


@transaction.atomic
def expire_callbacks(*, today: dt.date | None = None) -> int:
    """Mark every unfinished callback whose period has ended (expires_on before `today`) as expired (已过期),
    set-based, with its history rows. Returns how many expired."""
    today = today or timezone.localdate()
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    placeholders = ", ".join(["%s"] * len(OPEN_STATES))
    where = f"state IN ({placeholders}) AND expires_on < %s"
    params: list[Any] = [*[str(s) for s in OPEN_STATES], connection.ops.adapt_datefield_value(today)]
    with connection.cursor() as cursor:
        _bulk_history(cursor, ids_sql=where, params=params, stamp=stamp, by_id=None, to_state=State.EXPIRED,
                      reason="超过回访期限，自动过期")
        cursor.execute(f"UPDATE {CALLBACK} SET state = %s, closed_at = %s, updated_at = %s WHERE {where}",
                       [State.EXPIRED, stamp, stamp, *params])
        expired = cursor.rowcount
    if expired:
        logger.info("%s 条回访任务已过期", expired)
    return expired


def counts_by_type_and_branch(report: RunReport) -> list[dict[str, Any]]:
    """The run's counts summed per type and branch (several rules may feed one type)."""
    summed: dict[tuple[str, int], int] = defaultdict(int)
    for outcome in report.outcomes:
        for branch, count in outcome.by_branch.items():
            summed[(outcome.type, branch)] += count
    return [{"type": type_code, "branch_id": branch, "count": count}
            for (type_code, branch), count in sorted(summed.items())]
