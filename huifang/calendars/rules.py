"""What the official schedule says, read from the `chinesecalendar` package. Pure: no ORM.

chinesecalendar publishes the State Council's schedule (holidays and make-up working days) one year at a
time; the installed version's range is the only range it may seed. Its holiday names are English; the
table stores the Chinese ones."""

import datetime as dt
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar import constants

SOURCE = f"chinesecalendar {chinese_calendar.__version__}"

HOLIDAY_NAMES_ZH: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@dataclass(frozen=True)
class OfficialDay:
    date: dt.date
    kind: str  # a DayKind value: "holiday" or "workday"
    name: str


def official_years() -> range:
    """The years the installed chinesecalendar covers (2004–2026 for version 1.11)."""
    years = [day.year for day in constants.holidays]
    return range(min(years), max(years) + 1)


def official_days(year: int) -> list[OfficialDay]:
    """The holidays and make-up working days of `year`, by date. Raises ValueError for a year the installed
    chinesecalendar does not cover."""
    if year not in official_years():
        raise ValueError(f"chinesecalendar {chinese_calendar.__version__} 没有 {year} 年的节假日数据")
    holidays = [
        OfficialDay(day, "holiday", HOLIDAY_NAMES_ZH.get(str(name), str(name)))
        for day, name in constants.holidays.items()
        if day.year == year
    ]
    workdays = [
        OfficialDay(day, "workday", HOLIDAY_NAMES_ZH.get(str(name), str(name)))
        for day, name in constants.workdays.items()
        if day.year == year
    ]
    return sorted(holidays + workdays, key=lambda official: official.date)
