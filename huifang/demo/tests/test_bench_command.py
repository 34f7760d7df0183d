"""`huifang bench` prints one JSON line per benchmark with its ratio against the raw database."""

import json
import subprocess
import sys
from pathlib import Path


def _huifang() -> str:
    return str(Path(sys.executable).with_name("huifang"))


def test_bench_prints_one_json_line_with_ratio_per_benchmark(tmp_path: Path) -> None:
    done = subprocess.run([_huifang(), "bench", "--scale", "small", "--engine", "sqlite", "--only", "demo_data"],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": "/usr/bin:/bin", "HUIFANG_VAR_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    line = lines[0]
    assert set(line) == {"name", "engine", "rows", "seconds", "baseline_seconds", "ratio"}
    assert (line["name"], line["engine"]) == ("demo_data", "sqlite")
    assert line["rows"] > 5_000
    assert line["ratio"] == round(line["seconds"] / line["baseline_seconds"], 2)


def test_bench_refuses_an_unknown_benchmark_by_name() -> None:
    done = subprocess.run([_huifang(), "bench", "--engine", "sqlite", "--only", "no_such_bench"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "没有名为 no_such_bench 的基准测试" in done.stderr
