"""Writing the table: seeding, editing days and years, the audit trail, and the per-process copy."""

import datetime as dt

import chinese_calendar
import pytest
from django.contrib.auth.base_user import AbstractBaseUser as User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from huifang.audit.models import AuditEntry
from huifang.calendars import queries, services
from huifang.calendars.models import CoveredYear, DayKind, SpecialDay

D = dt.date

pytestmark = pytest.mark.usefixtures("seeded")


def test_the_table_agrees_with_chinesecalendar_on_every_day_from_2004_to_2026() -> None:
    day = D(2004, 1, 1)
    disagreements = []
    while day.year <= 2026:
        if queries.is_working_day(day) != chinese_calendar.is_workday(day):
            disagreements.append(day)
        day += dt.timedelta(days=1)
    assert disagreements == []


def test_seeding_again_adds_nothing_and_keeps_an_administrators_edit(admin_user: User) -> None:
    services.set_special_day(date=D(2026, 1, 3), kind=DayKind.HOLIDAY, name="元旦（已核对）", actor=admin_user)
    added = services.seed_from_chinesecalendar(years=[2025, 2026], actor=None)
    assert added == {2025: 0, 2026: 0}
    assert SpecialDay.objects.get(date=D(2026, 1, 3)).name == "元旦（已核对）"


def test_seeding_a_year_restores_its_missing_days_and_is_audited() -> None:
    SpecialDay.objects.filter(date__year=2025).delete()
    CoveredYear.objects.filter(year=2025).delete()
    added = services.seed_from_chinesecalendar(years=[2025], actor=None)
    assert added[2025] == SpecialDay.objects.filter(date__year=2025).count() > 20
    assert CoveredYear.objects.get(year=2025).source.startswith("chinesecalendar")
    entry = AuditEntry.objects.get(action="seed")
    assert entry.actor_name == "system"
    assert entry.changes["days_added"] == added[2025]


def test_seeding_a_year_chinesecalendar_lacks_writes_nothing() -> None:
    with pytest.raises(ValueError, match="2027"):
        services.seed_from_chinesecalendar(years=[2026, 2027])
    assert not AuditEntry.objects.filter(action="seed").exists()


def test_setting_a_day_is_audited_with_the_changed_fields(admin_user: User) -> None:
    services.set_special_day(date=D(2026, 10, 10), kind=DayKind.WORKDAY, name="国庆节调休", actor=admin_user)
    entry = AuditEntry.objects.get(action="update", object_type="calendars.specialday")
    assert entry.actor_name == admin_user.get_username()
    assert entry.changes == {"name": ["国庆节", "国庆节调休"]}


def test_a_make_up_working_day_on_a_weekday_is_refused(admin_user: User) -> None:
    with pytest.raises(ValidationError) as raised:
        services.set_special_day(date=D(2026, 3, 2), kind=DayKind.WORKDAY, actor=admin_user)
    assert "kind" in raised.value.message_dict
    assert not SpecialDay.objects.filter(date=D(2026, 3, 2)).exists()
    assert not AuditEntry.objects.filter(object_type="calendars.specialday").exists()


def test_an_exchange_closure_on_a_weekend_is_refused(admin_user: User) -> None:
    with pytest.raises(ValidationError):
        services.set_special_day(date=D(2026, 3, 7), kind=DayKind.MARKET_CLOSED, actor=admin_user)


def test_an_exchange_closure_keeps_the_working_day_but_not_the_trading_day(admin_user: User) -> None:
    services.set_special_day(date=D(2026, 3, 2), kind=DayKind.MARKET_CLOSED, name="休市", actor=admin_user)
    assert queries.is_working_day(D(2026, 3, 2))
    assert not queries.is_trading_day(D(2026, 3, 2))
    assert queries.next_trading_day(D(2026, 2, 27)) == D(2026, 3, 3)


def test_an_unknown_kind_is_refused_by_the_database() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        SpecialDay.objects.create(date=D(2026, 3, 4), kind="nap")


def test_a_service_change_is_seen_at_once_in_this_process(admin_user: User) -> None:
    assert queries.is_working_day(D(2026, 3, 2))
    services.set_special_day(date=D(2026, 3, 2), kind=DayKind.HOLIDAY, name="测试", actor=admin_user)
    assert not queries.is_working_day(D(2026, 3, 2))
    services.clear_special_day(date=D(2026, 3, 2), actor=admin_user)
    assert queries.is_working_day(D(2026, 3, 2))
    entries = AuditEntry.objects.filter(object_type="calendars.specialday").order_by("id")
    assert list(entries.values_list("action", flat=True)) == ["create", "delete"]


def test_a_change_made_by_another_process_shows_after_the_cache_time(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(queries, "_clock", lambda: now[0])
    assert queries.is_working_day(D(2026, 3, 2))
    # Another process writes the row: this process's services never hear of it.
    SpecialDay.objects.create(date=D(2026, 3, 2), kind=DayKind.HOLIDAY)
    now[0] += queries.CACHE_SECONDS - 1
    assert queries.is_working_day(D(2026, 3, 2))
    now[0] += 2
    assert not queries.is_working_day(D(2026, 3, 2))


def test_a_year_can_be_covered_only_once_its_holidays_are_entered(admin_user: User) -> None:
    with pytest.raises(ValidationError, match="2027"):
        services.mark_year_covered(year=2027, actor=admin_user)
    services.set_special_day(date=D(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦", actor=admin_user)
    with pytest.raises(queries.CalendarNotCovered):
        queries.is_working_day(D(2027, 1, 1))
    services.mark_year_covered(year=2027, source="国务院办公厅通知", actor=admin_user)
    assert not queries.is_working_day(D(2027, 1, 1))
    assert queries.is_working_day(D(2027, 1, 4))
    assert AuditEntry.objects.filter(object_type="calendars.coveredyear", action="create").exists()


def test_withdrawing_a_year_makes_it_refused_again(admin_user: User) -> None:
    services.uncover_year(covered=CoveredYear.objects.get(year=2026), actor=admin_user)
    with pytest.raises(queries.CalendarNotCovered, match="2026"):
        queries.is_working_day(D(2026, 6, 1))
    assert SpecialDay.objects.filter(date__year=2026).exists()
