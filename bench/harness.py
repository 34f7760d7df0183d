"""`huifang bench`: every benchmark, one JSON line each.

    huifang bench [--scale small|full] [--engine sqlite|postgresql|both] [--only NAME]

Each line: {"name", "engine", "rows", "seconds", "baseline_seconds", "ratio"}, where baseline_seconds is the raw
database doing the same work in the same run and ratio = seconds / baseline_seconds. `--scale small` takes
seconds to a minute; `--scale full` runs the sizes the issues name. PostgreSQL runs on DATABASE_URL's server
when it is set, otherwise on a throwaway cluster on loopback (bench/demo_data.py)."""

import argparse
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import callback_rules
import demo_data  # a sibling module, found through the line above
import import_customers
import monthly_report
import next_callback


@dataclass(frozen=True)
class Benchmark:
    name: str
    #: rows of work at each scale
    sizes: dict[str, int]
    #: (fresh-database factory, rows) -> {"rows", "seconds", "baseline_seconds"}
    measure: Callable[[demo_data.FreshDatabase, int], dict[str, Any]]


def _demo_data(fresh: demo_data.FreshDatabase, customers: int) -> dict[str, Any]:
    """build_demo against the same rows inserted with the plainest driver calls (see bench/demo_data.py)."""
    seconds: dict[str, float] = {}
    counts: list[int] = []
    for part in ("ours", "raw"):
        with fresh() as env:
            result = demo_data.run_worker(part, env, customers)
        counts = result["counts"]
        seconds.update({name: float(result[name]) for name in ("ours", "raw-insert") if name in result})
    return {"rows": sum(counts), "seconds": seconds["ours"], "baseline_seconds": seconds["raw-insert"]}


BENCHMARKS = [
    Benchmark("demo_data", {"small": 5_000, "full": 1_000_000}, _demo_data),
    Benchmark("import_customers", {"small": 20_000, "full": 1_000_000}, import_customers.measure),
    Benchmark("callback_rules", {"small": 20_000, "full": 1_000_000}, callback_rules.measure),
    Benchmark("next_callback", {"small": 20_000, "full": 1_000_000}, next_callback.measure),
    Benchmark("monthly_report", {"small": 200_000, "full": 10_000_000}, monthly_report.measure),
]


def run(scale: str, engines: Sequence[str], only: str | None, tmp_dir: Path | None = None) -> list[dict[str, Any]]:
    chosen = [bench for bench in BENCHMARKS if only in (None, bench.name)]
    if not chosen:
        raise SystemExit(f"没有名为 {only} 的基准测试；可选：{', '.join(b.name for b in BENCHMARKS)}")
    lines = []
    for engine in engines:
        workdir = Path(tempfile.mkdtemp(prefix=f"huifang-bench-{engine}-", dir=tmp_dir))
        try:
            databases = (demo_data.sqlite_databases(workdir) if engine == "sqlite"
                         else demo_data.postgresql_databases(workdir))
            with databases as (fresh, _label):
                for bench in chosen:
                    measured = bench.measure(fresh, bench.sizes[scale])
                    line = {"name": bench.name, "engine": engine, **measured,
                            "ratio": round(measured["seconds"] / measured["baseline_seconds"], 2)}
                    print(json.dumps(line, ensure_ascii=False), flush=True)
                    lines.append(line)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["small", "full"], default="small")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", default=None, help="run one benchmark by name")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the throwaway databases go")
    args = parser.parse_args(argv)
    # SIGTERM as an exception, so that the finally blocks stop the cluster and delete the files.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    run(args.scale, engines, args.only, args.tmp_dir)


if __name__ == "__main__":
    main()
