import datetime as dt
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from huifang.callbacks.queue import Nothing, Taken, take_next_callback
from huifang.campaigns.models import CallbackType
from huifang.org.models import User

#: 22:30 in Beijing: after the shipped calling hours (09:00–20:30)
EVENING = dt.datetime(2026, 12, 2, 22, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _demo(time_machine: Any, **options: Any) -> str:
    time_machine.move_to(EVENING, tick=False)
    out = StringIO()
    call_command("demo_data", customers=400, seed=7, stdout=out, **options)
    return out.getvalue()


def _an_agent_with_work() -> User:
    agent = User.objects.filter(agent_no__gt="", branch__code="3101").order_by("username").first()
    assert agent is not None
    return agent


@pytest.mark.django_db
def test_the_demo_gives_an_agent_work_in_the_evening(time_machine: Any) -> None:
    text = _demo(time_machine)
    assert "呼叫时段放宽为全天" in text
    assert set(CallbackType.objects.values_list("calling_starts_at", "calling_ends_at")) == {
        (dt.time(0, 0), dt.time(23, 59, 59))}
    taken = take_next_callback(agent=_an_agent_with_work(), now=EVENING)
    assert isinstance(taken, Taken)


@pytest.mark.django_db
def test_the_demo_keeps_the_shipped_calling_hours_when_asked(time_machine: Any) -> None:
    text = _demo(time_machine, keep_calling_hours=True)
    assert "呼叫时段放宽为全天" not in text
    assert set(CallbackType.objects.values_list("calling_starts_at", "calling_ends_at")) == {
        (dt.time(9, 0), dt.time(20, 30))}
    nothing = take_next_callback(agent=_an_agent_with_work(), now=EVENING)
    assert isinstance(nothing, Nothing)
    assert "呼叫时段" in nothing.reason
