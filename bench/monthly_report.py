"""Benchmark of the monthly report by branch × callback type (issue 7's goal: <= 200 ms on both engines over
10,000,000 call records), against the raw GROUP BY over the call records for the same month in the same run.

Setup (untimed, in a worker process on a fresh migrated database): the demo organisation, 2,000 customers with
one callback of each of 5 types, then N calls over three months (2026-09 … 2026-11) with one registered outcome
each, written set-based in SQL (generate_series on PostgreSQL, a recursive CTE on SQLite); then the roll-ups are
rebuilt from those raw rows (`rollups.rebuild()`, timed and reported apart). Timed, median of 7:

- ours: `huifang.calls.rollups.outcome_totals(start, end, by=("branch", "callback_type"))` for 2026-10, through
  Django: what the report page reads;
- raw: one GROUP BY over call ⋈ call-callback ⋈ callback ⋈ outcome code for the same month (attempts,
  connected, successes per branch and type), with the database cursor.

Both must give the same numbers, or the run fails. Used through bench/harness.py
(`huifang bench --only monthly_report`; `small` 200,000 calls, `full` 10,000,000)."""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import demo_data

RESULT_MARK = "RESULT "
CUSTOMERS = 2_000
TYPES = 5
DAYS = 91
#: the first local day of the generated calls (2026-09-01 00:00 Asia/Shanghai is 2026-08-31 16:00 UTC)
FIRST_UTC = "2026-08-31 16:00:00"
MONTH = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
REPEAT = 7


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _contiguous(ids: list[int], what: str) -> int:
    if not ids or max(ids) - min(ids) + 1 != len(ids):
        raise RuntimeError(f"{what}: ids are not contiguous, the generator needs them so")
    return min(ids)


def _generate(rows: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from huifang.callbacks.models import Callback
    from huifang.calls.models import OutcomeCode
    from huifang.campaigns.models import CallbackType
    from huifang.customers.models import Customer
    from huifang.org.models import User

    with open(os.devnull, "w") as quiet:
        call_command("demo_data", customers=CUSTOMERS, keep_calling_hours=True, no_history=True, stdout=quiet)
    Callback.objects.all().delete()
    customers = list(Customer.objects.order_by("id").values_list("id", "branch_id"))
    types = list(CallbackType.objects.order_by("id").values_list("id", flat=True))[:TYPES]
    now = timezone.now()
    Callback.objects.bulk_create([
        Callback(customer_id=cid, branch_id=bid, callback_type_id=tid, period_key="bench", due_date=MONTH[1],
                 created_at=now, updated_at=now)
        for cid, bid in customers for tid in types], batch_size=5000)
    callback_min = _contiguous(list(Callback.objects.values_list("id", flat=True)), "callbacks")
    user_min = _contiguous(list(User.objects.values_list("id", flat=True)), "users")
    users = User.objects.count()
    outcome_min = _contiguous(list(OutcomeCode.objects.values_list("id", flat=True)), "outcome codes")
    outcomes = OutcomeCode.objects.count()
    callbacks = len(customers) * len(types)
    postgresql = connection.vendor == "postgresql"
    # call g: callback (g mod callbacks), its customer and branch; agent (g mod users); dialed on day (g mod 91)
    if postgresql:
        series = f"SELECT g FROM generate_series(1, {rows}) AS g"
        dialed = f"TIMESTAMPTZ '{FIRST_UTC}+00' + (g % {DAYS}) * INTERVAL '1 day' + (g % 50000) * INTERVAL '1 second'"
        plus_minute = "c.dialed_at + INTERVAL '60 seconds'"
        ended = "dialed_at + INTERVAL '90 seconds'"
    else:
        series = (f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) "
                  "SELECT g FROM s")
        dialed = f"datetime('{FIRST_UTC}', '+' || (g % {DAYS}) || ' days', '+' || (g % 50000) || ' seconds')"
        plus_minute = "datetime(c.dialed_at, '+60 seconds')"
        ended = "datetime(dialed_at, '+90 seconds')"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO calls_call (serial, agent_id, customer_id, phone_masked, branch_id, state, dialed_at, "
            "answered_at, ended_at, duration_seconds, exchange_call_id, end_cause, error) "
            f"SELECT 'B' || g, {user_min} + g % {users}, cb.customer_id, '138****0000', cb.branch_id, 'ended', "
            f"{dialed}, NULL, NULL, 30, '', 'normal', '' "
            f"FROM ({series}) AS n JOIN callbacks_callback cb ON cb.id = {callback_min} + n.g % {callbacks}")
        cursor.execute(f"UPDATE calls_call SET answered_at = dialed_at, ended_at = {ended}")
        cursor.execute(
            "INSERT INTO calls_callcallback (call_id, callback_id, outcome_id, registered_at, registered_by_id, "
            "note) "
            f"SELECT c.id, {callback_min} + CAST(SUBSTR(c.serial, 2) AS INTEGER) % {callbacks}, "
            f"{outcome_min} + c.id % {outcomes}, {plus_minute}, c.agent_id, '' FROM calls_call c")
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _raw(cursor: Any, start: Any, end: Any) -> list[tuple[int, int, int, int, int]]:
    cursor.execute(
        "SELECT c.branch_id, cb.callback_type_id, COUNT(*), "
        "SUM(CASE WHEN o.connected THEN 1 ELSE 0 END), SUM(CASE WHEN o.code = 'success' THEN 1 ELSE 0 END) "
        "FROM calls_callcallback cc JOIN calls_call c ON c.id = cc.call_id "
        "JOIN callbacks_callback cb ON cb.id = cc.callback_id JOIN calls_outcomecode o ON o.id = cc.outcome_id "
        "WHERE cc.registered_at >= %s AND cc.registered_at < %s GROUP BY c.branch_id, cb.callback_type_id "
        "ORDER BY c.branch_id, cb.callback_type_id", [start, end])
    return [tuple(int(v) for v in row) for row in cursor.fetchall()]  # type: ignore[misc]


def worker(rows: int) -> dict[str, Any]:
    _setup_django()
    from django.db import connection
    from django.utils import timezone

    from huifang.calls import rollups

    started = time.perf_counter()
    _generate(rows)
    generate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rollups.rebuild()
    rebuild_seconds = time.perf_counter() - started
    zone = timezone.get_current_timezone()
    # as the database stores them (SQLite: UTC text; the sqlite3 module would send the local offset instead)
    low = connection.ops.adapt_datetimefield_value(dt.datetime.combine(MONTH[0], dt.time(), tzinfo=zone))
    high = connection.ops.adapt_datetimefield_value(
        dt.datetime.combine(MONTH[1] + dt.timedelta(days=1), dt.time(), tzinfo=zone))
    ours_times, raw_times = [], []
    ours: list[tuple[int, int, int, int, int]] = []
    raw: list[tuple[int, int, int, int, int]] = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        totals = rollups.outcome_totals(start=MONTH[0], end=MONTH[1], by=("branch", "callback_type"))
        ours_times.append(time.perf_counter() - started)
        ours = [(r["branch_id"], r["callback_type_id"], r["attempts"], r["connected"], r["successes"])
                for r in totals]
        with connection.cursor() as cursor:
            started = time.perf_counter()
            raw = _raw(cursor, low, high)
            raw_times.append(time.perf_counter() - started)
    if ours != raw:
        raise RuntimeError(f"the roll-up and the raw GROUP BY differ:\n{ours[:5]}\n{raw[:5]}")
    month_calls = sum(row[2] for row in raw)
    return {"ours": statistics.median(ours_times), "raw": statistics.median(raw_times),
            "generate_seconds": round(generate_seconds, 1), "rebuild_seconds": round(rebuild_seconds, 1),
            "month_records": month_calls, "groups": len(raw)}


def measure(fresh: demo_data.FreshDatabase, rows: int) -> dict[str, Any]:
    with fresh() as env:
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--rows", str(rows)]
        done = subprocess.run(command, env=env, cwd=demo_data.ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"monthly_report worker failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return {"rows": rows, "seconds": round(result["ours"], 4), "baseline_seconds": round(result["raw"], 4),
            "ours_ms": round(result["ours"] * 1000, 1), "raw_ms": round(result["raw"] * 1000, 1),
            "goal_ms": 200, "goal_met": result["ours"] <= 0.2,
            **{k: result[k] for k in ("generate_seconds", "rebuild_seconds", "month_records", "groups")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(RESULT_MARK + json.dumps(worker(args.rows)), flush=True)
        return
    raise SystemExit("run it through the harness: bench/harness.py --only monthly_report")


if __name__ == "__main__":
    main()
