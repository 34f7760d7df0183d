"""Benchmark of `huifang import customers FILE` against the raw database loading the same file into a plain
table (SQLite: csv + executemany; PostgreSQL: COPY FROM STDIN) in the same run. Issue 3's goal: ratio <= 3 on
both engines, with all validation on.

The file is a counter export with Chinese headers, UTF-8 with BOM, generated deterministically: valid mobiles,
18-digit ID numbers with correct check digits, open dates as YYYYMMDD, the demo's branch codes. Used through
bench/harness.py (`huifang bench --only import_customers`)."""

import csv
import datetime as dt
import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import demo_data

HEADER = ["客户编号", "客户姓名", "营业部", "手机号码", "开户日期", "客户状态", "风险等级", "证件类型", "证件号码",
          "资产"]
BRANCHES = ["3101", "1101", "4403", "4401", "3301"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
MOBILE_PREFIXES = ["138", "139", "135", "136", "137", "150", "151", "158", "186", "187", "188", "189", "177", "199"]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def _id_number(rng: random.Random) -> str:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    body = f"{rng.choice(['310101', '110105', '440304', '440106', '330106'])}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def write_file(path: Path, rows: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for n in range(rows):
            opened = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 2000))
            out.writerow([
                f"{n + 1:012d}",
                rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                rng.choice(BRANCHES),
                rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
                f"{opened:%Y%m%d}",
                "正常",
                f"C{rng.randint(1, 5)}",
                "身份证",
                _id_number(rng),
                f"{rng.uniform(0, 5_000_000):.2f}",
            ])


def _huifang() -> list[str]:
    command = Path(sys.executable).with_name("huifang")
    return [str(command)] if command.exists() else [sys.executable, str(demo_data.ROOT / "manage.py")]


def _ours(env: dict[str, str], csv_path: Path) -> tuple[float, dict[str, Any]]:
    # The organisation the rows refer to (branch codes), untimed.
    subprocess.run([*_huifang(), "demo-data", "--customers", "0"], env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    done = subprocess.run([*_huifang(), "import", "customers", str(csv_path), "--json"], env=env, check=True,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    counts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, counts


def _baseline(env: dict[str, str], csv_path: Path) -> float:
    """The same file into a plain table of text columns: what the raw database does with no validation."""
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    url = env.get("DATABASE_URL", "")
    started = time.perf_counter()
    if url:
        import psycopg

        with psycopg.connect(url) as server, server.cursor() as cursor:
            cursor.execute(f"CREATE TABLE bench_plain ({columns})")
            with csv_path.open("rb") as source, cursor.copy(
                "COPY bench_plain FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
            ) as copy:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            server.commit()
    else:
        connection = sqlite3.connect(str(Path(env["HUIFANG_VAR_DIR"]) / "huifang.sqlite3"))
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"CREATE TABLE bench_plain ({columns})")
        with csv_path.open(encoding="utf-8-sig", newline="") as source:
            reader = csv.reader(source)
            next(reader)
            placeholders = ", ".join("?" * len(HEADER))
            connection.execute("BEGIN")
            connection.executemany(f"INSERT INTO bench_plain VALUES ({placeholders})", reader)
            connection.commit()
        connection.close()
    return time.perf_counter() - started


def measure(fresh: demo_data.FreshDatabase, rows: int) -> dict[str, Any]:
    with fresh() as env:
        csv_path = Path(env["HUIFANG_VAR_DIR"]) / "customers.csv"
        write_file(csv_path, rows)
        baseline = _baseline(env, csv_path)
        seconds, counts = _ours(env, csv_path)
        if counts.get("rejected") or counts.get("created") != rows:
            raise RuntimeError(f"the import did not take every row: {counts}")
    return {"rows": rows, "seconds": seconds, "baseline_seconds": baseline}
