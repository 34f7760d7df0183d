import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from huifang.calendars import queries as calendar_queries
from huifang.scheduling.tests.support import copy_database, run_huifang


@pytest.fixture(scope="session")
def migrated_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HUIFANG_VAR_DIR whose SQLite database `huifang migrate` has brought up to date (once per run)."""
    var_dir = tmp_path_factory.mktemp("migrated-var")
    run_huifang(var_dir, "migrate", "--no-input", "-v", "0", timeout=120)
    return var_dir


@pytest.fixture
def var_dir(migrated_var_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the migrated database for one test."""
    return copy_database(migrated_var_dir, tmp_path / "var")


@pytest.fixture
def fresh_calendar() -> Iterator[None]:
    """The real holiday table, read afresh (the calendar keeps a per-process copy)."""
    calendar_queries.invalidate_calendar_cache()
    yield
    calendar_queries.invalidate_calendar_cache()


@pytest.fixture
def calendar_says(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the calendar answer as told: calendar_says(working=True, trading=False); None = not covered."""

    def answer(value: bool | None) -> Callable[[dt.date], bool]:
        def ask(day: dt.date) -> bool:
            if value is None:
                raise calendar_queries.CalendarNotCovered(day.year)
            return value

        return ask

    def configure(*, working: bool | None, trading: bool | None) -> None:
        monkeypatch.setattr(calendar_queries, "is_working_day", answer(working))
        monkeypatch.setattr(calendar_queries, "is_trading_day", answer(trading))

    return configure


@pytest.fixture
def make_job(db: Any) -> Callable[..., Any]:
    """Make schedules in a table emptied first of the shipped ones (so tests see only their own)."""
    from huifang.scheduling.models import ScheduledJob

    ScheduledJob.objects.all().delete()
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> ScheduledJob:
        values: dict[str, Any] = {
            "name": f"job-{next(counter)}",
            "task_path": "huifang.scheduling.jobs.prune_finished_jobs",
            "kwargs": {"older_than_days": 7},
            "time_of_day": dt.time(2, 0),
            "day_kind": "every_day",
        }
        values.update(fields)
        return ScheduledJob.objects.create(**values)

    return make
