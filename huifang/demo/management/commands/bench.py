"""`huifang bench`: runs bench/harness.py (the benchmarks live beside the package, not inside it)."""

import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "运行基准测试，每项输出一行 JSON：name, engine, rows, seconds, baseline_seconds, ratio"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=["small", "full"], default="small")
        parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
        parser.add_argument("--only", default=None, help="只运行指定名称的基准测试")

    def handle(self, *args: Any, scale: str, engine: str, only: str | None, **options: Any) -> None:
        harness = Path(settings.BASE_DIR) / "bench" / "harness.py"
        if not harness.exists():
            raise CommandError(f"找不到基准测试目录：{harness.parent}（基准测试只在源码目录中提供）")
        command = [sys.executable, str(harness), "--scale", scale, "--engine", engine]
        if only:
            command += ["--only", only]
        # Its own process: each benchmark starts Django afresh against throwaway databases.
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            raise CommandError(f"基准测试失败（退出码 {done.returncode}）")
