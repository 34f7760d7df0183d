"""Benchmark of "next" (`huifang.callbacks.queue.take_next_callback`) with 1, 8 and 32 concurrent agents against
the raw SKIP LOCKED pop on the same tables, in the same run. Goal: ratio <= 2 at 32 agents.

Used through bench/harness.py (`huifang bench --only next_callback`). Per engine:

1. setup (untimed, subprocess with Django): 4 branches with 8 agents each, N customers and N callbacks (one per
   customer; a fifth of the customers get a second one, of another type, so "all of the customer" has work),
   written set-based (INSERT … SELECT over a counter); half in the pool (new), half assigned to an agent of the
   branch; priorities and due dates spread. ANALYZE / wal_checkpoint. The pop's plan (EXPLAIN) is recorded:
   `plan_uses_index` says whether the partial index callback_pop_branch_idx serves it. The database is then
   copied, so both sides start from the same rows.
2. ours (timed): per level K in (1, 8, 32), K processes (each its own connection, Django set up before the
   start barrier), each calling take_next_callback(agent=its agent) POPS/K times; every pop's latency.
3. baseline (timed): the same on the copy with the plain driver (psycopg / sqlite3), no Django: one statement
   per pop, `UPDATE … WHERE id = (SELECT id … ORDER BY priority DESC, due_date, id FOR UPDATE SKIP LOCKED
   LIMIT 1) RETURNING id` in autocommit on PostgreSQL, the same UPDATE … RETURNING between BEGIN IMMEDIATE and
   COMMIT on SQLite (no SKIP LOCKED there).
4. check: no callback handed out twice on either side, at any level (RuntimeError otherwise).

The line: seconds / baseline_seconds are the wall times of the 32-agent level (the same number of pops on both
sides), so ratio is ours / raw at 32 agents; `levels` has pops/s and p99 (ms) of every level on both sides.

    .venv/bin/python bench/next_callback.py --rows 20000 --engine postgresql   # one engine, outside the harness
"""

import argparse
import datetime as dt
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import callback_rules  # a sibling module, found through the line above
import demo_data

RESULT_MARK = "BENCH-RESULT "
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a Monday, 10:00: within every type's calling hours
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)
BRANCHES = 4
AGENTS_PER_BRANCH = 8
LEVELS = (1, 8, 32)
#: pops per level at each size (the same on both sides)
POPS = {20_000: 1_600, 1_000_000: 4_800}


def _pops(rows: int) -> int:
    return POPS.get(rows, max(320, min(4_800, rows // 10)))


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


# --- setup -----------------------------------------------------------------------------------------------------

def worker_setup(rows: int) -> dict[str, Any]:
    _setup_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from huifang.callbacks.queue import _candidate, _params
    from huifang.campaigns.models import CallbackType
    from huifang.org.choices import Role
    from huifang.org.models import Branch, User
    from huifang.org.services import create_user

    postgresql = connection.vendor == "postgresql"
    with transaction.atomic():
        branches = [Branch.objects.create(code=f"B{n:03d}", name=f"基准营业部{n}") for n in range(BRANCHES)]
        agents = []
        for branch in branches:
            for n in range(AGENTS_PER_BRANCH):
                agents.append(create_user(username=f"bench_{branch.code}_{n}", password="bench-password-1234",
                                          name=f"坐席{branch.code}{n}", branch=branch, roles=[Role.AGENT],
                                          agent_no=f"{branch.code}{n:02d}"))
        types = list(CallbackType.objects.filter(category="service").order_by("id").values_list("id", flat=True)[:2])
        stamp = connection.ops.adapt_datetimefield_value(timezone.now())
        b0 = branches[0].pk
        a0 = min(agent.pk for agent in agents)
        counter = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
        with connection.cursor() as cursor:
            cursor.execute(
                counter + "INSERT INTO customers_customer (customer_no, name, branch_id, manager_id, tier, status, "
                "risk_rating, assets, email, id_type, id_no_encrypted, id_no_masked, id_no_hash, products, tags, "
                "attributes, created_at, updated_at) "
                f"SELECT 'C' || CAST(i AS text), '客户', {b0} + i %% {BRANCHES}, NULL, 'regular', 'normal', '', 0, "
                "'', '', '', '', '', '[]', '[]', '{}', %s, %s FROM n", [rows, stamp, stamp])
            # one callback per customer; a fifth get a second one of another type
            for type_id, every in ((types[0], 1), (types[1], 5)):
                cursor.execute(
                    "INSERT INTO callbacks_callback (customer_id, callback_type_id, period_key, origin, branch_id, "
                    "state, priority, due_date, agent_id, attempts, result, reason, created_at, updated_at) "
                    f"SELECT c.id, {type_id}, 'bench', 'rule', c.branch_id, "
                    "CASE WHEN c.id %% 2 = 0 THEN 'new' ELSE 'assigned' END, (c.id * 7919) %% 100, "
                    f"{'DATE' if postgresql else ''} '2026-06-16' + "
                    + ("CAST((c.id * 31) %% 60 AS integer)" if postgresql else "0") + ", "
                    f"CASE WHEN c.id %% 2 = 0 THEN NULL ELSE {a0} + (c.branch_id - {b0}) * {AGENTS_PER_BRANCH} "
                    f"+ (c.id / 2) %% {AGENTS_PER_BRANCH} END, 0, '', '', %s, %s "
                    f"FROM customers_customer c WHERE c.id %% {every} = 0", [stamp, stamp])
            if not postgresql:  # SQLite dates are text: spread them the same way
                cursor.execute("UPDATE callbacks_callback SET due_date = date('2026-06-16', '+' || "
                               "((customer_id * 31) % 60) || ' days')")
    ids = sorted(agent.pk for agent in agents)
    expected = [a0 + n for n in range(len(ids))]
    if ids != expected:
        raise RuntimeError(f"agents' ids are not consecutive: {ids}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if postgresql else "PRAGMA wal_checkpoint(TRUNCATE)")
        agent = User.objects.select_related("branch").get(pk=ids[0])
        sql = (f"SELECT c.id FROM callbacks_callback c WHERE {_candidate(every_branch=False)} "
               "ORDER BY c.priority DESC, c.due_date, c.id LIMIT 1")
        cursor.execute(("EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN ") + sql, _params(agent, NOW))
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SELECT COUNT(*) FROM callbacks_callback")
        callbacks = cursor.fetchone()[0]
    from django.conf import settings

    return {"agents": [(agent.pk, agent.branch_id) for agent in User.objects.filter(pk__in=ids).order_by("pk")],
            "callbacks": callbacks, "plan": plan, "plan_uses_index": "callback_pop_branch_idx" in plan,
            "init_command": str(settings.DATABASES["default"].get("OPTIONS", {}).get("init_command", ""))}


# --- the pool of agents -----------------------------------------------------------------------------------------

def _order(agents: list[list[int]], k: int) -> list[list[int]]:
    """k agents spread over the branches (round robin)."""
    by_branch: dict[int, list[list[int]]] = {}
    for agent in agents:
        by_branch.setdefault(agent[1], []).append(agent)
    spread = [group[n] for n in range(AGENTS_PER_BRANCH) for group in by_branch.values() if n < len(group)]
    return spread[:k]


def _agent_ours(agent: list[int], pops: int, barrier: Any, out: Any) -> None:
    _setup_django()
    from django.db import connection

    from huifang.callbacks.queue import Taken, take_next_callback
    from huifang.org.models import User

    user = User.objects.select_related("branch").get(pk=agent[0])
    connection.ensure_connection()
    got: list[int] = []
    latencies: list[float] = []
    barrier.wait()
    started = time.time()
    for _ in range(pops):
        begun = time.perf_counter()
        result = take_next_callback(agent=user, now=NOW)
        latencies.append(time.perf_counter() - begun)
        if isinstance(result, Taken):
            got.extend(result.callback_ids)
    out.put({"started": started, "ended": time.time(), "ids": got, "latencies": latencies})


RAW_PG = ("UPDATE callbacks_callback SET state = 'in_progress', agent_id = %(agent)s, held_at = %(now)s, "
          "updated_at = %(now)s WHERE id = (SELECT id FROM callbacks_callback WHERE state IN ('new', 'assigned') "
          "AND (state = 'new' OR agent_id = %(agent)s) AND branch_id = %(branch)s "
          "AND (not_before IS NULL OR not_before <= %(now)s) ORDER BY priority DESC, due_date, id "
          "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id")
RAW_SQLITE = RAW_PG.replace(" FOR UPDATE SKIP LOCKED", "").replace("%(agent)s", ":agent").replace(
    "%(now)s", ":now").replace("%(branch)s", ":branch")


def _agent_raw(agent: list[int], pops: int, barrier: Any, out: Any, env: dict[str, str], init: str) -> None:
    url = env.get("DATABASE_URL", "")
    postgresql = url.startswith("postgres")
    if postgresql:
        import psycopg

        db: Any = psycopg.connect(url, autocommit=True)
        params: dict[str, Any] = {"agent": agent[0], "branch": agent[1], "now": NOW}
    else:
        db = sqlite3.connect(str(Path(env["HUIFANG_VAR_DIR"]) / "huifang.sqlite3"), isolation_level=None, timeout=20)
        db.execute("PRAGMA foreign_keys = ON")
        for statement in init.split(";"):
            if statement.strip():
                db.execute(statement)
        params = {"agent": agent[0], "branch": agent[1],
                  "now": NOW.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")}
    got: list[int] = []
    latencies: list[float] = []
    barrier.wait()
    started = time.time()
    for _ in range(pops):
        begun = time.perf_counter()
        if postgresql:
            row = db.execute(RAW_PG, params).fetchone()
        else:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(RAW_SQLITE, params).fetchone()
            db.execute("COMMIT")
        latencies.append(time.perf_counter() - begun)
        if row:
            got.append(int(row[0]))
    db.close()
    out.put({"started": started, "ended": time.time(), "ids": got, "latencies": latencies})


def worker_pool(side: str, k: int, pops: int, agents: list[list[int]], init: str) -> dict[str, Any]:
    """k agent processes (forked before Django is set up: each makes its own connection)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(k)
    out = context.Queue()
    chosen = _order(agents, k)
    each = pops // k
    processes = []
    for agent in chosen:
        args: tuple[Any, ...] = (agent, each, barrier, out)
        target = _agent_ours if side == "ours" else _agent_raw
        if side != "ours":
            args = (*args, dict(os.environ), init)
        processes.append(context.Process(target=target, args=args))
    for process in processes:
        process.start()
    results = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"an agent process failed ({process.exitcode})")
    ids = [pk for result in results for pk in result["ids"]]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"{side}, {k} agents: a callback was handed out twice")
    latencies = sorted(lat for result in results for lat in result["latencies"])
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    return {"seconds": wall, "pops": len(latencies), "handed": len(ids),
            "pops_per_second": round(len(latencies) / wall, 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2)}


def run_pool(env: dict[str, str], side: str, k: int, pops: int, setup: dict[str, Any]) -> dict[str, Any]:
    payload = json.dumps({"side": side, "k": k, "pops": pops, "agents": setup["agents"],
                          "init": setup["init_command"]})
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "pool", "--payload", payload]
    done = subprocess.run(command, env=env, cwd=demo_data.ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"pool {side}/{k} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return result


def run_setup(env: dict[str, str], rows: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "setup", "--rows", str(rows)]
    done = subprocess.run(command, env=env, cwd=demo_data.ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"setup failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return result


def measure(fresh: demo_data.FreshDatabase, rows: int) -> dict[str, Any]:
    pops = _pops(rows)
    levels: dict[str, dict[str, Any]] = {}
    with fresh() as env:
        setup = run_setup(env, rows)
        with callback_rules._copy_of(env) as other:
            for k in LEVELS:
                ours = run_pool(env, "ours", k, pops, setup)
                raw = run_pool(other, "raw", k, pops, setup)
                levels[str(k)] = {"ours": ours, "raw": raw,
                                  "ratio": round(ours["seconds"] / raw["seconds"], 2)}
    top = levels[str(LEVELS[-1])]
    return {"rows": rows, "callbacks": setup["callbacks"], "pops_per_level": pops,
            "seconds": round(top["ours"]["seconds"], 3), "baseline_seconds": round(top["raw"]["seconds"], 3),
            "plan_uses_index": setup["plan_uses_index"],
            "levels": {k: {"ours_pops_per_second": v["ours"]["pops_per_second"], "ours_p99_ms": v["ours"]["p99_ms"],
                           "raw_pops_per_second": v["raw"]["pops_per_second"], "raw_p99_ms": v["raw"]["p99_ms"],
                           "ours_handed": v["ours"]["handed"], "ratio": v["ratio"]} for k, v in levels.items()}}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--worker", choices=["setup", "pool"], help=argparse.SUPPRESS)
    parser.add_argument("--payload", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "setup":
        print(RESULT_MARK + json.dumps(worker_setup(args.rows), ensure_ascii=False), flush=True)
        return
    if args.worker == "pool":
        payload = json.loads(args.payload)
        result = worker_pool(payload["side"], payload["k"], payload["pops"], payload["agents"], payload["init"])
        print(RESULT_MARK + json.dumps(result), flush=True)
        return
    import harness

    harness.main(["--only", "next_callback", "--engine", args.engine])


if __name__ == "__main__":
    main()
