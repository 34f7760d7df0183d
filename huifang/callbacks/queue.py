"""The agents' queue (获得外呼对象): `take_next_callback` gives an agent the best callback they may work now, and
with it every other open callback of the same customer they may work ("one call, all of the customer");
`release_callbacks` hands held ones back.

What an agent may be given (each rule is one condition of `_CANDIDATE`, shared by the pop, the customer's other
callbacks and the reasons):
- state new (the pool), or assigned to this agent; of the agent's branch (HQ agents, the central callback
  center, work every branch: org.scoping.sees_all_branches);
- its not-before moment (cooling-off 冷静期, next trading day) has come;
- now, local time, is within its type's calling hours (calling_starts_at included, calling_ends_at excluded);
- not a MARKETING type for a customer on the do-not-call list (REGULATION 15–16);
- not a customer the agent manages when the type has recusal (REGULATION 7);
- no appointment, or a due one for anyone, for this agent, or for someone else but overdue by more than
  settings.APPOINTMENT_HANDOVER_MINUTES (default 30);
- the customer is not being worked by another agent (none of their callbacks in progress under someone else).

Order: due appointments first (earliest first), then priority (high first), due date, id.

The claim is one statement that the database makes atomic (notes/PERFORMANCE.md): on PostgreSQL
`SELECT … FOR UPDATE SKIP LOCKED LIMIT 1` inside the UPDATE, the customer's other callbacks and the history rows
in the same statement (data-modifying WITH); on SQLite the transaction is BEGIN IMMEDIATE (settings), so the
whole pop runs under the write lock and no other writer can interleave. The ORM's select_for_update + save is
2.5–450× slower: not used here."""

import datetime as dt
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.org.scoping import sees_all_branches

DEFAULT_HANDOVER_MINUTES = 30

#: the reasons' categories, in the order a callback is attributed to the first that blocks it
REASONS: list[tuple[str, str, str]] = [
    # (code, when every blocked callback has it, when some have it)
    ("cooling_off", "均处于冷静期", "处于冷静期"),
    ("calling_hours", "均未到可呼叫时间（呼叫时段 {hours}）", "不在呼叫时段（{hours}）"),
    ("appointment_later", "均为预约任务，预约时间未到", "预约时间未到"),
    ("appointment_other", "均为预约给其他坐席的任务", "预约给其他坐席"),
    ("do_not_call", "客户均在免打扰名单（营销类任务）", "客户在免打扰名单"),
    ("recusal", "均为您管理的客户（回避）", "为您管理的客户（回避）"),
    ("customer_held", "客户均正由其他坐席处理", "客户正由其他坐席处理"),
    ("busy", "均正被其他坐席领取，请稍后再试", "正被其他坐席领取"),
]
NOTHING_AT_ALL = "没有分配给您的回访任务"
#: the reasons count at most this many callbacks (a cheap answer, also over a million open ones)
REASON_SAMPLE = 10_000

# The states and the literals stay in the SQL text: the partial indexes (models.py, callback_pop_*) are used only
# when the query's condition matches their predicate, which a bound parameter would hide from the planner.
_HANDABLE = "c.state IN ('new', 'assigned')"
_MINE = "(c.state = 'new' OR c.agent_id = %(agent)s)"
_BRANCH = "c.branch_id = %(branch)s"
_NOT_BEFORE = "(c.not_before IS NULL OR c.not_before <= %(now)s)"
_APPOINTMENT = ("(c.appointment_at IS NULL OR (c.appointment_at <= %(now)s AND (c.appointment_agent_id IS NULL "
                "OR c.appointment_agent_id = %(agent)s OR c.appointment_at < %(handover)s)))")
_HOURS = "(t.calling_starts_at <= %(clock)s AND t.calling_ends_at > %(clock)s)"
_DO_NOT_CALL = ("(t.category <> 'marketing' OR NOT EXISTS (SELECT 1 FROM customers_donotcall d "
                "WHERE d.customer_id = c.customer_id AND d.since <= %(now)s "
                "AND (d.until IS NULL OR d.until >= %(today)s)))")
_RECUSAL = ("(NOT t.recusal OR NOT EXISTS (SELECT 1 FROM customers_customer m "
            "WHERE m.id = c.customer_id AND m.manager_id = %(agent)s))")
# served by callback_held_customer_idx (partial: only the held callbacks); SQLite is told so (INDEXED BY), having
# no statistics to choose it over the state index. On PostgreSQL, OFFSET 0 keeps it a sub-plan run per candidate
# (an index lookup by customer): as an anti-join the pop's generic plan, made while few callbacks were held,
# walked every held callback for each candidate (4.7 ms a pop with 3,300 held, bench/README.md)
_CUSTOMER_FREE = ("NOT EXISTS (SELECT 1 FROM callbacks_callback h{held_index} WHERE h.customer_id = c.customer_id "
                  "AND h.state = 'in_progress' AND h.agent_id <> %(agent)s{fence})")
_TYPE_ALLOWS = (f"EXISTS (SELECT 1 FROM campaigns_callbacktype t WHERE t.id = c.callback_type_id AND {_HOURS} "
                f"AND {_DO_NOT_CALL} AND {_RECUSAL})")


def _handable(columns: str, *, every_branch: bool) -> str:
    """The callbacks this agent could be given were no other rule in the way (_HANDABLE and _MINE, of the branch),
    as a query of `columns` of `c`: the pool's and the agent's own, each half found by an index on its equalities
    (callback_branch_state_due_idx or callback_state_due_idx; callback_agent_state_idx), so an agent with nothing
    at all is answered without walking the branch's queue."""
    branch = "" if every_branch else f" AND {_BRANCH}"
    return (f"SELECT {columns} FROM callbacks_callback c WHERE c.state = 'new'{branch} UNION ALL "
            f"SELECT {columns} FROM callbacks_callback c WHERE c.state = 'assigned' AND c.agent_id = %(agent)s{branch}")


def _candidate(*, every_branch: bool, by_branch_index: bool = True) -> str:
    """The condition on `callbacks_callback c` of a callback this agent may be given now. Without
    `by_branch_index` the branch is compared as `+c.branch_id`, which no index serves: the appointments' scan and
    the customer's other callbacks then use their own indexes (SQLite, without statistics, would otherwise walk
    the branch's whole partition of callback_pop_branch_idx)."""
    branch = [] if every_branch else [_BRANCH if by_branch_index else "+" + _BRANCH]
    postgresql = connection.vendor == "postgresql"
    held_index = "" if postgresql else " INDEXED BY callback_held_customer_idx"
    parts = [_HANDABLE, _MINE, *branch, _NOT_BEFORE, _APPOINTMENT, _TYPE_ALLOWS,
             _CUSTOMER_FREE.replace("{held_index}", held_index).replace("{fence}", " OFFSET 0" if postgresql else "")]
    return " AND ".join(parts)


def _pick_sql(*, every_branch: bool, locking: bool) -> str:
    """The id of the best candidate: due appointments first, then the rest. COALESCE stops at the first that
    finds one, so the second scan (the common case) runs only when no appointment is due; each scan walks a
    partial index in its ORDER BY order and stops at the first row that passes (and is not locked).

    Locking (PostgreSQL), the pick also locks its customer's row, skipping customers another agent is taking
    right now: without it two agents popping two callbacks of one customer at the same moment would both call
    them ("one call, all of the customer"). The customer is locked first (OF cu, c): a callback row is then only
    ever locked by the holder of its customer's lock, so the customer's other callbacks are never found locked
    by a rival that skipped on to another row but keeps its lock until it commits."""
    where = _candidate(every_branch=every_branch)
    appointments = _candidate(every_branch=every_branch, by_branch_index=False)
    if locking:
        lock = " FOR NO KEY UPDATE OF cu, c SKIP LOCKED"
        first = second = "customers_customer cu JOIN callbacks_callback c ON c.customer_id = cu.id"
    else:
        # SQLite has no statistics unless ANALYZE is run: it would take the state index and sort. Named here, the
        # scans walk the partial indexes in ORDER BY order.
        lock = ""
        first = "callbacks_callback c INDEXED BY callback_pop_appointment_idx"
        index = "callback_pop_all_idx" if every_branch else "callback_pop_branch_idx"
        second = f"callbacks_callback c INDEXED BY {index}"
    return (f"COALESCE((SELECT c.id FROM {first} WHERE {appointments} AND c.appointment_at IS NOT NULL "
            f"AND c.appointment_at <= %(now)s ORDER BY c.appointment_at, c.priority DESC, c.id LIMIT 1{lock}), "
            f"(SELECT c.id FROM {second} WHERE {where} "
            f"ORDER BY c.priority DESC, c.due_date, c.id LIMIT 1{lock}))")


_SET = "state = 'in_progress', agent_id = %(agent)s, held_at = %(now)s, updated_at = %(now)s"
_HISTORY_COLUMNS = "callback_id, at, by_id, from_state, to_state, reason, agent_id"
TAKEN_REASON = "坐席领取（获得外呼对象）"
WITH_CUSTOMER_REASON = "随同一客户的回访任务一并领取"


def _postgresql_sql(*, every_branch: bool) -> str:
    """One statement: pick and lock the best candidate, claim it, claim the customer's other callbacks this agent
    may work (skipping any another agent is taking right now), write every history row; answers the claimed
    (id, customer_id, rest: 0 the first, 1 the others). The WITH parts share one snapshot, so the customer's
    other callbacks exclude the first by id. When nothing is claimed and the agent has no callback at all (what
    explain_nothing would count is empty), it answers the one row (NULL, NULL, 2): the reason is known without
    another statement."""
    where = _candidate(every_branch=every_branch, by_branch_index=False)
    return (
        # Locking again the row the pick locked reads its latest version, so from_state is exact.
        f"WITH pick AS (SELECT p.id, p.state FROM callbacks_callback p "
        f"WHERE p.id = {_pick_sql(every_branch=every_branch, locking=True)} FOR NO KEY UPDATE), "
        f"first AS (UPDATE callbacks_callback u SET {_SET} FROM pick WHERE u.id = pick.id "
        f"RETURNING u.id, u.customer_id, pick.state AS from_state), "
        f"more AS (UPDATE callbacks_callback u SET {_SET} FROM (SELECT c.id, c.state FROM callbacks_callback c "
        f"WHERE c.customer_id = (SELECT customer_id FROM first) AND c.id <> (SELECT id FROM first) AND {where} "
        "FOR NO KEY UPDATE OF c SKIP LOCKED) s "
        "WHERE u.id = s.id RETURNING u.id, u.customer_id, s.state AS from_state), "
        "claimed AS (SELECT id, customer_id, from_state, 0 AS rest FROM first "
        "UNION ALL SELECT id, customer_id, from_state, 1 AS rest FROM more), "
        f"history AS (INSERT INTO callbacks_callbackhistory ({_HISTORY_COLUMNS}) "
        "SELECT id, %(now)s, %(agent)s, from_state, 'in_progress', "
        "CASE rest WHEN 0 THEN %(reason)s ELSE %(reason_more)s END, %(agent)s FROM claimed) "
        "SELECT id, customer_id, rest FROM claimed UNION ALL SELECT NULL::bigint, NULL::bigint, 2 "
        "WHERE NOT EXISTS (SELECT 1 FROM claimed) "
        f"AND NOT EXISTS ({_handable('1', every_branch=every_branch)}) ORDER BY rest, id")


@dataclass(frozen=True)
class Taken:
    """What the agent now holds: one customer's callbacks, the popped one first."""

    customer_id: int
    callback_ids: list[int]
    held_at: dt.datetime


@dataclass(frozen=True)
class Nothing:
    """Nothing could be given; `reason` says why, in Chinese; `counts` by REASONS code."""

    reason: str
    counts: dict[str, int] = field(default_factory=dict)


def _params(agent: Any, now: dt.datetime) -> dict[str, Any]:
    ops = connection.ops
    local = timezone.localtime(now)
    minutes = int(getattr(settings, "APPOINTMENT_HANDOVER_MINUTES", DEFAULT_HANDOVER_MINUTES))
    return {
        "agent": agent.pk,
        "branch": agent.branch_id,
        "now": ops.adapt_datetimefield_value(now),
        "handover": ops.adapt_datetimefield_value(now - dt.timedelta(minutes=minutes)),
        "clock": ops.adapt_timefield_value(local.time().replace(microsecond=0)),
        "today": ops.adapt_datefield_value(local.date()),
        "reason": TAKEN_REASON,
        "reason_more": WITH_CUSTOMER_REASON,
    }


def available_count(*, agent: Any, now: dt.datetime | None = None, limit: int = 100) -> int:
    """How many callbacks `agent` could be given now, by the pop's own condition, counted up to `limit` without
    claiming anything (the workbench's badge)."""
    where = _candidate(every_branch=sees_all_branches(agent))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM callbacks_callback c WHERE {where} "
                       f"LIMIT {int(limit)}) x", _params(agent, now or timezone.now()))
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def take_next_callback(*, agent: Any, now: dt.datetime | None = None) -> Taken | Nothing:
    """Give `agent` the best callback they may work now (rules and order: the module's docstring) and every other
    open callback of the same customer they may work, all moved to in_progress under the agent (held_at = now),
    each with its history row, in one transaction. Two agents never get the same callback.

    Precondition: `agent` is a user with an agent number (the API refuses others). Answers Taken, or Nothing
    with the reason when nothing can be given. Side effects: the claimed callbacks and their history rows."""
    now = now or timezone.now()
    every_branch = sees_all_branches(agent)
    params = _params(agent, now)
    if connection.vendor == "postgresql":
        # One statement, atomic on its own: outside a transaction it is its own, with no BEGIN and COMMIT round
        # trips (inside the caller's transaction it is part of theirs).
        with connection.cursor() as cursor:
            rows = _execute_prepared(cursor, every_branch=every_branch, params=params)
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            rows = _claim_serialised(cursor, every_branch=every_branch, params=params)
    if not rows:
        return explain_nothing(agent=agent, now=now)
    if rows[0][0] is None:  # the PostgreSQL pop's mark: no callback at all (explain_nothing's empty count)
        return Nothing(reason=NOTHING_AT_ALL, counts={})
    return Taken(customer_id=int(rows[0][1]), callback_ids=[int(row[0]) for row in rows], held_at=now)


#: the parameters of the prepared pop, in order, with their types
_PREPARED_PARAMS = [("agent", "bigint"), ("branch", "bigint"), ("now", "timestamptz"), ("handover", "timestamptz"),
                    ("clock", "time"), ("today", "date"), ("reason", "text"), ("reason_more", "text")]
#: per database connection (psycopg's), the names of the statements already prepared on it
_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


def _execute_prepared(cursor: Any, *, every_branch: bool, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The PostgreSQL pop as a prepared statement (PREPARE once per connection, then EXECUTE): planning the
    statement costs several times its execution, and a prepared one is planned once for all pops (measured in
    bench/next_callback.py). Needs session-level state: not for a pooler in transaction mode. Answers the rows.

    SET LOCAL and EXECUTE go in one round trip: client-side binding (Django's default; not OPTIONS
    server_side_binding, which neither this nor the EXECUTE's untyped parameters work with) sends them as one
    simple query, which PostgreSQL runs as one implicit transaction, so SET LOCAL holds for the EXECUTE and ends
    with it."""
    name = "huifang_pop_all" if every_branch else "huifang_pop_branch"
    raw = connection.connection
    done = _prepared.setdefault(raw, set())
    if name not in done:
        sql = _postgresql_sql(every_branch=every_branch)
        for n, (key, _) in enumerate(_PREPARED_PARAMS, start=1):
            sql = sql.replace(f"%({key})s", f"${n}")
        types = ", ".join(kind for _, kind in _PREPARED_PARAMS)
        cursor.execute(f"PREPARE {name} ({types}) AS {sql}")
        done.add(name)
    # The generic plan: with custom plans (the default's first choice here) every pop is planned again.
    generic = "SET LOCAL plan_cache_mode = force_generic_plan"
    marks = ", ".join(["%s"] * len(_PREPARED_PARAMS))
    execute = f"EXECUTE {name} ({marks})"
    values = [params[key] for key, _ in _PREPARED_PARAMS]
    cursor.execute(f"{generic}; {execute}", values)
    cursor.nextset()  # past SET's result, to EXECUTE's rows
    return list(cursor.fetchall())


def _claim_serialised(cursor: Any, *, every_branch: bool, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The pop for SQLite: inside BEGIN IMMEDIATE (settings' transaction_mode) this transaction holds the write
    lock from its first statement, so reading the pick and then updating it cannot race another writer."""
    where = _candidate(every_branch=every_branch, by_branch_index=False)
    cursor.execute(f"SELECT p.id, p.customer_id, p.state FROM callbacks_callback p "
                   f"WHERE p.id = {_pick_sql(every_branch=every_branch, locking=False)}", params)
    first = cursor.fetchone()
    if first is None:
        return []
    first_id, customer_id, first_state = first
    cursor.execute(f"SELECT c.id, c.state FROM callbacks_callback c WHERE c.customer_id = %(customer)s "
                   f"AND c.id <> %(first)s AND {where} ORDER BY c.id", {**params, "customer": customer_id,
                                                                        "first": first_id})
    more = cursor.fetchall()
    claimed = [(first_id, first_state, params["reason"]), *((id_, state, params["reason_more"]) for id_, state in more)]
    ids = [row[0] for row in claimed]
    marks = ", ".join(f"%(id{n})s" for n in range(len(ids)))
    cursor.execute(f"UPDATE callbacks_callback SET {_SET} WHERE id IN ({marks})",
                   {**params, **{f"id{n}": id_ for n, id_ in enumerate(ids)}})
    cursor.executemany(f"INSERT INTO callbacks_callbackhistory ({_HISTORY_COLUMNS}) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                       [(id_, params["now"], params["agent"], state, State.IN_PROGRESS.value, reason, params["agent"])
                        for id_, state, reason in claimed])
    return [(first_id, customer_id, 0), *((id_, customer_id, 1) for id_, _ in more)]


def explain_nothing(*, agent: Any, now: dt.datetime | None = None) -> Nothing:
    """Why nothing can be given to `agent` now, from one aggregate over (at most REASON_SAMPLE of) the callbacks
    they could otherwise be given: each is counted under the first rule that blocks it, in REASONS order."""
    now = now or timezone.now()
    every_branch = sees_all_branches(agent)
    params = _params(agent, now)
    columns = "c.customer_id, c.callback_type_id, c.not_before, c.appointment_at, c.appointment_agent_id"
    handable = f"({_handable(columns, every_branch=every_branch)})"
    category = (
        f"CASE WHEN NOT {_NOT_BEFORE} THEN 'cooling_off' "
        f"WHEN NOT {_HOURS} THEN 'calling_hours' "
        "WHEN c.appointment_at IS NOT NULL AND c.appointment_at > %(now)s THEN 'appointment_later' "
        f"WHEN NOT {_APPOINTMENT} THEN 'appointment_other' "
        f"WHEN NOT {_DO_NOT_CALL} THEN 'do_not_call' "
        f"WHEN NOT {_RECUSAL} THEN 'recusal' "
        f"WHEN NOT {_CUSTOMER_FREE.replace('{held_index}', '').replace('{fence}', '')} THEN 'customer_held' "
        "ELSE 'busy' END")
    sql = (f"SELECT k, starts, ends, COUNT(*) FROM (SELECT {category} AS k, t.calling_starts_at AS starts, "
           f"t.calling_ends_at AS ends FROM {handable} c "
           f"JOIN campaigns_callbacktype t ON t.id = c.callback_type_id LIMIT {REASON_SAMPLE}) x "
           "GROUP BY k, starts, ends")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    counts: dict[str, int] = {}
    hours: set[str] = set()
    for code, starts, ends, count in rows:
        counts[code] = counts.get(code, 0) + int(count)
        if code == "calling_hours":
            hours.add(f"{_clock(starts)}–{_clock(ends)}")
    if not counts:
        return Nothing(reason=NOTHING_AT_ALL, counts={})
    shown = "、".join(sorted(hours))
    present = [(code, every, some) for code, every, some in REASONS if counts.get(code)]
    if len(present) == 1:
        code, every, _ = present[0]
        return Nothing(reason=every.format(hours=shown), counts=counts)
    parts = [f"{counts[code]} 条{some.format(hours=shown)}" for code, _, some in present]
    return Nothing(reason="暂无可领取的回访任务：" + "；".join(parts), counts=counts)


def _clock(value: Any) -> str:
    """A time as HH:MM, from either engine (SQLite answers text)."""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)[:5]


RELEASED_REASON = "坐席交回"


@transaction.atomic
def release_callbacks(*, agent: Any, ids: list[int], reason: str = "") -> list[int]:
    """Hand back callbacks `agent` holds (in_progress under them): each returns to the state it was taken from,
    assigned to the agent, or new (the pool, no agent); held_at is cleared. Ids the agent does not hold are
    ignored. Answers the released ids. Side effects: the callbacks and their history rows."""
    held = list(Callback.objects.select_for_update().filter(pk__in=ids, state=State.IN_PROGRESS, agent=agent)
                .order_by("pk"))
    if not held:
        return []
    taken_from = dict(CallbackHistory.objects.filter(callback__in=held, to_state=State.IN_PROGRESS)
                      .order_by("callback_id", "at", "id").values_list("callback_id", "from_state"))
    now = timezone.now()
    for callback in held:
        back = State.ASSIGNED if taken_from.get(callback.pk) == State.ASSIGNED else State.NEW
        callback.state = back
        callback.agent = agent if back == State.ASSIGNED else None
        callback.held_at = None
        callback.updated_at = now
    Callback.objects.bulk_update(held, ["state", "agent", "held_at", "updated_at"])
    CallbackHistory.objects.bulk_create([
        CallbackHistory(callback=callback, at=now, by=agent, from_state=State.IN_PROGRESS, to_state=callback.state,
                        reason=(reason or RELEASED_REASON)[:300], agent_id=callback.agent_id)
        for callback in held])
    return [callback.pk for callback in held]
