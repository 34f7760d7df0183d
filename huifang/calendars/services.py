"""Writes to the holiday table. The calendar page, the administration pages and the `calendar` command all
come here; every change is audited and drops the cached calendar."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from huifang.audit.services import model_changes, record_action
from huifang.calendars import rules
from huifang.calendars.models import CoveredYear, SpecialDay
from huifang.calendars.queries import invalidate_calendar_cache


def _drop_cached_calendar() -> None:
    # Now, so this request sees its own change; again on commit, in case another thread of this process
    # re-read the table between now and the commit.
    invalidate_calendar_cache()
    transaction.on_commit(invalidate_calendar_cache)


def _day_fields(day: SpecialDay) -> dict[str, Any]:
    return {"date": day.date.isoformat(), "kind": day.kind, "name": day.name}


def _year_fields(covered: CoveredYear) -> dict[str, Any]:
    return {"year": covered.year, "source": covered.source, "note": covered.note}


@transaction.atomic
def seed_from_chinesecalendar(*, years: Iterable[int] | None = None, actor: Any = None) -> dict[int, int]:
    """Copy the holidays and make-up working days of `years` (default: every year the installed
    chinesecalendar covers) into the table and mark those years covered.

    Preconditions: every year is one chinesecalendar covers, else ValueError and nothing is written.
    Side effects: inserts the official days not in the table yet; a date already in the table (for example
    one an administrator edited) is left as it is. Creates the CoveredYear rows that are missing, writes one
    audit entry per year and drops the cached calendar. Returns {year: number of days added}."""
    wanted = sorted(set(rules.official_years() if years is None else years))
    # Read every year first, so an unsupported year fails before anything is written.
    official = {year: rules.official_days(year) for year in wanted}
    added: dict[int, int] = {}
    for year, days in official.items():
        existing = set(SpecialDay.objects.filter(date__year=year).values_list("date", flat=True))
        new_days = [
            SpecialDay(date=day.date, kind=day.kind, name=day.name)
            for day in days
            if day.date not in existing
        ]
        SpecialDay.objects.bulk_create(new_days)
        covered, created = CoveredYear.objects.get_or_create(year=year, defaults={"source": rules.SOURCE})
        added[year] = len(new_days)
        record_action(
            actor=actor,
            action="seed",
            obj=covered,
            summary=f"从 {rules.SOURCE} 导入 {year} 年节假日：新增 {len(new_days)} 天"
            + ("" if created else "（该年已在日历表中）"),
            changes={"year": year, "days_added": len(new_days), "source": rules.SOURCE},
        )
    _drop_cached_calendar()
    return added


@transaction.atomic
def save_special_day(*, day: SpecialDay, actor: Any) -> SpecialDay:
    """Validate and save `day` (new or changed, e.g. from an administration form).

    Preconditions: none beyond the model's rules. Raises ValidationError (nothing saved) for a make-up
    working day that is not a weekend day, an exchange closure on a weekend, or a date already listed.
    Side effects: saves the row, writes a create/update audit entry with the changed fields, drops the
    cached calendar."""
    before = None
    if day.pk is not None:
        old = SpecialDay.objects.filter(pk=day.pk).first()
        before = _day_fields(old) if old is not None else None
    day.full_clean()
    day.save()
    after = _day_fields(day)
    record_action(
        actor=actor,
        action="update" if before else "create",
        obj=day,
        summary=("修改" if before else "新增") + f"日历特殊日 {day}",
        changes=model_changes(before or {}, after),
    )
    _drop_cached_calendar()
    return day


def set_special_day(*, date: dt.date, kind: str, name: str = "", actor: Any) -> SpecialDay:
    """Make `date` a holiday, a make-up working day or an exchange closure, creating or changing its row.

    Preconditions and side effects: those of `save_special_day`; `kind` must be a DayKind value."""
    day = SpecialDay.objects.filter(date=date).first() or SpecialDay(date=date)
    day.kind = kind
    day.name = name.strip()
    return save_special_day(day=day, actor=actor)


@transaction.atomic
def delete_special_day(*, day: SpecialDay, actor: Any) -> None:
    """Remove `day` from the table: the date becomes a plain weekday or weekend day again.

    Side effects: deletes the row, writes a delete audit entry with the old values, drops the cached
    calendar."""
    record_action(actor=actor, action="delete", obj=day, summary=f"删除日历特殊日 {day}",
                  changes={"before": _day_fields(day)})
    day.delete()
    _drop_cached_calendar()


def clear_special_day(*, date: dt.date, actor: Any) -> bool:
    """Remove the row of `date` if there is one (see `delete_special_day`). Returns whether a row went."""
    day = SpecialDay.objects.filter(date=date).first()
    if day is None:
        return False
    delete_special_day(day=day, actor=actor)
    return True


@transaction.atomic
def save_covered_year(*, covered: CoveredYear, actor: Any) -> CoveredYear:
    """Validate and save a CoveredYear: from then on dates of that year are answered from the table.

    Preconditions: the year has at least one holiday in the table (ValidationError otherwise: an empty year
    would make every weekday a working day, which is a guess). Side effects: saves the row, writes a
    create/update audit entry, drops the cached calendar."""
    before = None
    if covered.pk is not None:
        old = CoveredYear.objects.filter(pk=covered.pk).first()
        before = _year_fields(old) if old is not None else None
    covered.full_clean()
    covered.save()
    record_action(
        actor=actor,
        action="update" if before else "create",
        obj=covered,
        summary=("修改" if before else "确认") + f"日历覆盖年份 {covered.year}",
        changes=model_changes(before or {}, _year_fields(covered)),
    )
    _drop_cached_calendar()
    return covered


def mark_year_covered(*, year: int, source: str = "", note: str = "", actor: Any) -> CoveredYear:
    """Declare the holidays of `year` complete. Preconditions and side effects: those of
    `save_covered_year`."""
    covered = CoveredYear.objects.filter(year=year).first() or CoveredYear(year=year)
    covered.source = source or covered.source
    covered.note = note or covered.note
    return save_covered_year(covered=covered, actor=actor)


@transaction.atomic
def uncover_year(*, covered: CoveredYear, actor: Any) -> None:
    """Withdraw a year: its dates raise CalendarNotCovered again (its special days stay in the table).

    Side effects: deletes the row, writes a delete audit entry, drops the cached calendar."""
    record_action(actor=actor, action="delete", obj=covered, summary=f"撤销日历覆盖年份 {covered.year}",
                  changes={"before": _year_fields(covered)})
    covered.delete()
    _drop_cached_calendar()
