"""Automatic outcomes: a call that ends unanswered with a not-connected cause registers that outcome for every
callback it served, so its policy applies without the agent (retry booked, number marked invalid, ...)."""

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.services import change_state
from huifang.calls import services
from huifang.calls.models import Call, CallCallback, ContactCorrection
from huifang.calls.services import CallError, dial_customer, handle_call_event, register_outcome
from huifang.calls.tests.conftest import FakeExchange
from huifang.customers.models import ContactPoint, Customer
from huifang.integrations.telephony.base import CallEvent, CallState, EndCause
from huifang.integrations.telephony.simulated import SimulatedExchange
from huifang.org.models import User

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MORNING = dt.datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI)


def _links(call: Call) -> list[CallCallback]:
    return list(CallCallback.objects.filter(call=call).select_related("outcome", "callback").order_by("id"))


@pytest.mark.parametrize("cause", ["no_answer", "busy", "powered_off", "unreachable"])
def test_a_retry_cause_books_the_retry_of_every_callback_served(
        cause: str, agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
        fake_exchange: FakeExchange) -> None:
    fake_exchange.script = [cause]
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    with time_machine.travel(MORNING, tick=False):
        call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
    assert (call.state, call.end_cause, call.answered_at) == (CallState.ENDED, cause, None)
    for link in _links(call):
        assert link.outcome is not None and link.outcome.code == cause
        assert link.registered_by == agent_a and link.registered_at is not None
        callback = link.callback
        assert (callback.state, callback.agent_id, callback.attempts, callback.result) == (
            State.ASSIGNED, agent_a.pk, 1, cause)
        assert callback.not_before is not None and callback.not_before > MORNING  # a later slot
        assert callback.held_at is None


def test_an_invalid_number_is_marked_once_and_the_agent_keeps_the_callbacks_for_the_next_phone(
        agent_a: User, customer_a: Customer, hold: Callable[..., Callback], fake_exchange: FakeExchange) -> None:
    fake_exchange.script = ["invalid_number", "suspended"]
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
    assert ContactPoint.objects.get(number="13800001111").validity == "invalid"
    correction = ContactCorrection.objects.get()
    assert (correction.outcome, correction.found_by_call_id) == ("invalid_number", call.pk)
    assert [(link.callback.state, link.callback.attempts) for link in _links(call)] == [(State.IN_PROGRESS, 1)] * 2
    # the next phone, suspended too: nothing is left, both fail
    again = dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
    assert again.phone is not None and again.phone.number == "13900002222"
    assert [(link.callback.state, link.callback.result) for link in _links(again)] == [(State.FAILED, "suspended")] * 2
    assert ContactCorrection.objects.count() == 2


@pytest.mark.parametrize("cause", ["agent_unavailable", "failed"])
def test_no_customer_outcome_when_the_agent_or_the_exchange_failed(
        cause: str, agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
        fake_exchange: FakeExchange) -> None:
    fake_exchange.script = [cause]
    callback = hold(customer_a)
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    assert call.end_cause == cause
    callback.refresh_from_db()
    assert (callback.state, callback.agent_id, callback.attempts, callback.result) == (
        State.IN_PROGRESS, agent_a.pk, 0, "")
    assert CallCallback.objects.get(call=call).outcome is None


def test_an_answered_call_leaves_the_outcome_to_the_agent(agent_a: User, customer_a: Customer,
                                                          hold: Callable[..., Callback],
                                                          fake_exchange: FakeExchange) -> None:
    callback = hold(customer_a)
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    assert call.end_cause == "normal" and CallCallback.objects.get(call=call).outcome is None
    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == (State.IN_PROGRESS, 0)


def test_a_repeated_ended_event_registers_nothing_twice(agent_a: User, customer_a: Customer,
                                                        hold: Callable[..., Callback],
                                                        fake_exchange: FakeExchange) -> None:
    fake_exchange.script = ["no_answer"]
    callback = hold(customer_a)
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    history = CallbackHistory.objects.filter(callback=callback).count()
    for _ in range(2):
        handle_call_event(CallEvent(call.exchange_call_id, call.serial, CallState.ENDED, timezone.now(),
                                    cause=EndCause.NO_ANSWER))
    callback.refresh_from_db()
    assert (callback.attempts, callback.state) == (1, State.ASSIGNED)
    assert CallbackHistory.objects.filter(callback=callback).count() == history
    # the agent registering the same outcome by hand is no error and changes nothing; another one is refused
    link = register_outcome(call=call, callback=callback, outcome_code="no_answer", by=agent_a)
    assert link.outcome is not None and link.outcome.code == "no_answer"
    callback.refresh_from_db()
    assert callback.attempts == 1
    with pytest.raises(CallError, match="已登记"):
        register_outcome(call=call, callback=callback, outcome_code="powered_off", by=agent_a)


def test_a_callback_no_longer_held_is_skipped_and_the_others_registered(
        agent_a: User, customer_a: Customer, hold: Callable[..., Callback], fake_exchange: FakeExchange) -> None:
    """The exchange reports the end later (a real one does): meanwhile the agent released one callback."""
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    fake_exchange.script = ["answered"]
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
    Call.objects.filter(pk=call.pk).update(state=CallState.RINGING, answered_at=None, ended_at=None, end_cause="")
    change_state(callback=second, to=State.ASSIGNED, by=agent_a)
    handle_call_event(CallEvent(call.exchange_call_id, call.serial, CallState.ENDED, timezone.now(),
                                cause=EndCause.BUSY))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.result, first.attempts, first.state) == ("busy", 1, State.ASSIGNED)
    assert (second.result, second.attempts) == ("", 0)
    assert CallCallback.objects.get(call=call, callback=second).outcome is None


@pytest.fixture
def simulated(tmp_path: Path, settings: Any) -> Iterator[Callable[[list[str]], SimulatedExchange]]:
    settings.VAR_DIR = tmp_path / "var"

    def make(script: list[str]) -> SimulatedExchange:
        exchange = SimulatedExchange(sink=services._deliver, recordings_dir=tmp_path / "incoming",
                                     synchronous=True, script=script, speech="tones")
        services.use_exchange(exchange)
        return exchange

    yield make
    services.use_exchange(None)


def test_through_the_simulated_exchange(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                                        simulated: Callable[[list[str]], SimulatedExchange]) -> None:
    simulated(["busy"])
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
    assert call.end_cause == "busy"
    assert [(link.outcome.code if link.outcome else "", link.callback.state, link.callback.attempts)
            for link in _links(call)] == [("busy", State.ASSIGNED, 1)] * 2
