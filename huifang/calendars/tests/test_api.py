"""/api/v1/calendar: the same answers as the queries; 422 for an uncovered year or an unreadable argument."""

from collections.abc import Callable

import pytest
from django.contrib.auth.base_user import AbstractBaseUser as User
from django.test import Client

pytestmark = pytest.mark.usefixtures("seeded")

Login = Callable[[User], Client]


def test_a_make_up_sunday_is_a_working_day_but_not_a_trading_day(login: Login, agent_a: User) -> None:
    response = login(agent_a).get("/api/v1/calendar/days/2026-01-04")
    assert response.status_code == 200
    assert response.json() == {"date": "2026-01-04", "is_working_day": True, "is_trading_day": False,
                               "name": "元旦"}


def test_a_holiday_is_named_and_a_plain_weekday_is_both(login: Login, agent_a: User) -> None:
    client = login(agent_a)
    assert client.get("/api/v1/calendar/days/2026-10-01").json() == {
        "date": "2026-10-01", "is_working_day": False, "is_trading_day": False, "name": "国庆节"}
    assert client.get("/api/v1/calendar/days/2026-11-23").json() == {
        "date": "2026-11-23", "is_working_day": True, "is_trading_day": True, "name": ""}


def test_next_trading_day_skips_the_break(login: Login, agent_a: User) -> None:
    response = login(agent_a).get("/api/v1/calendar/next-trading-day", {"date": "2026-09-30"})
    assert response.status_code == 200
    assert response.json() == {"date": "2026-09-30", "next_trading_day": "2026-10-08"}


def test_add_and_nth_working_days(login: Login, agent_a: User) -> None:
    client = login(agent_a)
    assert client.get("/api/v1/calendar/add-working-days", {"date": "2026-02-13", "n": "2"}).json() == {
        "date": "2026-02-24"}
    assert client.get("/api/v1/calendar/nth-working-day", {"month": "2026-10", "n": "3"}).json() == {
        "date": "2026-10-10"}


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/calendar/days/2027-01-04", {}),
        ("/api/v1/calendar/next-trading-day", {"date": "2026-12-31"}),
        ("/api/v1/calendar/add-working-days", {"date": "2026-12-30", "n": 5}),
        ("/api/v1/calendar/nth-working-day", {"month": "2027-01", "n": 1}),
    ],
)
def test_an_uncovered_year_answers_422_with_the_chinese_message(
    login: Login, agent_a: User, url: str, params: dict[str, str | int]
) -> None:
    response = login(agent_a).get(url, params)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("2027 年的节假日未录入日历表")


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        ("/api/v1/calendar/days/2026-02-30", {}, "日期无效"),
        ("/api/v1/calendar/days/today", {}, "YYYY-MM-DD"),
        ("/api/v1/calendar/next-trading-day", {"date": "20260213"}, "日期无效"),
        ("/api/v1/calendar/nth-working-day", {"month": "2026-13", "n": 1}, "月份无效"),
        ("/api/v1/calendar/nth-working-day", {"month": "2026-02", "n": 0}, "第 0 个"),
    ],
)
def test_a_bad_argument_answers_422_saying_what_is_wrong(
    login: Login, agent_a: User, url: str, params: dict[str, str | int], message: str
) -> None:
    response = login(agent_a).get(url, params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_a_missing_or_non_numeric_n_answers_422(login: Login, agent_a: User) -> None:
    client = login(agent_a)
    assert client.get("/api/v1/calendar/add-working-days", {"date": "2026-02-13"}).status_code == 422
    assert client.get("/api/v1/calendar/add-working-days", {"date": "2026-02-13", "n": "x"}).status_code == 422


def test_anonymous_callers_get_401(client: Client) -> None:
    assert client.get("/api/v1/calendar/days/2026-01-04").status_code == 401
