"""Benchmark of the callback generation (`services.run_rules`: the default rules of the 10 automatic callback
types, one INSERT … SELECT each plus its history rows and a count per branch) against hand-written
INSERT … SELECT statements doing the same work on the same tables, in the same run. Goal: ratio <= 1.5.

Used through bench/harness.py (`huifang bench --only callback_rules`). Per engine:

1. setup (untimed, subprocess with Django): a fresh database, the demo organisation (build_demo(customers=0)),
   then N customers and N events (deterministic seed) written with RowWriter (executemany / COPY), ANALYZE.
   The plan the baseline needs (type and rule ids, questionnaire versions, and per rule the due date, period
   key, expiry and not-before of every trigger day, from huifang.campaigns.rules and the calendar) is
   printed as JSON. The database is then copied (SQLite: the file; PostgreSQL: CREATE DATABASE … TEMPLATE),
   so both sides start from the same tables with zero callbacks.
2. ours (timed): on one copy, `huifang rules run --as-of DATE --json` end to end if that command exists,
   otherwise a worker subprocess that sets Django up (untimed) and times `services.run_rules(as_of=DATE)`.
3. baseline (timed): on the other copy, with the plain driver (sqlite3 / psycopg), no Django: a RuleRun row,
   then per rule in its own transaction one INSERT INTO callbacks_callback … SELECT … ON CONFLICT DO NOTHING,
   the INSERT … SELECT of its history rows and the count per branch, then the run's row updated.
4. check: the callbacks per type (and a fingerprint of their customers, events, branches, dates) must be the
   same on both sides, otherwise RuntimeError: a benchmark doing different work is worthless.

    .venv/bin/python bench/callback_rules.py --rows 20000 --engine sqlite   # one engine, outside the harness
"""

import argparse
import bisect
import datetime as dt
import itertools
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_data  # a sibling module, found through the line above

#: a Monday and a trading day; every deadline of the window stays in 2026, which the calendar covers
AS_OF = dt.date(2026, 6, 15)
SEED = 20260615
RESULT_MARK = "BENCH-RESULT "
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHUNK = 50_000

STATUSES = [("normal", 93), ("dormant", 4), ("closed", 2), ("designation_withdrawn", 1)]
#: event types other than the status changes (those go one per closed / withdrawn customer), with weights
EVENT_MIX = [
    ("login", 30), ("transfer_out", 25), ("product_purchased", 8), ("info_changed", 5),
    ("manager_changed", 3), ("risk_flagged", 1), ("private_fund_signed", 1), ("rights_issue", 1),
    ("contract_expiring", 1), ("points_expiring", 1), ("permission_opened", 10), ("birthday", 5),
]
#: days back from AS_OF of the rules' windows (an event type's window, the rest spread over a year)
WINDOW = {"login": 30, "transfer_out": 1, "product_purchased": (AS_OF - dt.date(2026, 4, 1)).days,
          "info_changed": 7, "manager_changed": 7, "risk_flagged": 7, "private_fund_signed": 7,
          "rights_issue": 7, "contract_expiring": 7, "points_expiring": 7, "account_closed": 7,
          "designation_withdrawn": 7, "permission_opened": 30, "birthday": 30}
IN_WINDOW = 0.7


# --- data ------------------------------------------------------------------------------------------------------

def _utc(moment: dt.datetime, postgresql: bool) -> str:
    text = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return text + "+00:00" if postgresql else text


def generate(rows: int, branches: list[int], managers: dict[int, list[int]], postgresql: bool,
             first_id: int = 1) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(customers, events) chunks: `rows` customers and exactly `rows` events, the same for the same arguments."""
    rng = random.Random(SEED)
    now = _utc(dt.datetime(2026, 6, 15, 18, 0, tzinfo=SHANGHAI), postgresql)
    status_names = [name for name, _ in STATUSES]
    status_cum = list(itertools.accumulate(weight for _, weight in STATUSES))
    event_names = [name for name, _ in EVENT_MIX]
    event_cum = list(itertools.accumulate(weight for _, weight in EVENT_MIX))
    shared_ips = [f"58.{rng.randint(32, 63)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                  for _ in range(max(3, rows // 500))]
    day0 = dt.datetime.combine(AS_OF, dt.time(), SHANGHAI)
    status_of: dict[int, str] = {}

    def moment(days_ago: int) -> dt.datetime:
        return day0 - dt.timedelta(days=days_ago) + dt.timedelta(seconds=rng.randint(9 * 3600, 17 * 3600))

    def days_ago(event_type: str) -> int:
        window = WINDOW[event_type]
        if rng.random() < IN_WINDOW:
            return rng.randint(0, window)
        return rng.randint(window + 1, 365)

    def event(customer_id: int, event_type: str, number: int) -> tuple[Any, ...]:
        back = days_ago(event_type)
        at = moment(back)
        data: dict[str, Any]
        if event_type == "transfer_out":
            amount = min(math.exp(rng.gauss(10.5, 1.8)), 50_000_000)
            if rng.random() < 0.04:
                amount = rng.uniform(500_000, 3_000_000)
            data = {"amount": f"{amount:.2f}", "bank": "工商银行"}
        elif event_type == "login":
            ip = (rng.choice(shared_ips) if rng.random() < 0.2 else
                  f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
            data = {"ip": ip, "channel": "app"}
        elif event_type == "product_purchased":
            data = {"product_code": "F001", "product_type": "公募", "amount": f"{rng.randint(10, 500) * 1000:.2f}"}
        elif event_type == "private_fund_signed":
            data = {"product_code": "P001", "product_type": "私募", "amount": f"{rng.randint(100, 900) * 10000:.2f}"}
            if rng.random() < 0.5:
                # as the imports store it: an instant with its offset
                data["signed_at"] = (at + dt.timedelta(hours=rng.randint(0, 5))).astimezone(SHANGHAI).isoformat()
        elif event_type == "manager_changed":
            data = {"from_agent_no": "A001", "to_agent_no": "A002"}
        elif event_type == "account_closed":
            data = {"old_status": "normal", "new_status": "closed"}
        elif event_type == "designation_withdrawn":
            data = {"old_status": "normal", "new_status": "designation_withdrawn"}
        else:
            data = {"note": event_type}
        return (customer_id, event_type, _utc(at, postgresql), json.dumps(data, ensure_ascii=False), "bench",
                f"E{number}", now)

    customers: list[tuple[Any, ...]] = []
    for n in range(rows):
        customer_id = first_id + n
        branch = rng.choice(branches)
        status = status_names[bisect.bisect(status_cum, rng.random() * status_cum[-1])]
        status_of[customer_id] = status
        opened = AS_OF - dt.timedelta(days=rng.randint(0, 61) if rng.random() < 0.03 else rng.randint(0, 3 * 365))
        candidates = managers.get(branch, [])
        manager = rng.choice(candidates) if candidates and rng.random() < 0.85 else None
        assets = 0.0 if status == "closed" else round(math.exp(rng.gauss(11.5, 1.6)), 2)
        customers.append((customer_id, f"B{customer_id:011d}", f"客户{customer_id}", branch, manager, "regular",
                          opened.isoformat(), status, "C3", f"{assets:.2f}", "", "[]", "{}", "", "", "", "",
                          "[]", now, now))
    # One status-change event per closed or withdrawn customer, the rest of the events by the mix.
    events: list[tuple[Any, ...]] = []
    for customer_id, status in status_of.items():
        if status == "closed":
            events.append(event(customer_id, "account_closed", len(events)))
        elif status == "designation_withdrawn":
            events.append(event(customer_id, "designation_withdrawn", len(events)))
    while len(events) < rows:
        kind = event_names[bisect.bisect(event_cum, rng.random() * event_cum[-1])]
        events.append(event(first_id + rng.randrange(rows), kind, len(events)))
    del events[rows:]
    for start in range(0, rows, CHUNK):
        yield customers[start:start + CHUNK], events[start:start + CHUNK]


# --- workers: subprocesses with Django configured for one fresh database --------------------------------------

def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _stored_datetime(moment: dt.datetime | None) -> str | None:
    from django.db import connection

    return None if moment is None else str(connection.ops.adapt_datetimefield_value(moment))


def worker_setup(rows: int) -> dict[str, Any]:
    """The organisation, the customers and events, and the plan of the baseline."""
    _setup_django()
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from huifang.calendars.queries import work_calendar
    from huifang.callbacks.services import questionnaire_version_for
    from huifang.campaigns import rules
    from huifang.campaigns.models import Rule
    from huifang.customers.models import Customer, CustomerEvent
    from huifang.demo.build import CUSTOMER_COLUMNS, EVENT_COLUMNS, build_demo
    from huifang.demo.bulk import RowWriter
    from huifang.demo.org import BRANCHES, user_specs
    from huifang.org.choices import Role
    from huifang.org.models import Branch, User

    build_demo(customers=0, as_of=AS_OF)
    codes = [spec.code for spec in BRANCHES]
    branch_of = dict(Branch.objects.filter(code__in=codes).values_list("code", "pk"))
    branches = [branch_of[code] for code in codes]
    user_ids = dict(User.objects.values_list("username", "pk"))
    managers: dict[int, list[int]] = {}
    for username, role, code, *_ in user_specs():
        if role == Role.CLIENT_MANAGER:
            managers.setdefault(branch_of[code], []).append(user_ids[username])
    postgresql = connection.vendor == "postgresql"
    writer = RowWriter()
    started = time.perf_counter()
    with transaction.atomic(), writer.loading():
        for customers, events in generate(rows, branches, managers, postgresql):
            writer.write(Customer._meta.db_table, CUSTOMER_COLUMNS, customers)
            writer.write(CustomerEvent._meta.db_table, EVENT_COLUMNS, events)
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [Customer, CustomerEvent]):
                cursor.execute(statement)
    with connection.cursor() as cursor:
        # Statistics, as autovacuum would gather them on PostgreSQL; SQLite's planner is left as Django has it.
        if postgresql:
            cursor.execute("ANALYZE")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    load_seconds = time.perf_counter() - started

    calendar = work_calendar()
    plan = []
    chosen = Rule.objects.filter(is_active=True, callback_type__is_active=True, callback_type__automation="auto")
    for rule in chosen.select_related("callback_type").order_by("callback_type_id", "id"):
        callback_type = rule.callback_type
        config = dict(rule.config)
        deadline = rules.parse_deadline(config.get("deadline") or callback_type.deadline)
        not_before = rules.parse_not_before(config.get("not_before") or callback_type.not_before)
        period = callback_type.dedupe_period
        lookback = {"attribute": 62 if config.get("date_field") else 7, "event": 1, "cluster": 30}.get(
            rule.kind, 0)
        lookback = int(config.get("lookback_days", lookback))
        days = [AS_OF - dt.timedelta(days=back) for back in range(lookback, -1, -1)]
        facts = {}
        for day in days:
            due = rules.due_date(calendar, day, deadline)
            nb_day = rules.not_before_day(calendar, day, not_before)
            facts[day.isoformat()] = {
                "due": due.isoformat(),
                "key": "" if period == "event" else rules.period_key(day, period),
                "expires": max(due, rules.expires_on(due, period)).isoformat(),
                "not_before": _stored_datetime(None if nb_day is None else dt.datetime.combine(
                    nb_day, rules.WORK_STARTS_AT, tzinfo=SHANGHAI)),
            }
        period_start = rules.period_start(AS_OF, period) if period not in ("once", "event", "day") else AS_OF
        plan.append({
            "rule": rule.pk, "name": rule.name, "kind": rule.kind, "config": config, "type": callback_type.pk,
            "code": callback_type.code, "priority": callback_type.priority, "period": period,
            "questionnaire_version": questionnaire_version_for(callback_type), "facts": facts,
            "not_before_hours": getattr(not_before, "hours", None),
            "not_before_after": list(getattr(not_before, "after", []) or []),
            "period_start": period_start.isoformat(),
            # the sample rule's purchases: from the start of the period
            "window_start": _stored_datetime(dt.datetime.combine(
                period_start if rule.kind == "sample" else days[0], dt.time(), tzinfo=SHANGHAI)),
            "window_end": _stored_datetime(dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time(),
                                                               tzinfo=SHANGHAI)),
        })
    from django.conf import settings

    init_command = str(settings.DATABASES["default"].get("OPTIONS", {}).get("init_command", ""))
    return {"plan": plan, "load_seconds": load_seconds, "init_command": init_command,
            "customers": Customer.objects.count(), "events": CustomerEvent.objects.count()}


def worker_ours(rows: int) -> dict[str, Any]:
    _setup_django()
    from huifang.callbacks.services import run_rules

    started = time.perf_counter()
    report = run_rules(as_of=AS_OF)
    seconds = time.perf_counter() - started
    errors = [o.error for o in report.outcomes if o.error]
    return {"seconds": seconds, "total": report.total, "errors": errors,
            "by_rule": {str(o.rule_id): o.total for o in report.outcomes}}


def worker_sql(rows: int) -> dict[str, Any]:
    """The compiled SELECT of every rule (for EXPLAIN and for writing the baseline)."""
    _setup_django()
    from huifang.callbacks.services import _insert_sql, compiled_rules

    out = {}
    for rule, compiled in compiled_rules(as_of=AS_OF):
        if isinstance(compiled, str):
            out[rule.name] = compiled
            continue
        sql, params = _insert_sql(compiled)
        out[rule.name] = {"sql": sql, "params": [p if isinstance(p, int | float | None) else str(p) for p in params]}
    return out


WORKERS = {"setup": worker_setup, "ours": worker_ours, "sql": worker_sql}


def run_worker(part: str, env: dict[str, str], rows: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", part, "--rows", str(rows)]
    done = subprocess.run(command, env=env, cwd=demo_data.ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"worker {part} failed ({done.returncode}):\n{done.stdout[-5000:]}\n{done.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return result


# --- baseline: the same work in hand-written SQL, plain driver -------------------------------------------------

class Dialect:
    def __init__(self, postgresql: bool) -> None:
        self.postgresql = postgresql

    @property
    def null_id(self) -> str:
        return "CAST(NULL AS bigint)" if self.postgresql else "NULL"

    def local_day(self, column: str) -> str:
        return (f"(({column}) AT TIME ZONE 'Asia/Shanghai')::date" if self.postgresql
                else f"date({column}, '+28800 seconds')")

    def date(self, value: str | None) -> str:
        if value is None:
            return "CAST(NULL AS date)" if self.postgresql else "NULL"
        return f"DATE '{value}'" if self.postgresql else f"'{value}'"

    def text(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def moment(self, value: str | None) -> str:
        if value is None:
            return "CAST(NULL AS timestamptz)" if self.postgresql else "NULL"
        return f"TIMESTAMPTZ '{value}'" if self.postgresql else f"'{value}'"

    def json_text(self, key: str) -> str:
        return f"(e.data ->> '{key}')" if self.postgresql else f"json_extract(e.data, '$.{key}')"

    def by_day(self, day: str, facts: dict[str, Any], field: str, kind: str) -> str:
        """A simple CASE over the trigger day (one evaluation of the day per row)."""
        literal = {"date": self.date, "text": self.text, "moment": self.moment}[kind]
        whens = " ".join(f"WHEN {self.date(d)} THEN {literal(f[field])}" for d, f in facts.items())
        return f"CASE {day} {whens} END"


COUNTED = ("new", "assigned", "in_progress", "done")


def _candidates(rule: dict[str, Any], sql: Dialect) -> str:
    """The SELECT of (customer_id, branch_id, event_id, trigger_day, period_key, due_date, not_before,
    expires_on) of one rule, written by hand."""
    config, facts, period = rule["config"], rule["facts"], rule["period"]
    start, end = sql.moment(rule["window_start"]), sql.moment(rule["window_end"])
    counted = ", ".join(f"'{state}'" for state in COUNTED)
    if rule["kind"] == "attribute" and config.get("date_field") == "open_date":
        first = min(facts)
        return (f"SELECT c.id AS customer_id, c.branch_id, {sql.null_id} AS event_id, c.open_date AS trigger_day, "
                f"{sql.by_day('c.open_date', facts, 'key', 'text')} AS period_key, "
                f"{sql.by_day('c.open_date', facts, 'due', 'date')} AS due_date, "
                f"{sql.moment(None)} AS not_before, "
                f"{sql.by_day('c.open_date', facts, 'expires', 'date')} AS expires_on "
                f"FROM customers_customer c "
                f"WHERE c.open_date BETWEEN {sql.date(first)} AND {sql.date(AS_OF.isoformat())} "
                "AND c.status = 'normal'")
    if rule["kind"] in ("event", "attribute"):
        day = sql.local_day("e.occurred_at")
        where = f"e.occurred_at >= {start} AND e.occurred_at < {end}"
        if rule["kind"] == "attribute":  # became closed / designation withdrawn
            values = config["became"]["values"]
            listed = ", ".join(f"'{v}'" for v in values)
            types = {"closed": "account_closed"}
            where += (f" AND e.type IN ('account_closed', 'designation_withdrawn') AND cu.status IN ({listed}) AND "
                      f"({sql.json_text('new_status')} IN ({listed}) OR ({sql.json_text('new_status')} IS NULL "
                      f"AND e.type IN ({', '.join(repr(types.get(v, v)) for v in values)})))")
        else:
            where += f" AND e.type IN ({', '.join(repr(t) for t in config['event_types'])})"
        if period == "event":
            # one callback per event
            key = "'E' || CAST(e.id AS text)" if sql.postgresql else "'E' || e.id"
            return (f"SELECT e.customer_id, cu.branch_id, e.id AS event_id, d.day AS trigger_day, {key} AS period_key, "
                    f"{sql.by_day('d.day', facts, 'due', 'date')} AS due_date, {sql.moment(None)} AS not_before, "
                    f"{sql.by_day('d.day', facts, 'expires', 'date')} AS expires_on "
                    f"FROM customers_customerevent e CROSS JOIN LATERAL (SELECT {day} AS day) d "
                    f"JOIN customers_customer cu ON cu.id = e.customer_id WHERE {where}"
                    if sql.postgresql else
                    f"SELECT e.customer_id, cu.branch_id, e.id AS event_id, {day} AS trigger_day, {key} AS period_key, "
                    f"{sql.by_day(day, facts, 'due', 'date')} AS due_date, NULL AS not_before, "
                    f"{sql.by_day(day, facts, 'expires', 'date')} AS expires_on "
                    f"FROM customers_customerevent e JOIN customers_customer cu ON cu.id = e.customer_id WHERE {where}")
        having = ""
        if config.get("daily_sum"):
            amount = (f"CAST({sql.json_text(config['daily_sum'].get('key', 'amount'))} AS double precision)"
                      if sql.postgresql else f"CAST({sql.json_text(config['daily_sum'].get('key', 'amount'))} AS real)")
            having = f" HAVING SUM({amount}) >= {float(config['daily_sum']['gte'])}"
        if rule["not_before_hours"]:
            hours = int(rule["not_before_hours"])
            if sql.postgresql:
                moments = ", ".join(f"COALESCE(CAST({sql.json_text(k)} AS timestamptz), e.occurred_at)"
                                    for k in rule["not_before_after"])
                not_before = f"MAX(GREATEST(e.occurred_at, {moments}) + INTERVAL '{hours} hours')"
            else:
                moments = ", ".join(f"datetime(COALESCE({sql.json_text(k)}, e.occurred_at))"
                                    for k in rule["not_before_after"])
                not_before = f"MAX(datetime(MAX(datetime(e.occurred_at), {moments}), '+{hours} hours'))"
        else:
            not_before = sql.by_day("g.day", facts, "not_before", "moment")
        inner = (f"SELECT e.customer_id, {day} AS day, MIN(e.id) AS event_id, MIN(cu.branch_id) AS branch_id, "
                 f"{not_before if rule['not_before_hours'] else 'NULL'} AS nb "
                 f"FROM customers_customerevent e JOIN customers_customer cu ON cu.id = e.customer_id "
                 f"WHERE {where} GROUP BY e.customer_id, {day}{having}")
        return (f"SELECT g.customer_id, g.branch_id, g.event_id, g.day AS trigger_day, "
                f"{sql.by_day('g.day', facts, 'key', 'text')} AS period_key, "
                f"{sql.by_day('g.day', facts, 'due', 'date')} AS due_date, "
                f"{'g.nb' if rule['not_before_hours'] else not_before} AS not_before, "
                f"{sql.by_day('g.day', facts, 'expires', 'date')} AS expires_on FROM ({inner}) g")
    one = facts[AS_OF.isoformat()]
    constants = (f"{sql.date(AS_OF.isoformat())} AS trigger_day, {sql.text(one['key'])} AS period_key, "
                 f"{sql.date(one['due'])} AS due_date, {sql.moment(one['not_before'])} AS not_before, "
                 f"{sql.date(one['expires'])} AS expires_on")
    if rule["kind"] == "cluster":
        ip = sql.json_text(config.get("key", "ip"))
        where = f"e.type = '{config.get('event_type', 'login')}' AND e.occurred_at >= {start} AND e.occurred_at < {end}"
        return (f"SELECT e.customer_id, MIN(cu.branch_id) AS branch_id, MAX(e.id) AS event_id, {constants} "
                f"FROM customers_customerevent e JOIN customers_customer cu ON cu.id = e.customer_id "
                f"WHERE {where} AND {ip} IN (SELECT {ip} FROM customers_customerevent e WHERE {where} "
                f"AND {ip} IS NOT NULL GROUP BY {ip} "
                f"HAVING COUNT(DISTINCT e.customer_id) >= {int(config.get('min_accounts', 3))}) "
                "GROUP BY e.customer_id")
    # sample: per group, the round robin over asset bands up to the group's need (already called ones count)
    group = "manager_id" if config["group_by"] == "manager" else "branch_id"
    bands = [0, 100_000, 500_000, 1_000_000, 5_000_000]
    band = "CASE " + " ".join(f"WHEN c.assets >= {bound} THEN {index}" for index, bound in
                              reversed(list(enumerate(bands)))) + " ELSE 0 END"
    conditions = ["TRUE" if sql.postgresql else "1"]
    for condition in config.get("customer_conditions", []):
        if condition["field"] == "status":
            conditions.append(f"c.status = '{condition['value']}'")
        elif condition["field"] == "has_manager":
            conditions.append("c.manager_id IS NOT NULL")
        elif condition["field"] == "opened_months_ago":
            months = int(condition["value"])
            index = AS_OF.year * 12 + AS_OF.month - 1 - months
            cutoff = dt.date(index // 12, index % 12 + 1, min(AS_OF.day, 28))
            conditions.append(f"c.open_date <= {sql.date(cutoff.isoformat())}")
        else:
            raise ValueError(f"baseline: condition {condition} not written")
    if group == "manager_id":
        conditions.append("c.manager_id IS NOT NULL")
    if config.get("bought_in_period"):
        bought = ", ".join(f"'{t}'" for t in config["bought_in_period"])
        conditions.append(f"EXISTS (SELECT 1 FROM customers_customerevent e WHERE e.customer_id = c.id AND "
                          f"e.type IN ({bought}) AND e.occurred_at >= {start} AND e.occurred_at < {end})")
    conditions.append(f"NOT EXISTS (SELECT 1 FROM callbacks_callback x WHERE x.customer_id = c.id AND "
                      f"x.callback_type_id = {rule['type']} AND x.period_key = {sql.text(one['key'])} "
                      f"AND x.state IN ({counted}))")
    return (f"SELECT customer_id, branch_id, event_id, trigger_day, period_key, due_date, not_before, expires_on "
            f"FROM (SELECT p.*, ROW_NUMBER() OVER (PARTITION BY p.grp ORDER BY p.rnk, p.band) AS pick, "
            f"{int(config['at_least'])} - COALESCE(q.n, 0) AS needed "
            f"FROM (SELECT c.id AS customer_id, c.branch_id, {sql.null_id} AS event_id, {constants}, c.{group} AS grp, "
            f"{band} AS band, ROW_NUMBER() OVER (PARTITION BY c.{group}, {band} "
            f"ORDER BY (c.id * 7919) %% 10007, c.id) AS rnk FROM customers_customer c "
            f"WHERE {' AND '.join(conditions)}) p "
            f"LEFT JOIN (SELECT cu.{group} AS grp, COUNT(*) AS n FROM callbacks_callback x "
            f"JOIN customers_customer cu ON cu.id = x.customer_id WHERE x.callback_type_id = {rule['type']} "
            f"AND x.period_key = {sql.text(one['key'])} AND x.state IN ({counted}) GROUP BY cu.{group}) q "
            "ON q.grp = p.grp) s WHERE s.pick <= s.needed")


CALLBACK_COLUMNS = ("customer_id, callback_type_id, period_key, origin, rule_id, run_id, event_id, branch_id, "
                    "questionnaire_version_id, state, priority, due_date, not_before, expires_on, attempts, result, "
                    "reason, created_at, updated_at")


def baseline_statements(rule: dict[str, Any], sql: Dialect, run_id: int, now: str) -> list[str]:
    """The three statements of one rule: INSERT … SELECT of the callbacks, of their history, the count per branch."""
    version = "NULL" if rule["questionnaire_version"] is None else str(int(rule["questionnaire_version"]))
    stamp = sql.moment(now)
    # WHERE before ON CONFLICT, for SQLite's parser; ORDER BY: the earliest trigger day wins a period, as ours.
    insert = (f"INSERT INTO callbacks_callback ({CALLBACK_COLUMNS}) "
              f"SELECT s.customer_id, {rule['type']}, s.period_key, 'rule', {rule['rule']}, {run_id}, s.event_id, "
              f"s.branch_id, {version}, 'new', {int(rule['priority'])}, s.due_date, s.not_before, s.expires_on, 0, '', "
              f"'', {stamp}, {stamp} FROM ({_candidates(rule, sql)}) s WHERE s.due_date IS NOT NULL "
              "ORDER BY s.trigger_day, s.customer_id "
              "ON CONFLICT (customer_id, callback_type_id, period_key) DO NOTHING")
    history = ("INSERT INTO callbacks_callbackhistory (callback_id, at, by_id, from_state, to_state, reason, "
               f"agent_id) "
               f"SELECT id, {stamp}, NULL, '', 'new', {sql.text(('规则生成：' + rule['name'])[:300])}, NULL "
               f"FROM callbacks_callback WHERE run_id = {run_id} AND rule_id = {rule['rule']}")
    count = (f"SELECT branch_id, COUNT(*) FROM callbacks_callback WHERE run_id = {run_id} AND rule_id = {rule['rule']} "
             "GROUP BY branch_id")
    finish = [insert, history, count]
    # Executed without parameters on both drivers: a plain % is the modulo operator.
    return [statement.replace("%%", "%") for statement in finish]


def _now(postgresql: bool) -> str:
    moment = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment + "+00:00" if postgresql else moment


def run_baseline(env: dict[str, str], plan: list[dict[str, Any]], init_command: str) -> float:
    """Every rule as hand-written SQL through the plain driver, each in its own transaction, with its RuleRun
    row; returns the seconds of the whole run."""
    url = env.get("DATABASE_URL", "")
    postgresql = url.startswith("postgres")
    sql = Dialect(postgresql)
    if postgresql:
        import psycopg

        db: Any = psycopg.connect(url, autocommit=True)
    else:
        db = sqlite3.connect(str(Path(env["HUIFANG_VAR_DIR"]) / "huifang.sqlite3"), isolation_level=None)
        # The connection state Django gives ours: foreign keys on, the settings' init_command.
        db.execute("PRAGMA foreign_keys = ON")
        for statement in init_command.split(";"):
            if statement.strip():
                db.execute(statement)
    try:
        started = time.perf_counter()
        now = _now(postgresql)
        run_id = db.execute(
            "INSERT INTO callbacks_rulerun (as_of, dry_run, \"trigger\", started_by_id, started_at, counts, "
            f"created_count, errors) VALUES ({sql.date(AS_OF.isoformat())}, FALSE, 'manual', NULL, "
            f"{sql.moment(now)}, '[]', 0, '[]') RETURNING id").fetchone()[0]
        counts = []
        for rule in plan:
            insert, history, count = baseline_statements(rule, sql, run_id, now)
            db.execute("BEGIN" if postgresql else "BEGIN IMMEDIATE")
            db.execute(insert)
            db.execute(history)
            counts.append(db.execute(count).fetchall())
            db.execute("COMMIT")
        total = sum(n for rows in counts for _, n in rows)
        db.execute(f"UPDATE callbacks_rulerun SET finished_at = {sql.moment(_now(postgresql))}, "
                   f"created_count = {total} WHERE id = {run_id}")
        return time.perf_counter() - started
    finally:
        db.close()


def fingerprint(env: dict[str, str]) -> dict[str, list[Any]]:
    """Per callback type: how many callbacks, and sums and ranges of what they hold, to compare the two sides."""
    url = env.get("DATABASE_URL", "")
    query = ("SELECT t.code, COUNT(*), SUM(c.customer_id), SUM(COALESCE(c.event_id, 0)), SUM(c.branch_id), "
             "COUNT(DISTINCT c.period_key), MIN(c.due_date), MAX(c.due_date), MIN(c.expires_on), MAX(c.expires_on), "
             "COUNT(c.not_before), (SELECT COUNT(*) FROM callbacks_callbackhistory h WHERE h.callback_id IN "
             "(SELECT id FROM callbacks_callback y WHERE y.callback_type_id = t.id)) "
             "FROM callbacks_callback c JOIN campaigns_callbacktype t ON t.id = c.callback_type_id "
             "GROUP BY t.id, t.code ORDER BY t.code")
    if url:
        import psycopg

        with psycopg.connect(url) as db:
            rows = db.execute(query).fetchall()
    else:
        db = sqlite3.connect(str(Path(env["HUIFANG_VAR_DIR"]) / "huifang.sqlite3"))
        try:
            rows = db.execute(query).fetchall()
        finally:
            db.close()
    return {row[0]: [str(value) for value in row[1:]] for row in rows}


@contextmanager
def _copy_of(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A second database with the same tables and rows (SQLite: the file; PostgreSQL: CREATE DATABASE … TEMPLATE)."""
    url = env.get("DATABASE_URL", "")
    if url:
        import psycopg

        base, name = url.rsplit("/", 1)
        copy = f"{name}_copy"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {copy} TEMPLATE {name}")
        try:
            yield {**env, "DATABASE_URL": f"{base}/{copy}"}
        finally:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
        return
    source = Path(env["HUIFANG_VAR_DIR"])
    target = Path(tempfile.mkdtemp(prefix="copy-", dir=source.parent))
    try:
        for path in source.glob("huifang.sqlite3*"):
            shutil.copy2(path, target / path.name)
        yield {**env, "HUIFANG_VAR_DIR": str(target)}
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _huifang() -> list[str]:
    command = Path(sys.executable).with_name("huifang")
    return [str(command)] if command.exists() else [sys.executable, str(demo_data.ROOT / "manage.py")]


def _has_rules_command() -> bool:
    return (demo_data.ROOT / "huifang" / "callbacks" / "management" / "commands" / "rules.py").exists()


def run_ours(env: dict[str, str], rows: int) -> tuple[float, str]:
    """(seconds, what was timed)."""
    if _has_rules_command() and os.environ.get("BENCH_CALLBACKS_IN_PROCESS") != "1":
        started = time.perf_counter()
        done = subprocess.run([*_huifang(), "rules", "run", "--as-of", AS_OF.isoformat(), "--json"], env=env,
                              cwd=demo_data.ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"huifang rules run failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                               f"{done.stderr[-3000:]}")
        return seconds, "huifang rules run --json (subprocess, end to end)"
    result = run_worker("ours", env, rows)
    if result["errors"]:
        raise RuntimeError(f"run_rules reported errors: {result['errors']}")
    return float(result["seconds"]), "services.run_rules (in-process, Django start not timed)"


def measure(fresh: demo_data.FreshDatabase, rows: int) -> dict[str, Any]:
    with fresh() as env:
        setup = run_worker("setup", env, rows)
        if setup["customers"] != rows or setup["events"] != rows:
            raise RuntimeError(f"setup wrote {setup['customers']} customers and {setup['events']} events, not {rows}")
        with _copy_of(env) as other:
            baseline = run_baseline(other, setup["plan"], setup["init_command"])
            theirs = fingerprint(other)
        seconds, timed = run_ours(env, rows)
        mine = fingerprint(env)
    if mine != theirs:
        differing = {code: {"ours": mine.get(code), "baseline": theirs.get(code)}
                     for code in sorted(set(mine) | set(theirs)) if mine.get(code) != theirs.get(code)}
        print(f"WARNING: callback_rules: the two sides did different work: {json.dumps(differing, ensure_ascii=False)}",
              file=sys.stderr, flush=True)
        raise RuntimeError(f"callback_rules: ours and the baseline created different callbacks: {differing}")
    return {"rows": rows, "seconds": seconds, "baseline_seconds": baseline,
            "callbacks": sum(int(values[0]) for values in mine.values()),
            "by_type": {code: int(values[0]) for code, values in mine.items()}, "timed": timed}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(RESULT_MARK + json.dumps(WORKERS[args.worker](args.rows), ensure_ascii=False), flush=True)
        return
    import harness

    harness.main(["--only", "callback_rules", "--engine", args.engine])


if __name__ == "__main__":
    main()
