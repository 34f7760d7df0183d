"""`huifang calendar ...`: one ISO date or true/false on stdout; exit 1 for an uncovered year, 2 for bad input."""

import datetime as dt
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huifang.calendars.models import CoveredYear

HUIFANG = Path(sys.executable).with_name("huifang")


def calendar(*args: str) -> str:
    out = StringIO()
    call_command("calendar", *args, stdout=out)
    return out.getvalue()


@pytest.mark.usefixtures("seeded")
class TestAnswers:
    @pytest.mark.parametrize(
        ("args", "answer"),
        [
            (("is-working-day", "2026-01-04"), "true"),  # make-up Sunday
            (("is-trading-day", "2026-01-04"), "false"),
            (("is-working-day", "2026-02-16"), "false"),  # 春节
            (("is-working-day", "2026-02-28"), "true"),  # make-up Saturday
            (("is-working-day", "2026-10-10"), "true"),
            (("is-working-day", "2026-11-21"), "false"),  # plain Saturday
            (("add-working-days", "2026-02-13", "1"), "2026-02-14"),
            (("add-working-days", "2026-02-13", "2"), "2026-02-24"),
            (("add-working-days", "2026-02-24", "-2"), "2026-02-13"),
            (("add-working-days", "2026-10-01", "0"), "2026-10-08"),
            (("nth-working-day", "2026-01", "1"), "2026-01-04"),
            (("nth-working-day", "2026-02", "1"), "2026-02-02"),
            (("nth-working-day", "2026-10", "3"), "2026-10-10"),
            (("nth-working-day", "2026-02", "-1"), "2026-02-28"),
            (("next-trading-day", "2026-02-13"), "2026-02-24"),
            (("next-trading-day", "2026-10-09"), "2026-10-12"),  # skips the make-up Saturday
            (("next-trading-day", "2026-09-30"), "2026-10-08"),
            (("end-of-month", "2026-02-14"), "2026-02-28"),
            (("end-of-quarter", "2027-05-01"), "2027-06-30"),  # needs no table
        ],
        ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
    )
    def test_it_prints_one_answer_per_question(self, args: tuple[str, ...], answer: str) -> None:
        assert calendar(*args) == answer + "\n"

    @pytest.mark.parametrize(
        "args",
        [
            ("is-working-day", "2027-01-04"),
            ("add-working-days", "2026-12-31", "1"),
            ("nth-working-day", "2027-01", "1"),
            ("next-trading-day", "2026-12-31"),
        ],
    )
    def test_it_refuses_a_year_the_table_does_not_cover_with_exit_code_1(self, args: tuple[str, ...]) -> None:
        with pytest.raises(CommandError, match="2027 年的节假日未录入日历表") as raised:
            calendar(*args)
        assert raised.value.returncode == 1

    def test_it_refuses_an_impossible_n_with_exit_code_2(self) -> None:
        with pytest.raises(CommandError, match="只有") as raised:
            calendar("nth-working-day", "2026-02", "30")
        assert raised.value.returncode == 2

    def test_coverage_names_the_covered_years_and_next_year_missing(self, time_machine: Any) -> None:
        time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        assert calendar("coverage") == "covered: 2004–2026\nmissing: 2027\n"

    def test_seed_copies_a_year_back_from_chinesecalendar(self) -> None:
        CoveredYear.objects.filter(year=2026).delete()
        assert calendar("seed", "2026") == "2026: +0\n"
        assert CoveredYear.objects.filter(year=2026).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("is-working-day", "2026-13-01"), "日期无效"),
        (("is-working-day", "tomorrow"), "YYYY-MM-DD"),
        (("add-working-days", "2026-01-05", "three"), "N 无效"),
        (("nth-working-day", "2026/02", "1"), "月份无效"),
        (("next-trading-day",), "DATE"),
    ],
)
def test_it_explains_unreadable_arguments(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        calendar(*args)


@pytest.fixture(scope="session")
def migrated_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private SQLite database brought up by `huifang migrate`, so the real process never touches the
    database of the test run (DATABASE_URL is removed from its environment)."""
    var_dir = tmp_path_factory.mktemp("calendar-var")
    done = run(var_dir, "migrate", "--no-input", "-v", "0")
    assert done.returncode == 0, done.stderr
    return var_dir


def run(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["HUIFANG_VAR_DIR"] = str(var_dir)
    return subprocess.run([str(HUIFANG), *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_real_command_answers_refuses_and_sets_exit_codes(migrated_var_dir: Path) -> None:
    working = run(migrated_var_dir, "calendar", "is-working-day", "2026-01-04")
    assert (working.returncode, working.stdout) == (0, "true\n")

    trading = run(migrated_var_dir, "calendar", "next-trading-day", "2026-02-13")
    assert (trading.returncode, trading.stdout) == (0, "2026-02-24\n")

    uncovered = run(migrated_var_dir, "calendar", "add-working-days", "2027-03-01", "5")
    assert uncovered.returncode == 1
    assert uncovered.stdout == ""
    assert "2027 年的节假日未录入日历表" in uncovered.stderr

    bad_date = run(migrated_var_dir, "calendar", "is-working-day", "2026-02-30")
    assert bad_date.returncode == 2
    assert "日期无效" in bad_date.stderr

    bad_n = run(migrated_var_dir, "calendar", "add-working-days", "2026-02-13", "1.5")
    assert bad_n.returncode == 2
    assert "N 无效" in bad_n.stderr
