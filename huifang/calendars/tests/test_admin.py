"""管理后台 › 日历 (/manage/calendars/): edits are audited and seen at once by the calendar."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.base_user import AbstractBaseUser as User
from django.test import Client

from huifang.audit.models import AuditEntry
from huifang.calendars import queries
from huifang.calendars.models import CoveredYear, SpecialDay

pytestmark = pytest.mark.usefixtures("seeded")

Login = Callable[[User], Client]
JAN_4 = dt.date(2026, 1, 4)


def test_editing_a_day_in_the_admin_drops_the_cached_calendar(login: Login, admin_user: User) -> None:
    assert queries.is_working_day(JAN_4)  # the calendar is now cached with Jan 4 as a make-up day
    day = SpecialDay.objects.get(date=JAN_4)
    response = login(admin_user).post(
        f"/manage/calendars/specialday/{day.pk}/change/", {"date": "2026-01-04", "kind": "holiday", "name": "元旦"}
    )
    assert response.status_code == 302, response.content.decode()
    assert not queries.is_working_day(JAN_4)
    entry = AuditEntry.objects.get(object_type="calendars.specialday", object_id=str(day.pk))
    assert (entry.action, entry.actor_name, entry.changes) == ("update", "sysadmin", {"kind": ["workday", "holiday"]})


def test_deleting_a_day_in_the_admin_is_audited_and_seen_at_once(login: Login, admin_user: User) -> None:
    assert queries.is_working_day(JAN_4)
    day = SpecialDay.objects.get(date=JAN_4)
    response = login(admin_user).post(f"/manage/calendars/specialday/{day.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not queries.is_working_day(JAN_4)
    assert AuditEntry.objects.filter(object_type="calendars.specialday", action="delete").count() == 1


def test_the_admin_form_refuses_a_make_up_day_on_a_weekday(login: Login, admin_user: User) -> None:
    response = login(admin_user).post(
        "/manage/calendars/specialday/add/", {"date": "2026-03-04", "kind": "workday", "name": ""}
    )
    assert response.status_code == 200
    assert "调休上班日必须是星期六或星期日" in response.content.decode()
    assert not SpecialDay.objects.filter(date=dt.date(2026, 3, 4)).exists()


def test_covering_a_year_in_the_admin_needs_its_holidays(login: Login, admin_user: User) -> None:
    client = login(admin_user)
    response = client.post("/manage/calendars/coveredyear/add/", {"year": "2027", "source": "", "note": ""})
    assert "请先录入 2027 年的节假日" in response.content.decode()
    client.post("/manage/calendars/specialday/add/", {"date": "2027-01-01", "kind": "holiday", "name": "元旦"})
    response = client.post("/manage/calendars/coveredyear/add/", {"year": "2027", "source": "国务院", "note": ""})
    assert response.status_code == 302
    assert CoveredYear.objects.filter(year=2027).exists()
    assert queries.is_working_day(dt.date(2027, 1, 4))


def test_the_admin_lists_days_for_an_administrator_only(login: Login, admin_user: User, agent_a: User) -> None:
    assert login(admin_user).get("/manage/calendars/specialday/", {"date__year": "2026"}).status_code == 200
    assert login(agent_a).get("/manage/calendars/specialday/").status_code == 302  # to the admin login
