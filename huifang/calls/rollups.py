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
from django.db.models import QuerySet, Sum
from django.utils import timezone

from huifang.callbacks.models import Callback
from huifang.calls.choices import CallState
from huifang.calls.models import Call, CallCallback, CallStat, OutcomeCode, OutcomeStat

#: the outcome code that counts as a success (成功回访)
SUCCESS = "success"

OUTCOME_KEYS = {"day": "day", "branch": "branch_id", "agent": "agent_id", "callback_type": "callback_type_id",
                "outcome": "outcome_id"}
OUTCOME_SUMS = ("attempts", "connected", "successes")
CALL_KEYS = {"day": "day", "branch": "branch_id", "agent": "agent_id"}
CALL_SUMS = ("calls", "answered", "talk_seconds", "handle_seconds")


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _upsert(model: Any, keys: dict[str, Any], sums: dict[str, int]) -> None:
    table = _table(model)
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


def _fixed_offset(zone: Any, years: range) -> int | None:
    """The zone's UTC offset in seconds if it is the same all through `years` (Asia/Shanghai: +28800, no daylight
    saving since 1991), else None."""
    offsets = {dt.datetime(year, month, 15, 12, tzinfo=zone).utcoffset() for year in years for month in (1, 4, 7, 10)}
    if len(offsets) != 1:
        return None
    offset = next(iter(offsets))
    return int(offset.total_seconds()) if offset is not None else None


def _local_day_sql(column: str, start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    """SQL for the local date of the timestamp `column`: the day timezone.localdate() gives in Python.
    PostgreSQL: AT TIME ZONE. SQLite: date() shifted by the zone's offset when it is fixed over the years in
    question (TruncDate's Python function per row costs seconds per million rows), else that very function."""
    zone = timezone.get_current_timezone()
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE %s)::date", [str(zone)]
    years = range((start or dt.date(1992, 1, 1)).year, (end or timezone.localdate() + dt.timedelta(days=366)).year + 1)
    offset = _fixed_offset(zone, years)
    if connection.vendor == "sqlite" and offset is not None:
        return f"date({column}, '{offset:+d} seconds')", []
    if connection.vendor == "sqlite":
        return f"django_datetime_cast_date({column}, %s, 'UTC')", [str(zone)]
    raise NotImplementedError(f"roll-ups support SQLite and PostgreSQL, not {connection.vendor}")


def _handle_seconds_sql(dialed: str, ended: str) -> str:
    """SQL for _handle_seconds: whole seconds from dialing to the end, truncated like int(total_seconds())."""
    if connection.vendor == "postgresql":
        return f"GREATEST(0, FLOOR(EXTRACT(EPOCH FROM ({ended} - {dialed}))))"

    # SQLite keeps 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC): whole seconds by strftime ('%%' since the SQL has
    # parameters), microseconds from the text, so the difference is exact (julianday's floating point is not)
    def micros(column: str) -> str:
        return (f"(CAST(strftime('%%s', {column}) AS INTEGER) * 1000000 + CASE WHEN length({column}) > 20 "
                f"THEN CAST(substr(substr({column}, 21) || '000000', 1, 6) AS INTEGER) ELSE 0 END)")

    return f"MAX(0, ({micros(ended)} - {micros(dialed)}) / 1000000)"


def _range_sql(column: str, start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    low, high = _bounds(start, end)
    sql, params = "", []
    for operator, bound in ((">=", low), ("<", high)):
        if bound is not None:
            sql += f" AND {column} {operator} %s"
            params.append(connection.ops.adapt_datetimefield_value(bound))
    return sql, params


def _outcome_select(start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    day, day_params = _local_day_sql("cc.registered_at", start, end)
    where, where_params = _range_sql("cc.registered_at", start, end)
    sql = (f"SELECT {day}, c.branch_id, c.agent_id, cb.callback_type_id, cc.outcome_id, COUNT(*), "
           "SUM(CASE WHEN o.connected THEN 1 ELSE 0 END), SUM(CASE WHEN o.code = %s THEN 1 ELSE 0 END) "
           f"FROM {_table(CallCallback)} cc JOIN {_table(Call)} c ON c.id = cc.call_id "
           f"JOIN {_table(Callback)} cb ON cb.id = cc.callback_id JOIN {_table(OutcomeCode)} o ON o.id = cc.outcome_id "
           f"WHERE cc.outcome_id IS NOT NULL AND cc.registered_at IS NOT NULL{where} "
           "GROUP BY 1, 2, 3, 4, 5")
    return sql, [*day_params, SUCCESS, *where_params]


def _call_select(start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    day, day_params = _local_day_sql("c.dialed_at", start, end)
    where, where_params = _range_sql("c.dialed_at", start, end)
    sql = (f"SELECT {day}, c.branch_id, c.agent_id, COUNT(*), "
           "SUM(CASE WHEN c.answered_at IS NOT NULL THEN 1 ELSE 0 END), SUM(c.duration_seconds), "
           f"SUM({_handle_seconds_sql('c.dialed_at', 'c.ended_at')}) "
           f"FROM {_table(Call)} c WHERE c.state = %s AND c.ended_at IS NOT NULL{where} GROUP BY 1, 2, 3")
    return sql, [*day_params, CallState.ENDED.value, *where_params]


def _fetch(select: tuple[str, list[Any]], keys: Sequence[str], sums: Sequence[str]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(*select)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        day = row[0] if isinstance(row[0], dt.date) else dt.date.fromisoformat(row[0])
        found.append({"day": day, **dict(zip(keys[1:], row[1:len(keys)], strict=True)),
                      **{name: int(value) for name, value in zip(sums, row[len(keys):], strict=True)}})
    return found


def raw_outcome_rows(start: dt.date | None = None, end: dt.date | None = None) -> list[dict[str, Any]]:
    """OutcomeStat's rows as the raw outcomes give them: one GROUP BY over the registered CallCallback rows."""
    return _fetch(_outcome_select(start, end), list(OUTCOME_KEYS.values()), OUTCOME_SUMS)


def raw_call_rows(start: dt.date | None = None, end: dt.date | None = None) -> list[dict[str, Any]]:
    """CallStat's rows as the raw calls give them (ended calls only): one GROUP BY over the calls."""
    return _fetch(_call_select(start, end), list(CALL_KEYS.values()), CALL_SUMS)


def _in_range(queryset: QuerySet[Any], start: dt.date | None, end: dt.date | None) -> QuerySet[Any]:
    if start:
        queryset = queryset.filter(day__gte=start)
    if end:
        queryset = queryset.filter(day__lte=end)
    return queryset


@transaction.atomic
def rebuild(start: dt.date | None = None, end: dt.date | None = None) -> dict[str, int]:
    """Replace the roll-ups of the days [start, end] (every day when not given) by what the raw rows give, set-based:
    one DELETE and one INSERT … SELECT … GROUP BY per roll-up, in one transaction. Returns how many rows each
    roll-up now has in that range."""
    counts = {}
    for name, model, select, keys, sums in (
        ("outcomes", OutcomeStat, _outcome_select(start, end), OUTCOME_KEYS, OUTCOME_SUMS),
        ("calls", CallStat, _call_select(start, end), CALL_KEYS, CALL_SUMS),
    ):
        _in_range(model.objects.all(), start, end).delete()
        columns = ", ".join([*keys.values(), *sums])
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {_table(model)} ({columns}) {select[0]}", select[1])
            counts[name] = max(cursor.rowcount, 0)
    return counts


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
