"""The demo brokerage's past: `build_history(seed=...)` gives the last weeks (DAYS calendar days, their working
days from the calendar) calls by the demo agents on callbacks of the demo customers, with their outcomes, so that
reports, dashboards and KPIs have something to show on the first start.

Each working day every agent works the retries and appointments due that day, then new callbacks (created by the
15:30 rule run of the working day before, due by the type's deadline) from 09:00 with a lunch break until about
17:30: one call per attempt, an outcome per call drawn with fixed odds (成功回访 ~55 %, 无人接听, 占线, 关机, 拒绝,
预约下次, …). The outcome's policy decides what follows: 成功回访 closes the callback done, 拒绝 / 机主非本人 / 空号 /
停机 close it failed, the retry outcomes book the next working day until the code's maximum attempts, then it
fails; 预约下次 books the next working day for anyone. 空号 / 停机 mark the phone invalid and put it on the branch's
contact-correction list (号码纠错), as registering it through calls.services does. What would fall on today or
later stays open (a retry 已分配 to its agent, an appointment 待分配), from the next working day after today.
Every callback carries the type's published questionnaire, as a rule run gives it; each successful one
has its questionnaire answered and finished during the successful call, linked as the workbench links it
(demo.answers: plausible answers, mostly satisfied, through the questionnaire's own logic), so the
satisfaction analysis and 问卷完成率 have figures.

Rows are written set-based (demo.bulk.RowWriter: executemany / COPY) in one transaction with explicit ids, the
call serials' day counters moved past them, the answers added, then the roll-ups rebuilt from the raw rows
(calls.rollups.rebuild). Deterministic: the same seed, demo data and `today` give the same rows. Run after today's
rule run: the history adds no callback whose customer × type × period exists, so today's work is what the rules
give."""

import datetime as dt
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from huifang.calendars.queries import work_calendar
from huifang.callbacks.choices import Origin, State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.services import callback_dates, questionnaire_version_for
from huifang.calls import rollups
from huifang.calls.choices import CallState, CorrectionKind, Policy
from huifang.calls.models import (
    Attachment,
    Call,
    CallCallback,
    CallRecording,
    CallStat,
    ContactCorrection,
    OutcomeCode,
    OutcomeStat,
    SerialCounter,
)
from huifang.campaigns.models import CallbackType, Rule
from huifang.customers.choices import ContactValidity
from huifang.customers.models import ContactPoint, Customer
from huifang.demo.answers import build_answers
from huifang.demo.bulk import RowWriter
from huifang.demo.org import DEMO_BRANCH_CODES
from huifang.lib.masking import mask_phone
from huifang.lib.workdays import CalendarNotCovered, WorkCalendar
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.surveys.models import Answer, Response

#: calendar days of history before today
DAYS = 45
#: new callbacks an agent starts a day (besides the retries and appointments due)
NEW_PER_DAY = (14, 24)
#: callback types of the history and their weights (the busy ones of a brokerage's callback centre)
TYPE_WEIGHTS = {"new_account": 22, "manager_customers": 16, "product_buyer": 16, "satisfaction": 12,
                "large_transfer": 8, "info_change": 8, "service_product": 6, "lost_customer": 6, "risk_aml": 3,
                "same_ip": 3}
#: which customers a type calls: new accounts the recently opened, lost customers the dormant, others normal
POOL_OF = {"new_account": "recent", "lost_customer": "dormant"}
#: customers considered at most (a sample by id of a bigger demo)
SAMPLE = 20_000
#: an attempt's outcome and its weight (成功回访 ~55 %)
OUTCOME_WEIGHTS = {"success": 55, "no_answer": 14, "busy": 6, "refused": 5, "appointment": 6, "powered_off": 4,
                   "hung_up": 3, "invalid_number": 2, "unreachable": 2, "not_owner": 1, "suspended": 1}
#: seconds the phone rings before it is answered or given up, and talk seconds once connected
RING = {"no_answer": (30, 45), "busy": (2, 6), "powered_off": (3, 10), "invalid_number": (3, 8),
        "unreachable": (5, 15), "suspended": (3, 8)}
TALK = {"success": (120, 480), "refused": (20, 90), "not_owner": (15, 45), "appointment": (30, 120),
        "hung_up": (10, 60)}
DAY_START, LUNCH, AFTER_LUNCH, DAY_END = dt.time(9, 0), dt.time(12, 0), dt.time(13, 30), dt.time(17, 30)
RULE_RUN_AT = dt.time(15, 30)
#: a callback still to be worked after an attempt: a retry (已分配 back to the agent) or an appointment (待分配)
OPEN = (State.ASSIGNED, State.NEW)

CALLBACK_COLUMNS = ["id", "customer_id", "callback_type_id", "period_key", "origin", "rule_id", "branch_id",
                    "questionnaire_version_id", "state", "priority", "due_date", "not_before", "expires_on",
                    "agent_id", "attempts", "appointment_at", "appointment_agent_id", "result", "reason",
                    "created_at", "updated_at", "closed_at"]
HISTORY_COLUMNS = ["callback_id", "at", "by_id", "from_state", "to_state", "reason", "agent_id"]
CALL_COLUMNS = ["id", "serial", "agent_id", "customer_id", "phone_id", "phone_masked", "branch_id", "state",
                "dialed_at", "answered_at", "ended_at", "duration_seconds", "exchange_call_id", "end_cause", "error"]
LINK_COLUMNS = ["call_id", "callback_id", "outcome_id", "registered_at", "registered_by_id", "note"]


@dataclass
class HistorySummary:
    days: int = 0
    calls: int = 0
    outcomes: int = 0
    successes: int = 0
    callbacks: int = 0
    still_open: int = 0
    #: questionnaire responses of the successful callbacks (demo.answers)
    responses: int = 0
    #: numbers found invalid (空号) and put on the contact-correction list
    corrections: int = 0
    seconds: float = 0.0


@dataclass
class _Callback:
    id: int
    customer: tuple[int, int, int | None, int | None, str]  # id, branch, manager, phone id, number
    type: CallbackType
    key: str
    due: dt.date
    expires: dt.date
    created_at: dt.datetime
    agent_id: int
    attempts: int = 0
    state: str = State.NEW
    result: str = ""
    closed_at: dt.datetime | None = None
    next_at: dt.datetime | None = None
    appointment: bool = False
    history: list[tuple[Any, ...]] = field(default_factory=list)


def _local(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


class _Writer:
    def __init__(self) -> None:
        self.rows = RowWriter()

    def ts(self, moment: dt.datetime | None) -> str | None:
        if moment is None:
            return None
        return self.rows.format_timestamp(moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"))


def _working_days(calendar: WorkCalendar, first: dt.date, last: dt.date) -> list[dt.date]:
    days = []
    day = first
    while day <= last:
        try:
            if calendar.is_working_day(day):
                days.append(day)
        except CalendarNotCovered:
            pass
        day += dt.timedelta(days=1)
    return days


class _Simulation:
    def __init__(self, *, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.calendar = work_calendar()
        self.days = _working_days(self.calendar, today - dt.timedelta(days=DAYS), today - dt.timedelta(days=1))
        self.outcomes = {o.code: o for o in OutcomeCode.objects.filter(code__in=OUTCOME_WEIGHTS, is_active=True)}
        self.outcome_codes = [code for code in OUTCOME_WEIGHTS if code in self.outcomes]
        self.outcome_weights = [OUTCOME_WEIGHTS[code] for code in self.outcome_codes]
        types = {t.code: t for t in CallbackType.objects.filter(code__in=TYPE_WEIGHTS, is_active=True)}
        self.types = [types[code] for code in TYPE_WEIGHTS if code in types]
        self.type_weights = [TYPE_WEIGHTS[t.code] for t in self.types]
        self.rules = {rule.callback_type_id: rule.pk for rule in Rule.objects.order_by("-pk")}
        self.versions = {t.pk: questionnaire_version_for(t) for t in self.types}
        hq = set(Branch.objects.filter(is_headquarters=True).values_list("pk", flat=True))
        demo = list(Branch.objects.filter(code__in=DEMO_BRANCH_CODES, is_headquarters=False)
                    .order_by("pk").values_list("pk", flat=True))
        self.agents = [(agent.pk, None if agent.branch_id in hq else agent.branch_id) for agent in
                       User.objects.filter(groups__name=Role.AGENT, agent_no__isnull=False, is_active=True,
                                           branch__code__in=DEMO_BRANCH_CODES).order_by("pk")]
        # a sample of the customers is enough (a big demo has a million): at most SAMPLE, every step-th by id
        customers = Customer.objects.filter(branch_id__in=demo, status__in=["normal", "dormant"])
        step = max(1, customers.count() // SAMPLE)
        if step > 1:
            customers = customers.annotate(slot=F("pk") % step).filter(slot=0)
        rows = list(customers.order_by("pk").values_list("pk", "branch_id", "manager_id", "open_date", "status"))
        phones = {cid: (pid, number) for cid, pid, number in ContactPoint.objects.filter(
            is_primary=True, customer_id__in=[row[0] for row in rows]).order_by("customer_id", "pk")
            .values_list("customer_id", "pk", "number")}
        #: branch (None: every branch, for HQ agents) -> pool (POOL_OF) -> [(open date, customer)]
        self.pool: dict[int | None, dict[str, list[tuple[dt.date, tuple[int, int, int | None, int | None, str]]]]]
        self.pool = defaultdict(lambda: defaultdict(list))
        recent = today - dt.timedelta(days=DAYS + 62)
        for cid, branch, manager, opened, status in rows:
            if cid not in phones:
                continue
            entry = (opened, (cid, branch, manager, *phones[cid]))
            pools = ["dormant"] if status == "dormant" else ["normal", "recent"] if opened >= recent else ["normal"]
            for name in pools:
                self.pool[branch][name].append(entry)
                self.pool[None][name].append(entry)
        #: (customer, type, period key) of every callback: the history adds none that exists (the unique key)
        self.taken: set[tuple[int, int, str]] = set(
            Callback.objects.values_list("customer_id", "callback_type_id", "period_key"))
        self.callbacks: list[_Callback] = []
        self.calls: list[tuple[Any, ...]] = []
        self.next_callback = (Callback.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        self.next_call = (Call.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        self.serials: dict[dt.date, int] = {}

    def _new_callback(self, agent: tuple[int, int | None], day: dt.date) -> _Callback | None:
        """A callback for the agent to start on `day`: created by the rule run of the working day before."""
        trigger = self._working_day(day, -1)
        for _ in range(12):
            kind = self.rng.choices(self.types, self.type_weights)[0]
            candidates = self.pool[agent[1]][POOL_OF.get(kind.code, "normal")]
            if not candidates:
                continue
            opened, customer = candidates[self.rng.randrange(len(candidates))]
            if kind.code == "new_account" and not trigger - dt.timedelta(days=62) <= opened <= trigger:
                continue
            if opened > trigger or customer[2] == agent[0]:  # not yet a customer; recusal: not their own manager
                continue
            try:
                due, key, expires = callback_dates(kind, trigger)
            except CalendarNotCovered:
                continue
            if (customer[0], kind.pk, key) in self.taken:
                continue
            self.taken.add((customer[0], kind.pk, key))
            created = _local(trigger, RULE_RUN_AT)
            callback = _Callback(id=self.next_callback, customer=customer, type=kind, key=key, due=due,
                                 expires=expires, created_at=created, agent_id=agent[0])
            callback.history.append((created, None, "", State.NEW, "规则生成"))
            self.next_callback += 1
            self.callbacks.append(callback)
            return callback
        return None

    def _working_day(self, day: dt.date, n: int) -> dt.date:
        try:
            return self.calendar.add_working_days(day, n)
        except CalendarNotCovered:  # at a year's end before next year's holidays are entered
            return day + dt.timedelta(days=n)

    def _serial(self, day: dt.date) -> str:
        self.serials[day] = self.serials.get(day, 0) + 1
        return f"C{day:%Y%m%d}{self.serials[day]:06d}"

    def _attempt(self, callback: _Callback, day: dt.date, clock: dt.datetime) -> tuple[dt.datetime, tuple[Any, ...]]:
        """One call for `callback` dialed at `clock`; returns when the agent is free again and the link row."""
        rng = self.rng
        code = rng.choices(self.outcome_codes, self.outcome_weights)[0]
        outcome = self.outcomes[code]
        dialed = clock
        if outcome.connected:
            answered: dt.datetime | None = dialed + dt.timedelta(seconds=rng.randint(5, 20))
            talk = rng.randint(*TALK.get(code, (30, 120)))
            assert answered is not None
            ended = answered + dt.timedelta(seconds=talk)
            cause = "normal"
        else:
            answered, talk = None, 0
            ended = dialed + dt.timedelta(seconds=rng.randint(*RING.get(code, (10, 30))))
            cause = code
        registered = ended + dt.timedelta(seconds=rng.randint(20, 90) if code == "success" else rng.randint(5, 30))
        call_id = self.next_call
        self.next_call += 1
        cid, branch, _, phone_id, number = callback.customer
        serial = self._serial(day)
        self.calls.append((call_id, serial, callback.agent_id, cid, phone_id, mask_phone(number), branch,
                           CallState.ENDED, dialed, answered, ended, talk, f"demo-{serial}", cause, ""))
        callback.history.append((dialed - dt.timedelta(seconds=10), callback.agent_id, callback.state,
                                 State.IN_PROGRESS, "获得外呼对象"))
        callback.attempts += 1
        callback.result = code
        callback.appointment = False
        callback.next_at = None
        nxt = self._working_day(day, 1)
        if outcome.policy == Policy.COMPLETE:
            to = State.DONE
        elif outcome.policy == Policy.APPOINTMENT:
            # 预约下次 for anyone (待分配): the demo's own bookings of today stay the agents' first calls
            to, callback.appointment = State.NEW, True
            callback.next_at = _local(nxt, dt.time(rng.randint(9, 16), rng.choice((0, 30))))
        elif outcome.policy == Policy.RETRY and callback.attempts < outcome.max_attempts:
            to = State.ASSIGNED
            callback.next_at = _local(nxt, DAY_START) + dt.timedelta(minutes=rng.randint(0, 420))
        else:
            to = State.FAILED
        if to in (State.DONE, State.FAILED):
            callback.closed_at = registered
        callback.history.append((registered, callback.agent_id, State.IN_PROGRESS, to, outcome.label))
        callback.state = to
        link = (call_id, callback.id, outcome.pk, registered, callback.agent_id, "")
        return registered + dt.timedelta(seconds=rng.randint(15, 75)), link

    def run(self) -> list[tuple[Any, ...]]:
        links: list[tuple[Any, ...]] = []
        if not self.days or not self.types or not self.outcome_codes:
            return links
        due: dict[tuple[int, dt.date], list[_Callback]] = defaultdict(list)
        for day in self.days:
            for agent in self.agents:
                work = [c for c in due.pop((agent[0], day), []) if c.state in OPEN]
                work.sort(key=lambda c: (c.next_at or c.created_at, c.id))
                fresh = self.rng.randint(*NEW_PER_DAY)
                clock = _local(day, DAY_START) + dt.timedelta(seconds=self.rng.randint(0, 1200))
                while work or fresh:
                    if LUNCH <= clock.time() < AFTER_LUNCH:
                        clock = _local(day, AFTER_LUNCH) + dt.timedelta(seconds=self.rng.randint(0, 600))
                    if clock.time() >= DAY_END:
                        break
                    if work:
                        callback: _Callback | None = work.pop(0)
                        assert callback is not None
                        if callback.next_at is not None and callback.next_at > clock:
                            clock = callback.next_at
                    else:
                        fresh -= 1
                        callback = self._new_callback(agent, day)
                        if callback is None:
                            continue
                    clock, link = self._attempt(callback, day, clock)
                    links.append(link)
                    if callback.state in OPEN and callback.next_at is not None:
                        due[(agent[0], callback.next_at.date())].append(callback)
                for late in work:  # not reached today: tomorrow's first
                    late.next_at = _local(self._working_day(day, 1), DAY_START)
                    due[(agent[0], late.next_at.date())].append(late)
        # What is left falls on today or later: from the next working day after today, so that today's first
        # calls are the rules' and the demo's bookings (demo-data books each agent a customer for today)
        after_today = self._working_day(self.today, 1)
        for callback in self.callbacks:
            if callback.state in OPEN and callback.next_at is not None and callback.next_at.date() <= self.today:
                callback.next_at = _local(after_today, callback.next_at.time())
        return links


def build_history(*, seed: int, today: dt.date | None = None) -> HistorySummary:
    """The demo's past calls and outcomes up to yesterday (see the module's docstring), then the roll-ups rebuilt.
    Precondition: the demo organisation and customers exist (build_demo). Side effects: callbacks with their
    history, calls, their outcomes, the successful ones' questionnaire responses (demo.answers), the serial
    counters of those days, the roll-ups; one transaction."""
    started = time.monotonic()
    today = today or timezone.localdate()
    summary = HistorySummary()
    with transaction.atomic():
        simulation = _Simulation(seed=seed, today=today)
        links = simulation.run()
        writer = _Writer()
        ts = writer.ts
        callback_rows, history_rows = [], []
        for c in simulation.callbacks:
            updated = max(entry[0] for entry in c.history)
            callback_rows.append((
                c.id, c.customer[0], c.type.pk, c.key, str(Origin.RULE), simulation.rules.get(c.type.pk),
                c.customer[1], simulation.versions.get(c.type.pk), str(c.state),
                c.type.priority, c.due.isoformat(), ts(c.next_at), c.expires.isoformat(),
                None if c.state == State.NEW else c.agent_id, c.attempts, ts(c.next_at) if c.appointment else None,
                None, c.result, "",
                ts(c.created_at), ts(updated), ts(c.closed_at)))
            history_rows += [(c.id, ts(at), by, from_state, str(to), reason,
                              c.agent_id if by and to != State.NEW else None)
                             for at, by, from_state, to, reason in c.history]
        call_rows = [(*row[:8], ts(row[8]), ts(row[9]), ts(row[10]), *row[11:]) for row in simulation.calls]
        link_rows = [(*row[:3], ts(row[3]), *row[4:]) for row in links]
        rows = writer.rows
        with rows.loading():
            rows.write(Callback._meta.db_table, CALLBACK_COLUMNS, callback_rows)
            rows.write(CallbackHistory._meta.db_table, HISTORY_COLUMNS, history_rows)
            rows.write(Call._meta.db_table, CALL_COLUMNS, call_rows)
            rows.write(CallCallback._meta.db_table, LINK_COLUMNS, link_rows)
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [Callback, Call]):
                cursor.execute(statement)
        for day, last in simulation.serials.items():
            counter, _ = SerialCounter.objects.get_or_create(day=day, defaults={"last": 0})
            SerialCounter.objects.filter(pk=counter.pk).update(last=max(counter.last, last))
        summary.corrections = _contact_corrections(simulation, links)
        answered = build_answers(seed=seed, callbacks=[c.id for c in simulation.callbacks if c.state == State.DONE])
        if simulation.days:
            rollups.rebuild(simulation.days[0], simulation.days[-1])
    success = simulation.outcomes.get("success")
    summary.days = len(simulation.days)
    summary.calls = len(call_rows)
    summary.outcomes = len(link_rows)
    summary.successes = sum(1 for row in links if success is not None and row[2] == success.pk)
    summary.callbacks = len(callback_rows)
    summary.still_open = sum(1 for c in simulation.callbacks if c.state not in (State.DONE, State.FAILED))
    summary.responses = answered.responses
    summary.seconds = time.monotonic() - started
    return summary


def _contact_corrections(simulation: "_Simulation", links: list[tuple[Any, ...]]) -> int:
    """What registering 空号 or 停机 (policy: mark the number invalid) does in calls.services: the call's phone
    marked invalid and put on the branch's contact-correction list, once while open, found when the outcome was
    registered."""
    invalid = {outcome.pk: outcome.code for outcome in simulation.outcomes.values()
               if outcome.policy == Policy.MARK_INVALID_THEN_NEXT_PHONE}
    calls = {row[0]: row for row in simulation.calls}
    found: dict[int, ContactCorrection] = {}
    for call_id, _, outcome_id, registered, *_rest in sorted(links, key=lambda link: link[3]):
        if outcome_id not in invalid:
            continue
        _, _, _, customer_id, phone_id, masked, branch_id, *_call = calls[call_id]
        if phone_id is None or phone_id in found:
            continue
        found[phone_id] = ContactCorrection(branch_id=branch_id, customer_id=customer_id, phone_id=phone_id,
                                            phone_masked=masked, kind=CorrectionKind.INVALID,
                                            outcome=invalid[outcome_id], found_by_call_id=call_id,
                                            found_at=registered)
    ContactCorrection.objects.bulk_create(found.values(), batch_size=500)
    ContactPoint.objects.filter(pk__in=list(found)).update(validity=ContactValidity.INVALID,
                                                          updated_at=timezone.now())
    return len(found)


def remove_history() -> None:
    """Delete the calls of the demo branches and what hangs on them (outcomes, recordings, attachments, contact
    corrections) and their roll-ups, and the questionnaire responses of their customers (with their answers), so
    that reset_demo can delete the callbacks, customers and users. Recording and attachment files stay in
    storage."""
    branches = list(Branch.objects.filter(code__in=DEMO_BRANCH_CODES).values_list("pk", flat=True))
    # The big tables' rows are deleted by chunks of ids, not by a subquery or a join: for `id IN (SELECT … JOIN …)`
    # PostgreSQL, its statistics stale right after a load (or inside one long transaction), may pick a nested
    # loop over both tables (minutes for the demo's calls).
    with transaction.atomic():
        calls = list(Call.objects.filter(branch_id__in=branches).order_by("pk").values_list("pk", flat=True))
        responses = list(Response.objects.filter(customer__branch_id__in=branches).order_by("pk")
                         .values_list("pk", flat=True))
        OutcomeStat.objects.filter(branch_id__in=branches).delete()
        CallStat.objects.filter(branch_id__in=branches).delete()
        for chunk in _chunks(calls):
            CallRecording.objects.filter(call_id__in=chunk).delete()
        Attachment.objects.filter(callback__branch_id__in=branches).delete()
        ContactCorrection.objects.filter(branch_id__in=branches).delete()
        for chunk in _chunks(calls):
            CallCallback.objects.filter(call_id__in=chunk).delete()
        Call.objects.filter(branch_id__in=branches).delete()
        Callback.objects.filter(branch_id__in=branches, response__isnull=False).update(response=None)
        for chunk in _chunks(responses):
            Answer.objects.filter(response_id__in=chunk).delete()
            Response.objects.filter(pk__in=chunk).delete()


def _chunks(ids: list[int], size: int = 2000) -> list[list[int]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]
