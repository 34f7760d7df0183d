"""The roll-ups reports read (OutcomeStat, CallStat): counted up in the transaction that registers an outcome or
ends a call, so a report for any period sums a few thousand rows instead of the calls; rebuilt from the raw
rows (CallCallback, Call) by `huifang rollups rebuild`, which must give the very same rows (`huifang rollups
check` proves it).

The day of an outcome is the local date (settings.TIME_ZONE, Asia/Shanghai) of CallCallback.registered_at; the
day of a call is the local date of Call.dialed_at. Branch and agent are the call's."""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from huifang.calls.choices import CallState
from huifang.calls.models import Call, CallCallback, CallStat, OutcomeStat

#: the outcome code that counts as a success (成功回访)
SUCCESS = "success"

OUTCOME_KEYS = {"day": "day", "branch": "branch_id", "agent": "agent_id", "callback_type": "callback_type_id",
                "outcome": "outcome_id"}
OUTCOME_SUMS = ("attempts", "connected", "successes")
CALL_KEYS = {"day": "day", "branch": "branch_id", "agent": "agent_id"}
CALL_SUMS = ("calls", "answered", "talk_seconds", "handle_seconds")


def _upsert(model: Any, keys: dict[str, Any], sums: dict[str, int]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [*keys, *sums]
    conflict = ", ".join(keys)
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in sums)
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*keys.values(), *sums.values()])


def count_outcome(link: CallCallback) -> None:
    """Count the outcome just registered on `link` (its call, callback and outcome loaded or loadable). Runs in
    the registering transaction: the outcome and its count commit together or not at all."""
    outcome = link.outcome
    if outcome is None or link.registered_at is None:
        return
    call = link.call
    _upsert(OutcomeStat, {
        "day": timezone.localdate(link.registered_at), "branch_id": call.branch_id, "agent_id": call.agent_id,
        "callback_type_id": link.callback.callback_type_id, "outcome_id": outcome.pk,
    }, {"attempts": 1, "connected": int(outcome.connected), "successes": int(outcome.code == SUCCESS)})


def count_call(call: Call) -> None:
    """Count `call`, which has just ended (its move to ENDED: callers count each call once)."""
    if call.ended_at is None:
        return
    _upsert(CallStat, {
        "day": timezone.localdate(call.dialed_at), "branch_id": call.branch_id, "agent_id": call.agent_id,
    }, {"calls": 1, "answered": int(call.answered_at is not None), "talk_seconds": call.duration_seconds,
        "handle_seconds": _handle_seconds(call.dialed_at, call.ended_at)})


def _handle_seconds(dialed_at: dt.datetime, ended_at: dt.datetime) -> int:
    return max(0, int((ended_at - dialed_at).total_seconds()))


def _bounds(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    zone = timezone.get_current_timezone()
    low = dt.datetime.combine(start, dt.time(), tzinfo=zone) if start else None
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone) if end else None
    return low, high


def raw_outcome_rows(start: dt.date | None = None, end: dt.date | None = None) -> list[dict[str, Any]]:
    """OutcomeStat's rows as the raw outcomes give them: one GROUP BY over the registered CallCallback rows."""
    low, high = _bounds(start, end)
    links = CallCallback.objects.filter(outcome__isnull=False, registered_at__isnull=False)
    if low:
        links = links.filter(registered_at__gte=low)
    if high:
        links = links.filter(registered_at__lt=high)
    rows = (links.annotate(day=TruncDate("registered_at", tzinfo=timezone.get_current_timezone()))
            .values("day", "call__branch_id", "call__agent_id", "callback__callback_type_id", "outcome_id")
            .annotate(attempts=Count("id"), connected=Count("id", filter=Q(outcome__connected=True)),
                      successes=Count("id", filter=Q(outcome__code=SUCCESS)))
            .order_by())
    return [{"day": row["day"], "branch_id": row["call__branch_id"], "agent_id": row["call__agent_id"],
             "callback_type_id": row["callback__callback_type_id"], "outcome_id": row["outcome_id"],
             **{name: row[name] for name in OUTCOME_SUMS}} for row in rows]


def raw_call_rows(start: dt.date | None = None, end: dt.date | None = None) -> list[dict[str, Any]]:
    """CallStat's rows as the raw calls give them (ended calls only). Handle seconds are summed per call in
    Python over (dialed_at, ended_at), the one expression both engines would compute differently in SQL."""
    low, high = _bounds(start, end)
    calls = Call.objects.filter(state=CallState.ENDED, ended_at__isnull=False)
    if low:
        calls = calls.filter(dialed_at__gte=low)
    if high:
        calls = calls.filter(dialed_at__lt=high)
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for dialed_at, ended_at, answered_at, duration, branch_id, agent_id in calls.values_list(
            "dialed_at", "ended_at", "answered_at", "duration_seconds", "branch_id", "agent_id").iterator(2000):
        key = (timezone.localdate(dialed_at), branch_id, agent_id)
        row = grouped.setdefault(key, {"day": key[0], "branch_id": branch_id, "agent_id": agent_id,
                                       "calls": 0, "answered": 0, "talk_seconds": 0, "handle_seconds": 0})
        row["calls"] += 1
        row["answered"] += int(answered_at is not None)
        row["talk_seconds"] += duration
        row["handle_seconds"] += _handle_seconds(dialed_at, ended_at)
    return list(grouped.values())


def _in_range(queryset: QuerySet[Any], start: dt.date | None, end: dt.date | None) -> QuerySet[Any]:
    if start:
        queryset = queryset.filter(day__gte=start)
    if end:
        queryset = queryset.filter(day__lte=end)
    return queryset


@transaction.atomic
def rebuild(start: dt.date | None = None, end: dt.date | None = None) -> dict[str, int]:
    """Replace the roll-ups of the days [start, end] (every day when not given) by what the raw rows give.
    Returns how many rows each roll-up now has in that range."""
    outcome_rows = raw_outcome_rows(start, end)
    call_rows = raw_call_rows(start, end)
    _in_range(OutcomeStat.objects.all(), start, end).delete()
    _in_range(CallStat.objects.all(), start, end).delete()
    OutcomeStat.objects.bulk_create([OutcomeStat(**row) for row in outcome_rows], batch_size=2000)
    CallStat.objects.bulk_create([CallStat(**row) for row in call_rows], batch_size=2000)
    return {"outcomes": len(outcome_rows), "calls": len(call_rows)}


def _keyed(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[k] for k in keys): row for row in rows}


def differences(start: dt.date | None = None, end: dt.date | None = None, *, limit: int = 20) -> list[str]:
    """Where the stored roll-ups differ from what the raw rows give, in Chinese (empty: identical)."""
    found: list[str] = []
    for label, model, raw, keys, sums in (
        ("回访登记", OutcomeStat, raw_outcome_rows(start, end), list(OUTCOME_KEYS.values()), OUTCOME_SUMS),
        ("通话", CallStat, raw_call_rows(start, end), list(CALL_KEYS.values()), CALL_SUMS),
    ):
        stored = _keyed(_in_range(model.objects.all(), start, end).values(*keys, *sums), keys)
        computed = _keyed(raw, keys)
        for key in sorted(set(stored) | set(computed), key=str):
            have = {s: stored[key][s] for s in sums} if key in stored else None
            want = {s: computed[key][s] for s in sums} if key in computed else None
            if have != want:
                found.append(f"{label} {key}: 汇总表 {have}，原始记录 {want}")
                if len(found) >= limit:
                    return found
    return found


def _totals(queryset: Any, keymap: dict[str, str], sums: Sequence[str], *, start: dt.date,
            end: dt.date, by: Sequence[str], user: Any, filters: dict[str, Any]) -> list[dict[str, Any]]:
    unknown = [name for name in by if name not in keymap]
    if unknown:
        raise ValueError(f"无法按 {', '.join(unknown)} 汇总（可选：{', '.join(keymap)}）")
    if user is not None:
        queryset = queryset.visible_to(user)
    queryset = queryset.filter(day__gte=start, day__lte=end, **{k: v for k, v in filters.items() if v is not None})
    columns = [keymap[name] for name in by]
    if not columns:
        whole = queryset.aggregate(**{name: Sum(name) for name in sums})
        return [{name: int(whole[name] or 0) for name in sums}]
    rows = queryset.values(*columns).annotate(**{name: Sum(name) for name in sums}).order_by(*columns)
    return [{**row, **{name: int(row[name] or 0) for name in sums}} for row in rows]


def outcome_totals(*, start: dt.date, end: dt.date, by: Sequence[str] = (), user: Any = None,
                   branch_id: int | None = None, callback_type_id: int | None = None,
                   agent_id: int | None = None) -> list[dict[str, Any]]:
    """Attempts, connected and successes over the days [start, end], grouped by `by` (a subset of day, branch,
    agent, callback_type, outcome; each row carries day / branch_id / agent_id / callback_type_id / outcome_id
    for those). With `user`, only the branches that user sees."""
    return _totals(OutcomeStat.objects.all(), OUTCOME_KEYS, OUTCOME_SUMS, start=start, end=end, by=by, user=user,
                   filters={"branch_id": branch_id, "callback_type_id": callback_type_id, "agent_id": agent_id})


def call_totals(*, start: dt.date, end: dt.date, by: Sequence[str] = (), user: Any = None,
                branch_id: int | None = None, agent_id: int | None = None) -> list[dict[str, Any]]:
    """Calls, answered, talk and handle seconds over the days [start, end], grouped by `by` (a subset of day,
    branch, agent)."""
    return _totals(CallStat.objects.all(), CALL_KEYS, CALL_SUMS, start=start, end=end, by=by, user=user,
                   filters={"branch_id": branch_id, "agent_id": agent_id})
