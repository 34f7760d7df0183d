"""The daily coverage check."""

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huifang.calendars.jobs import check_calendar_coverage

pytestmark = pytest.mark.usefixtures("seeded")


def test_it_warns_about_next_year_missing(time_machine: Any, caplog: pytest.LogCaptureFixture) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 22, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with caplog.at_level(logging.WARNING, logger="huifang.calendars.jobs"):
        assert check_calendar_coverage.call() == [2027]
    assert "2027 年的节假日未录入日历表" in caplog.text


def test_it_is_quiet_when_this_year_and_next_are_covered(time_machine: Any, caplog: pytest.LogCaptureFixture) -> None:
    time_machine.move_to(dt.datetime(2025, 3, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with caplog.at_level(logging.WARNING, logger="huifang.calendars.jobs"):
        assert check_calendar_coverage.call() == []
    assert caplog.text == ""
