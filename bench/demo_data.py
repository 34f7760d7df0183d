"""Benchmark of `huifang demo-data`'s bulk load: `build_demo(customers=N)` against the raw database doing the same
writes in the same run (project rule: report speed as a ratio against the raw database).

    .venv/bin/python bench/demo_data.py [--customers N] [--engine sqlite|postgresql|both] [--repeat 3]

Per engine and repeat, each part runs in its own subprocess (Django reads its settings once per process) against
a fresh copy of a freshly migrated throwaway database:

- ours:          build_demo(customers=N) end to end: organisation, row generation in Python, RowWriter, commit.
- raw-insert:    the same customer/phone/event rows, generated beforehand (untimed), inserted with the plainest
                 driver calls in one transaction: sqlite3 executemany / psycopg COPY. No Django.
- generate-only: producing those rows in memory with CustomerGenerator, no database.
- org-only:      build_demo(customers=0), the organisation the raw insert needs for its foreign keys.

PostgreSQL runs in a throwaway cluster started here on a free loopback port and removed at the end, even on error.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Fixed, so that every run and every part generates the same rows (dates are relative to as_of).
AS_OF = dt.date(2026, 11, 1)
RESULT_MARK = "BENCH-RESULT "
ENGINES = ("sqlite", "postgresql")
PG_SUPERUSER = "postgres"

# A fresh database: a context manager giving the environment that points a subprocess at it.
FreshDatabase = Callable[[], AbstractContextManager[dict[str, str]]]


# --- workers: run in a subprocess, with Django configured for one fresh database ------------------------------

def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def worker_ours(customers: int, as_of: dt.date) -> dict[str, Any]:
    _setup_django()
    from huifang.demo.build import build_demo

    started = time.perf_counter()
    summary = build_demo(customers=customers, as_of=as_of)
    seconds = time.perf_counter() - started
    return {"ours": seconds, "counts": [summary.customers, summary.phones, summary.events]}


def worker_raw(customers: int, as_of: dt.date) -> dict[str, Any]:
    _setup_django()
    from unittest import mock

    from django.conf import settings
    from django.db import connection

    from huifang.demo import build
    from huifang.demo.bulk import LOAD_CACHE_KIB
    from huifang.demo.customers import CustomerGenerator

    # The organisation, through build_demo itself, with no customers; the spy keeps the generator's arguments
    # (branches, managers, first id, timestamp form) so that the rows below are exactly the ones ours writes.
    started = time.perf_counter()
    with mock.patch.object(build, "CustomerGenerator", wraps=CustomerGenerator) as spy:
        build.build_demo(customers=0, as_of=as_of)
    org_seconds = time.perf_counter() - started
    arguments = {**spy.call_args.kwargs, "count": customers}

    started = time.perf_counter()
    tables: list[tuple[str, Sequence[str], list[tuple[Any, ...]]]] = [
        (build.Customer._meta.db_table, build.CUSTOMER_COLUMNS, []),
        (build.ContactPoint._meta.db_table, build.PHONE_COLUMNS, []),
        (build.CustomerEvent._meta.db_table, build.EVENT_COLUMNS, []),
    ]
    for chunk in CustomerGenerator(**arguments).chunks():
        tables[0][2].extend(chunk.customers)
        tables[1][2].extend(chunk.phones)
        tables[2][2].extend(chunk.events)
    generate_seconds = time.perf_counter() - started

    vendor = connection.vendor
    database = settings.DATABASES["default"]
    connection.close()
    if vendor == "sqlite":
        insert_seconds = _raw_sqlite(str(database["NAME"]), database.get("OPTIONS", {}), LOAD_CACHE_KIB, tables)
    else:
        insert_seconds = _raw_postgresql(os.environ["DATABASE_URL"], tables)
    return {"raw-insert": insert_seconds, "generate-only": generate_seconds, "org-only": org_seconds,
            "counts": [len(rows) for _, _, rows in tables], "sqlite_version": sqlite3.sqlite_version}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _raw_sqlite(path: str, options: dict[str, Any], cache_kib: int,
                tables: Sequence[tuple[str, Sequence[str], list[tuple[Any, ...]]]]) -> float:
    # isolation_level=None: no implicit transactions, we BEGIN/COMMIT ourselves as Django does.
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # The same connection state as ours: Django's per-connection foreign keys and the settings'
        # init_command (WAL, synchronous=NORMAL), and RowWriter.loading's page cache, so that the ratio measures
        # our code, not a pragma.
        db.execute("PRAGMA foreign_keys = ON")
        for statement in str(options.get("init_command", "")).split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA cache_size = -{cache_kib}")
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        for table, columns, rows in tables:
            db.executemany(
                f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                rows,
            )
        db.execute("COMMIT")
        seconds = time.perf_counter() - started
        for table, _, rows in tables:
            _check_count(table, db.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0], len(rows))
        return seconds
    finally:
        db.close()


def _raw_postgresql(url: str, tables: Sequence[tuple[str, Sequence[str], list[tuple[Any, ...]]]]) -> float:
    import psycopg

    with psycopg.connect(url) as db:
        started = time.perf_counter()
        # psycopg opens the transaction at the first statement; the foreign keys (deferred) are checked at commit.
        with db.cursor() as cursor:
            for table, columns, rows in tables:
                with cursor.copy(f"COPY {_quote(table)} ({', '.join(map(_quote, columns))}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        db.commit()
        seconds = time.perf_counter() - started
        for table, _, rows in tables:
            found = db.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
            _check_count(table, found[0] if found else -1, len(rows))
    return seconds


def _check_count(table: str, found: int, expected: int) -> None:
    if found != expected:
        raise RuntimeError(f"{table}: {found} rows after the raw insert, expected {expected}")


# --- throwaway databases ---------------------------------------------------------------------------------------

def _base_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(DJANGO_SETTINGS_MODULE="config.settings", HUIFANG_VAR_DIR=str(var_dir), DEBUG="0",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    return env


def _migrate(env: dict[str, str]) -> None:
    command = Path(sys.executable).with_name("huifang")
    args = [str(command)] if command.exists() else [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*args, "migrate", "--verbosity", "0", "--no-input"], env=env, cwd=ROOT, check=True)


@contextmanager
def sqlite_databases(workdir: Path) -> Iterator[tuple[FreshDatabase, str]]:
    """Migrates once into a template file; every fresh database is a copy of it (a migrate costs ~3 s)."""
    template = workdir / "sqlite-template"
    template.mkdir()
    _migrate(_base_env(template))

    @contextmanager
    def fresh() -> Iterator[dict[str, str]]:
        var_dir = Path(tempfile.mkdtemp(prefix="sqlite-", dir=workdir))
        try:
            for path in template.glob("huifang.sqlite3*"):
                shutil.copy2(path, var_dir / path.name)
            yield _base_env(var_dir)
        finally:
            shutil.rmtree(var_dir, ignore_errors=True)

    yield fresh, f"SQLite {sqlite3.sqlite_version}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pg_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return candidates[-1].parent


@contextmanager
def postgresql_databases(workdir: Path) -> Iterator[tuple[FreshDatabase, str]]:
    """On DATABASE_URL's server when that is set, otherwise on a throwaway cluster (trust auth, loopback only,
    default settings: fsync on) started here and stopped and deleted on the way out."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        with _databases_on_server(url.rsplit("/", 1)[0], workdir) as found:
            yield found
        return
    with _throwaway_cluster(workdir) as base, _databases_on_server(base, workdir) as found:
        yield found


@contextmanager
def _throwaway_cluster(workdir: Path) -> Iterator[str]:
    """Starts a cluster on a free loopback port; yields its base URL (no database name)."""
    bindir = _pg_bin()
    cluster = workdir / "pg"
    cluster.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        # The server refuses to run as root.
        import pwd

        account = pwd.getpwnam(PG_SUPERUSER)
        os.chown(workdir, account.pw_uid, account.pw_gid)
        os.chown(cluster, account.pw_uid, account.pw_gid)
        as_postgres = ["runuser", "-u", PG_SUPERUSER, "--"]
    data = cluster / "data"
    pg_ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, "--auth=trust",
                    "-E", "UTF8", "--locale=C", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={cluster}"
    subprocess.run([*pg_ctl, "-l", str(cluster / "server.log"), "-o", options, "-w", "start"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://{PG_SUPERUSER}@127.0.0.1:{port}"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], check=False, stdout=subprocess.DEVNULL)


@contextmanager
def _databases_on_server(base: str, workdir: Path) -> Iterator[tuple[FreshDatabase, str]]:
    """Migrates once into a template database; every fresh database is CREATE DATABASE … TEMPLATE, dropped after.
    Names carry the process id, so two runs against one server do not collide."""
    import psycopg

    prefix = f"huifang_bench_{os.getpid()}"
    template = f"{prefix}_template"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {template}")
        found = admin.execute("SHOW server_version").fetchone()
        version = str(found[0]).split()[0] if found else "?"  # "15.18 (Debian …)" → "15.18"
    try:
        var_dir = workdir / "pg-var"  # settings' var dir, kept out of the project's ./var
        var_dir.mkdir()
        _migrate({**_base_env(var_dir), "DATABASE_URL": f"{base}/{template}"})
        serial = iter(range(1_000_000))

        @contextmanager
        def fresh() -> Iterator[dict[str, str]]:
            name = f"{prefix}_{next(serial)}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
            try:
                yield {**_base_env(var_dir), "DATABASE_URL": f"{base}/{name}"}
            finally:
                with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        yield fresh, f"PostgreSQL {version}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")


# --- orchestration and report ----------------------------------------------------------------------------------

def run_worker(part: str, env: dict[str, str], customers: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", part, "--customers", str(customers)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"worker {part} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return result


@dataclass
class EngineResult:
    label: str
    #: part → seconds of each repeat
    seconds: dict[str, list[float]]
    #: customers, phones, events
    counts: list[int]


def bench_engine(databases: AbstractContextManager[tuple[FreshDatabase, str]], customers: int,
                 repeat: int) -> EngineResult:
    seconds: dict[str, list[float]] = {"ours": [], "raw-insert": [], "generate-only": [], "org-only": []}
    counts: list[int] = []
    with databases as (fresh, label):
        for index in range(repeat):
            # Alternate the order, so that drift on a noisy machine does not always favour the same part.
            for part in ("ours", "raw") if index % 2 == 0 else ("raw", "ours"):
                with fresh() as env:
                    result = run_worker(part, env, customers)
                if counts and result["counts"] != counts:
                    raise RuntimeError(f"{part} wrote {result['counts']} rows, another run {counts}")
                counts = result["counts"]
                for name in seconds:
                    if name in result:
                        seconds[name].append(float(result[name]))
                print(f"  {label} repeat {index + 1}/{repeat} {part}: "
                      + ", ".join(f"{name} {result[name]:.2f} s" for name in seconds if name in result),
                      file=sys.stderr, flush=True)
    return EngineResult(label=label, seconds=seconds, counts=counts)


def _rate(rows: int, seconds: float) -> str:
    per_second = rows / seconds if seconds > 0 else 0.0
    return f"{per_second / 1000:,.0f}k" if per_second >= 10_000 else f"{per_second:,.0f}"


def report(result: EngineResult, customers: int, repeat: int) -> str:
    rows = sum(result.counts)
    median = {name: statistics.median(values) for name, values in result.seconds.items()}
    raw = median["raw-insert"]
    lines = [
        f"{result.label}: {customers:,} customers → {rows:,} rows "
        f"({result.counts[0]:,} customers, {result.counts[1]:,} phones, {result.counts[2]:,} events); "
        f"median of {repeat}",
        f"  {'part':<14} {'median s':>9} {'min–max s':>15} {'rows/s':>8}  vs raw insert",
    ]
    for name, values in result.seconds.items():
        spread = f"{min(values):.2f}–{max(values):.2f}"
        rate = _rate(rows, median[name]) if name != "org-only" else "—"
        lines.append(f"  {name:<14} {median[name]:>9.2f} {spread:>15} {rate:>8}  {median[name] / raw:.1f}×")
    # A difference of medians from separate processes: an estimate of where ours spends the rest.
    writes = median["ours"] - median["generate-only"] - median["org-only"]
    lines.append(f"  → ours is {median['ours'] / raw:.1f}× the raw insert; ours − generate-only − org-only ≈ "
                 f"{writes:.2f} s writing, {writes / raw:.1f}× the raw insert")
    return "\n".join(lines)


def _worker_main(part: str, customers: int) -> None:
    run = worker_ours if part == "ours" else worker_raw
    result = run(customers, AS_OF)
    print(RESULT_MARK + json.dumps(result), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--engine", choices=[*ENGINES, "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the throwaway databases go")
    parser.add_argument("--worker", choices=["ours", "raw"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker_main(args.worker, args.customers)
        return
    if args.customers < 1 or args.repeat < 1:
        parser.error("--customers and --repeat must be at least 1")

    # SIGTERM as an exception, so that the finally blocks stop the cluster and delete the files.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    engines = ENGINES if args.engine == "both" else (args.engine,)
    for engine in engines:
        workdir = Path(tempfile.mkdtemp(prefix=f"huifang-bench-{engine}-", dir=args.tmp_dir))
        try:
            databases = sqlite_databases(workdir) if engine == "sqlite" else postgresql_databases(workdir)
            result = bench_engine(databases, args.customers, args.repeat)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        print(report(result, args.customers, args.repeat) + "\n", flush=True)


if __name__ == "__main__":
    main()
