"""`huifang calendar ...`: the calendar's answers from the shell, one ISO date or `true`/`false` per call.

Exit codes: 0 answered; 1 the date lies in a year the table does not cover (message on stderr); 2 a DATE,
month or N that cannot be read (message on stderr)."""

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huifang.calendars import queries, services
from huifang.lib.workdays import (
    CalendarNotCovered,
    end_of_month,
    end_of_quarter,
    format_year_ranges,
    parse_date,
    parse_month,
)

BAD_ARGUMENT = 2
NOT_COVERED = 1


def _date_argument(text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _month_argument(text: str) -> tuple[int, int]:
    try:
        return parse_month(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _count_argument(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"N 无效：{text!r}，应为整数，例如 3 或 -2") from None


def _yes_no(value: bool) -> str:
    return "true" if value else "false"


class Command(BaseCommand):
    help = "Working days and trading days of mainland China, from the holiday table."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="question", required=True, metavar="SUBCOMMAND")
        for name, help_text in [
            ("is-working-day", "print true or false"),
            ("is-trading-day", "print true or false"),
            ("next-trading-day", "print the first trading day after DATE"),
            ("end-of-month", "print the last day of DATE's month"),
            ("end-of-quarter", "print the last day of DATE's quarter"),
        ]:
            sub.add_parser(name, help=help_text).add_argument("date", metavar="DATE", type=_date_argument)
        add = sub.add_parser("add-working-days", help="print the N-th working day after DATE (N < 0: before)")
        add.add_argument("date", metavar="DATE", type=_date_argument)
        add.add_argument("n", metavar="N", type=_count_argument)
        nth = sub.add_parser("nth-working-day", help="print the N-th working day of the month (N = -1: last)")
        nth.add_argument("month", metavar="YYYY-MM", type=_month_argument)
        nth.add_argument("n", metavar="N", type=_count_argument)
        seed = sub.add_parser("seed", help="copy years from the installed chinesecalendar into the table")
        seed.add_argument("years", metavar="YEAR", type=int, nargs="*")
        sub.add_parser("coverage", help="print the covered years and any of this or next year missing")

    def handle(self, *args: Any, **options: Any) -> None:
        question: str = options["question"]
        answers: dict[str, Callable[[], str]] = {
            "is-working-day": lambda: _yes_no(queries.is_working_day(options["date"])),
            "is-trading-day": lambda: _yes_no(queries.is_trading_day(options["date"])),
            "next-trading-day": lambda: queries.next_trading_day(options["date"]).isoformat(),
            "end-of-month": lambda: end_of_month(options["date"]).isoformat(),
            "end-of-quarter": lambda: end_of_quarter(options["date"]).isoformat(),
            "add-working-days": lambda: queries.add_working_days(options["date"], options["n"]).isoformat(),
            "nth-working-day": lambda: queries.nth_working_day(
                options["month"][0], options["month"][1], options["n"]
            ).isoformat(),
            "seed": lambda: self._seed(options["years"] or None),
            "coverage": self._coverage,
        }
        try:
            answer = answers[question]()
        except CalendarNotCovered as error:
            raise CommandError(str(error), returncode=NOT_COVERED) from error
        except ValueError as error:
            # nth-working-day with N == 0 or past the month's working days; seed of an unsupported year.
            raise CommandError(str(error), returncode=BAD_ARGUMENT) from error
        self.stdout.write(answer)

    def _seed(self, years: list[int] | None) -> str:
        added = services.seed_from_chinesecalendar(years=years, actor=None)
        return "\n".join(f"{year}: +{count}" for year, count in added.items())

    def _coverage(self) -> str:
        years = sorted(queries.covered_years())
        lines = [f"covered: {format_year_ranges(years) or 'none'}"]
        lines += [f"missing: {year}" for year in queries.uncovered_years_ahead(timezone.localdate())]
        return "\n".join(lines)
