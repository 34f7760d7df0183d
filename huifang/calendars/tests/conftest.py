import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps

from huifang.calendars import queries
from huifang.calendars.models import CoveredYear

seed_migration = importlib.import_module("huifang.calendars.migrations.0002_seed_holidays_2004_2026")


@pytest.fixture(autouse=True)
def fresh_calendar() -> Iterator[None]:
    """Each test reads the table afresh: the per-process copy must not carry one test's rows into another."""
    queries.invalidate_calendar_cache()
    yield
    queries.invalidate_calendar_cache()


@pytest.fixture
def seeded(db: Any) -> None:
    """The table as migration 0002 leaves it (2004–2026). Re-applied only if a transactional test emptied it."""
    if not CoveredYear.objects.filter(year=2026).exists():
        seed_migration.seed_holidays(apps, None)
