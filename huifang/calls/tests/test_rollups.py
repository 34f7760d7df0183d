"""The reports' roll-ups: counted up as outcomes are registered and calls end, on the local day, and rebuilt from
the raw rows to the very same rows."""

import datetime as dt
from collections import Counter
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, CallStat, OutcomeStat
from huifang.calls.services import CallError, dial_customer, handle_call_event, register_outcome
from huifang.calls.tests.conftest import FakeExchange
from huifang.customers.models import Customer
from huifang.integrations.telephony.base import CallEvent, CallState, EndCause, TelephonyError
from huifang.org.models import User

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
#: 23:59 and 00:01 local: one minute apart, two days apart
LATE = dt.datetime(2026, 11, 3, 23, 59, tzinfo=SHANGHAI)
EARLY = dt.datetime(2026, 11, 4, 0, 1, tzinfo=SHANGHAI)


def _independent_outcome_counts() -> Counter[tuple[Any, ...]]:
    """What the roll-up must say, counted one link at a time in Python."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for link in CallCallback.objects.filter(outcome__isnull=False).select_related("call", "callback", "outcome"):
        assert link.outcome is not None and link.registered_at is not None
        key = (link.registered_at.astimezone(SHANGHAI).date(), link.call.branch_id, link.call.agent_id,
               link.callback.callback_type_id, link.outcome.code)
        counts[(*key, "attempts")] += 1
        counts[(*key, "connected")] += int(link.outcome.connected)
        counts[(*key, "successes")] += int(link.outcome.code == "success")
    return +counts


def _stored_outcome_counts() -> Counter[tuple[Any, ...]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in OutcomeStat.objects.select_related("outcome"):
        key = (row.day, row.branch_id, row.agent_id, row.callback_type_id, row.outcome.code)
        counts[(*key, "attempts")] += row.attempts
        counts[(*key, "connected")] += row.connected
        counts[(*key, "successes")] += row.successes
    return +counts


def _rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return (sorted(OutcomeStat.objects.values_list("day", "branch_id", "agent_id", "callback_type_id",
                                                   "outcome_id", "attempts", "connected", "successes")),
            sorted(CallStat.objects.values_list("day", "branch_id", "agent_id", "calls", "answered",
                                                "talk_seconds", "handle_seconds")))


@pytest.fixture
def a_day_of_calls(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                   fake_exchange: FakeExchange) -> list[Call]:
    """Four calls around local midnight: answered (a success and a refusal), not answered (automatic), answered
    again after midnight (a success)."""
    calls = []
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    fake_exchange.script = ["answered", "no_answer"]
    with time_machine.travel(LATE, tick=False):
        call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
        register_outcome(call=call, callback=first, outcome_code="success", by=agent_a)
        register_outcome(call=call, callback=second, outcome_code="refused", by=agent_a)
        calls.append(call)
    third = hold(customer_a, "large_transfer")
    with time_machine.travel(LATE + dt.timedelta(seconds=50), tick=False):
        calls.append(dial_customer(agent=agent_a, customer=customer_a, callbacks=[third]))
    fourth = hold(customer_a, "info_change")
    fake_exchange.script = ["answered"]
    with time_machine.travel(EARLY, tick=False):
        call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[fourth])
        register_outcome(call=call, callback=fourth, outcome_code="success", by=agent_a)
        calls.append(call)
    return calls


def test_outcomes_are_counted_as_they_are_registered_on_their_local_day(a_day_of_calls: list[Call]) -> None:
    assert _stored_outcome_counts() == _independent_outcome_counts()
    by_day = {row["day"]: row for row in rollups.outcome_totals(start=LATE.date(), end=EARLY.date(), by=["day"])}
    assert by_day[LATE.date()] == {"day": LATE.date(), "attempts": 3, "connected": 2, "successes": 1}
    assert by_day[EARLY.date()] == {"day": EARLY.date(), "attempts": 1, "connected": 1, "successes": 1}


def test_calls_are_counted_once_when_they_end_on_the_day_they_were_dialed(a_day_of_calls: list[Call]) -> None:
    totals = {row["day"]: row for row in rollups.call_totals(start=LATE.date(), end=EARLY.date(), by=["day"])}
    # the first answered call was dialed at 23:59 and ended after midnight: it is the day it was dialed
    assert totals[LATE.date()]["calls"] == 2 and totals[LATE.date()]["answered"] == 1
    assert totals[EARLY.date()]["calls"] == 1
    ended = Call.objects.all()
    assert sum(row["talk_seconds"] for row in totals.values()) == sum(c.duration_seconds for c in ended)
    assert sum(row["handle_seconds"] for row in totals.values()) == sum(
        int((c.ended_at - c.dialed_at).total_seconds()) for c in ended if c.ended_at)


def test_a_repeated_end_event_counts_the_call_once(a_day_of_calls: list[Call]) -> None:
    call = a_day_of_calls[0]
    before = _rows()
    assert call.ended_at is not None
    handle_call_event(CallEvent(call.exchange_call_id, call.serial, CallState.ENDED, call.ended_at,
                                cause=EndCause.NORMAL))
    assert _rows() == before


def test_a_second_registration_of_an_outcome_is_refused_and_not_counted(agent_a: User,
                                                                      a_day_of_calls: list[Call]) -> None:
    call = a_day_of_calls[0]
    link = CallCallback.objects.filter(call=call).order_by("id").first()
    assert link is not None
    before = _rows()
    with pytest.raises(CallError):
        register_outcome(call=call, callback=link.callback, outcome_code="refused", by=agent_a)
    assert _rows() == before


def test_a_dial_that_fails_at_once_is_counted_as_a_call_not_answered(
        agent_a: User, customer_a: Customer, hold: Callable[..., Callback], fake_exchange: FakeExchange) -> None:
    fake_exchange.fail = TelephonyError("交换机不可用")
    with pytest.raises(CallError):
        dial_customer(agent=agent_a, customer=customer_a, callbacks=[hold(customer_a)])
    today = timezone.localdate()
    assert rollups.call_totals(start=today, end=today) == [
        {"calls": 1, "answered": 0, "talk_seconds": 0, "handle_seconds": 0}]


def test_rebuild_gives_the_same_rows_as_the_incremental_counts(a_day_of_calls: list[Call]) -> None:
    incremental = _rows()
    assert incremental[0] and incremental[1]
    OutcomeStat.objects.all().delete()
    CallStat.objects.all().delete()
    assert rollups.rebuild() == {"outcomes": len(incremental[0]), "calls": len(incremental[1])}
    assert _rows() == incremental
    assert rollups.differences() == []


def test_rebuild_of_one_day_leaves_the_other_days_alone(a_day_of_calls: list[Call]) -> None:
    incremental = _rows()
    OutcomeStat.objects.filter(day=EARLY.date()).update(attempts=99)
    rollups.rebuild(EARLY.date(), EARLY.date())
    assert _rows() == incremental


def test_check_command_finds_a_tampered_row_and_rebuild_repairs_it(a_day_of_calls: list[Call]) -> None:
    OutcomeStat.objects.filter(day=LATE.date()).update(attempts=7)
    with pytest.raises(CommandError) as refused:
        call_command("rollups", "check", stdout=StringIO())
    assert refused.value.returncode == 1
    out = StringIO()
    call_command("rollups", "rebuild", "--from", "2026-11-03", "--to", "2026-11-03", stdout=out)
    assert "已重建" in out.getvalue()
    out = StringIO()
    call_command("rollups", "check", stdout=out)
    assert "一致" in out.getvalue()


def test_check_command_refuses_a_bad_date() -> None:
    with pytest.raises(CommandError) as refused:
        call_command("rollups", "check", "--from", "2026-13-01")
    assert refused.value.returncode == 2


def test_totals_are_limited_to_the_branches_the_user_sees(a_day_of_calls: list[Call], agent_b: User,
                                                         agent_a: User) -> None:
    span: dict[str, Any] = {"start": LATE.date(), "end": EARLY.date()}
    assert rollups.outcome_totals(**span, user=agent_b) == [{"attempts": 0, "connected": 0, "successes": 0}]
    assert rollups.outcome_totals(**span, user=agent_b, by=["branch"]) == []
    mine = rollups.outcome_totals(**span, user=agent_a, by=["branch"])
    assert [row["attempts"] for row in mine] == [4]
    with pytest.raises(ValueError, match="无法按"):
        rollups.outcome_totals(**span, by=["customer"])


def test_handle_seconds_are_whole_seconds_the_same_way_in_sql_as_in_python(agent_a: User,
                                                                          customer_a: Customer) -> None:
    # 1.2 s and 1.9 s are 1 whole second each, 3.0 s is 3: julianday's or epoch's rounding would differ
    spans = [(LATE + dt.timedelta(microseconds=900_000), LATE + dt.timedelta(seconds=2, microseconds=100_000)),
             (LATE, LATE + dt.timedelta(seconds=1, microseconds=900_000)),
             (LATE, LATE + dt.timedelta(seconds=3))]
    for number, (dialed, ended) in enumerate(spans):
        call = Call.objects.create(serial=f"T{number}", agent=agent_a, customer=customer_a, phone_masked="138****1111",
                                   branch=customer_a.branch, state="ended", dialed_at=dialed, ended_at=ended)
        rollups.count_call(call)
    assert rollups.call_totals(start=LATE.date(), end=LATE.date())[0]["handle_seconds"] == 5
    incremental = _rows()
    rollups.rebuild()
    assert _rows() == incremental
