"""The calendar page (/calendar/): the year view, the coverage banner, and editing by administrators only."""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.base_user import AbstractBaseUser as User
from django.test import Client

from huifang.audit.models import AuditEntry
from huifang.calendars import queries
from huifang.calendars.models import CoveredYear, DayKind, SpecialDay

pytestmark = pytest.mark.usefixtures("seeded")

Login = Callable[[User], Client]
SHANGHAI = ZoneInfo("Asia/Shanghai")
HTMX = {"HX-Request": "true"}


def banners(html: str) -> list[str]:
    return re.findall(r'<div class="banner warning" role="alert">(.*?)</div>', html, re.S)


@pytest.fixture
def on_22_nov_2026(time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI))


@pytest.mark.usefixtures("on_22_nov_2026")
def test_admin_sees_a_banner_that_2027_is_not_covered(login: Login, admin_user: User) -> None:
    html = login(admin_user).get("/").content.decode()
    assert banners(html) == [
        "2027 年的节假日尚未录入日历表，无法计算 2027 年的工作日和交易日。"
        "请在 管理后台 › 日历 中补录，并将该年标记为已覆盖。"
    ]


@pytest.mark.usefixtures("on_22_nov_2026")
def test_the_banner_goes_once_2027_is_covered(login: Login, admin_user: User) -> None:
    SpecialDay.objects.create(date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    CoveredYear.objects.create(year=2027)
    queries.invalidate_calendar_cache()
    assert banners(login(admin_user).get("/").content.decode()) == []


def test_no_banner_in_2025_when_this_year_and_next_are_covered(
    login: Login, admin_user: User, time_machine: Any
) -> None:
    time_machine.move_to(dt.datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI))
    assert banners(login(admin_user).get("/").content.decode()) == []


@pytest.mark.usefixtures("on_22_nov_2026")
def test_users_who_cannot_edit_the_calendar_see_no_banner(login: Login, hq_supervisor: User) -> None:
    assert banners(login(hq_supervisor).get("/").content.decode()) == []


def test_the_year_view_lists_holidays_make_up_days_and_the_month_counts(login: Login, admin_user: User) -> None:
    response = login(admin_user).get("/calendar/", {"year": 2026})
    html = response.content.decode()
    assert response.status_code == 200
    assert "2026 年已录入日历表" in html
    assert html.count("<td>春节</td>") == 11  # 9 days off, 2 make-up Saturdays
    assert "调休上班日" in html
    # February 2026: 16 working days (the make-up Saturdays included), 14 trading days.
    assert re.search(r"<td>2026-02</td><td class=\"num\">16</td><td class=\"num\">14</td>", html)


def test_an_uncovered_year_shows_its_state_and_no_answers(login: Login, admin_user: User) -> None:
    response = login(admin_user).get("/calendar/", {"year": 2027}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html  # the htmx partial only
    assert "2027 年尚未录入" in html
    assert "从 chinesecalendar 导入" not in html  # the installed chinesecalendar has no 2027
    assert "将 2027 年标记为已覆盖" not in html  # nothing entered yet


def test_hq_supervisor_may_look_but_gets_no_edit_form_and_403_on_editing(
    login: Login, hq_supervisor: User
) -> None:
    client = login(hq_supervisor)
    assert "设置特殊日" not in client.get("/calendar/").content.decode()
    response = client.post("/calendar/days/", {"date": "2026-03-02", "kind": "holiday", "name": "x"})
    assert response.status_code == 403
    assert not SpecialDay.objects.filter(date=dt.date(2026, 3, 2)).exists()


def test_agent_gets_403_on_the_page_and_on_editing(login: Login, agent_a: User) -> None:
    client = login(agent_a)
    assert client.get("/calendar/").status_code == 403
    assert client.post("/calendar/days/", {"date": "2026-03-02", "kind": "holiday"}).status_code == 403
    assert client.post("/calendar/days/2026-01-04/clear/").status_code == 403
    assert client.post("/calendar/years/2027/cover/").status_code == 403
    assert SpecialDay.objects.filter(date=dt.date(2026, 1, 4)).exists()


def test_admin_sets_a_day_with_htmx_and_the_answer_changes_at_once(login: Login, admin_user: User) -> None:
    assert queries.is_trading_day(dt.date(2026, 3, 2))
    response = login(admin_user).post(
        "/calendar/days/", {"date": "2026-03-02", "kind": "closed", "name": "临时休市", "year": "2026"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<td>临时休市</td>" in html
    assert "2026-03-02 已保存" in html
    assert not queries.is_trading_day(dt.date(2026, 3, 2))
    assert AuditEntry.objects.filter(object_type="calendars.specialday", action="create").exists()


def test_a_make_up_day_on_a_weekday_is_refused_with_the_reason(login: Login, admin_user: User) -> None:
    response = login(admin_user).post("/calendar/days/", {"date": "2026-03-02", "kind": "workday"}, headers=HTMX)
    assert "调休上班日必须是星期六或星期日" in response.content.decode()
    assert not SpecialDay.objects.filter(date=dt.date(2026, 3, 2)).exists()


def test_admin_removes_a_day(login: Login, admin_user: User) -> None:
    response = login(admin_user).post("/calendar/days/2026-01-04/clear/")
    assert response.status_code == 302
    assert not SpecialDay.objects.filter(date=dt.date(2026, 1, 4)).exists()
    assert not queries.is_working_day(dt.date(2026, 1, 4))


def test_admin_enters_2027_and_marks_it_covered(login: Login, admin_user: User) -> None:
    client = login(admin_user)
    refused = client.post("/calendar/years/2027/cover/", follow=True).content.decode()
    assert "请先录入 2027 年的节假日" in refused
    client.post("/calendar/days/", {"date": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert "将 2027 年标记为已覆盖" in client.get("/calendar/", {"year": 2027}).content.decode()
    client.post("/calendar/years/2027/cover/")
    assert queries.is_working_day(dt.date(2027, 1, 4))
    assert not queries.is_working_day(dt.date(2027, 1, 1))


def test_admin_imports_a_year_chinesecalendar_has(login: Login, admin_user: User) -> None:
    SpecialDay.objects.filter(date__year=2025).delete()
    CoveredYear.objects.filter(year=2025).delete()
    client = login(admin_user)
    assert "从 chinesecalendar 导入 2025 年" in client.get("/calendar/", {"year": 2025}).content.decode()
    html = client.post("/calendar/years/2025/import/", headers=HTMX).content.decode()
    assert "2025 年已录入日历表" in html
    assert not queries.is_working_day(dt.date(2025, 1, 1))


def test_an_unreadable_date_is_refused_by_the_form(login: Login, admin_user: User) -> None:
    response = login(admin_user).post(
        "/calendar/days/", {"date": "2026-02-30", "kind": "holiday", "year": "2026"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx answers, so the errors are shown
    assert 'class="errorlist"' in html
    assert "2026 年已录入日历表" in html
    assert not SpecialDay.objects.filter(date__year=2026, name="").exists()
