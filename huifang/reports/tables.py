"""What a report is, independent of how it is shown: a title, a period, tables and charts. One report object
feeds the page (htmx + ECharts), the Excel export (one sheet per table) and the printable PDF, so the three always
show the same figures. Pure: no ORM."""

from dataclasses import dataclass, field
from typing import Any

from huifang.reports.periods import Period


def share(part: float, whole: float) -> str:
    """`part ÷ whole` as a percentage for a table cell (62.5%), "—" when there is nothing to divide by."""
    return f"{part / whole:.1%}" if whole else "—"


@dataclass
class Table:
    #: the sheet and section title, in Chinese (Excel sheet names: at most 31 characters, no []:*?/\)
    title: str
    #: column headers, in Chinese
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    #: an optional total row, shown last and set apart
    total: list[Any] | None = None
    #: a line under the table: what the figures mean, where they come from
    note: str = ""
    #: row indexes to highlight (e.g. a late quarterly roll-up, a quota not met)
    flagged: set[int] = field(default_factory=set)


@dataclass
class Chart:
    """An ECharts chart: `option` is the ECharts option object as JSON-ready data."""

    title: str
    option: dict[str, Any]


@dataclass
class Figure:
    """A headline number (a KPI) with how it is computed."""

    label: str
    value: str
    formula: str = ""
    #: "ok", "warn", "bad" or "" (no target)
    status: str = ""


@dataclass
class Report:
    #: the report's code in the registry (reports.registry)
    code: str
    title: str
    period: Period
    #: the branch the report is limited to ("" for every branch the user sees), for the title
    scope: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    #: lines shown under the title (e.g. the filing deadline of a quarterly roll-up)
    notes: list[str] = field(default_factory=list)
