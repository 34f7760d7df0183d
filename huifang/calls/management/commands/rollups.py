"""`huifang rollups rebuild` / `huifang rollups check`: the reports' roll-ups from the shell.

    huifang rollups rebuild [--from DATE] [--to DATE]
    huifang rollups check   [--from DATE] [--to DATE]

`rebuild` replaces the roll-ups of the days in range (default: every day) by what the raw outcomes and calls
give; `check` compares them without writing and lists the differences. Exit status 0 when identical (or
rebuilt), 1 when `check` finds a difference, 2 for bad arguments."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huifang.calls.rollups import differences, rebuild
from huifang.lib.workdays import parse_date

BAD_ARGUMENT = 2
DIFFERENT = 1


def _date(option: str, text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError as error:
        raise CommandError(f"{option} {error}", returncode=BAD_ARGUMENT) from None


class Command(BaseCommand):
    help = "重建或核对报表汇总表（回访登记、通话），与原始记录逐行一致"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "check"], help="rebuild：重建；check：只核对")
        parser.add_argument("--from", dest="start", help="起始日期 YYYY-MM-DD（含）")
        parser.add_argument("--to", dest="end", help="截止日期 YYYY-MM-DD（含）")

    def handle(self, *args: Any, action: str, start: str | None, end: str | None, **options: Any) -> None:
        first, last = _date("--from", start), _date("--to", end)
        if first and last and first > last:
            raise CommandError("--from 晚于 --to", returncode=BAD_ARGUMENT)
        span = f"{first or '最早'} 至 {last or '最晚'}"
        if action == "rebuild":
            counts = rebuild(first, last)
            self.stdout.write(f"已重建 {span} 的汇总：回访登记 {counts['outcomes']:,} 行，"
                              f"通话 {counts['calls']:,} 行。")
            return
        found = differences(first, last)
        if found:
            for line in found:
                self.stdout.write(line)
            raise CommandError(f"{span} 的汇总与原始记录不一致（见上，最多列出 20 处）", returncode=DIFFERENT)
        self.stdout.write(f"{span} 的汇总与原始记录一致。")
