"""Registering outcomes (回访登记) and their policies."""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.calls.models import CallCallback, ContactCorrection, OutcomeCode
from huifang.calls.rules import retry_at, slot_of
from huifang.calls.services import CallError, confirm_callback, dial_customer, register_outcome
from huifang.calls.tests.conftest import FakeExchange
from huifang.customers.models import ContactPoint, Customer
from huifang.org.models import User
from huifang.surveys.models import Response

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_the_thirteen_outcome_codes_ship_with_their_policies(db: None) -> None:
    codes = dict(OutcomeCode.objects.values_list("code", "policy"))
    assert len(codes) == 13
    assert codes["no_answer"] == codes["busy"] == codes["hung_up"] == "retry"
    assert codes["invalid_number"] == codes["suspended"] == "mark_invalid_then_next_phone"
    assert (codes["refused"], codes["not_owner"], codes["success"]) == ("close_refused", "close_failed", "complete")
    assert OutcomeCode.objects.get(code="busy").label == "占线/遇忙"


def test_a_retry_goes_to_a_slot_not_tried_yet() -> None:
    morning = dt.datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI)
    assert retry_at(now=morning, after_minutes=60, spread=False, tried_slots=["morning"]) == morning.replace(hour=11)
    assert retry_at(now=morning, after_minutes=60, spread=True, tried_slots=["morning"]) == morning.replace(hour=12)
    assert retry_at(now=morning, after_minutes=60, spread=True,
                    tried_slots=["morning", "afternoon"]) == morning.replace(hour=17)
    late = dt.datetime(2026, 11, 3, 20, 10, tzinfo=SHANGHAI)
    assert retry_at(now=late, after_minutes=60, spread=True, tried_slots=["evening"]) == dt.datetime(
        2026, 11, 4, 9, 0, tzinfo=SHANGHAI)
    # every slot tried: any but the current one
    assert slot_of(retry_at(now=morning, after_minutes=60, spread=True,
                            tried_slots=["morning", "afternoon", "evening"])) == "afternoon"


def _call_and_register(agent: User, customer: Customer, callback: Callback, code: str, **extra: object) -> Callback:
    call = dial_customer(agent=agent, customer=customer, callbacks=[callback])
    register_outcome(call=call, callback=callback, outcome_code=code, by=agent, **extra)  # type: ignore[arg-type]
    callback.refresh_from_db()
    return callback


def test_no_answer_retries_in_other_slots_and_fails_at_the_maximum(agent_a: User, customer_a: Customer,
                                                                   hold: Callable[..., Callback],
                                                                   fake_exchange: FakeExchange) -> None:
    fake_exchange.script = ["no_answer"] * 3
    callback = hold(customer_a)
    with time_machine.travel(dt.datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI), tick=False):
        callback = _call_and_register(agent_a, customer_a, callback, "no_answer")
    assert (callback.state, callback.agent_id, callback.attempts, callback.result) == (
        State.ASSIGNED, agent_a.pk, 1, "no_answer")
    assert timezone.localtime(callback.not_before) == dt.datetime(2026, 11, 3, 12, 0, tzinfo=SHANGHAI)
    with time_machine.travel(dt.datetime(2026, 11, 3, 12, 5, tzinfo=SHANGHAI), tick=False):
        callback = hold_again(callback, agent_a)
        callback = _call_and_register(agent_a, customer_a, callback, "no_answer")
    assert timezone.localtime(callback.not_before) == dt.datetime(2026, 11, 3, 17, 0, tzinfo=SHANGHAI)
    with time_machine.travel(dt.datetime(2026, 11, 3, 17, 5, tzinfo=SHANGHAI), tick=False):
        callback = hold_again(callback, agent_a)
        callback = _call_and_register(agent_a, customer_a, callback, "no_answer")
    assert (callback.state, callback.attempts) == (State.FAILED, 3)
    assert "已尝试 3 次" in CallbackHistory.objects.get(callback=callback, to_state=State.FAILED).reason


def hold_again(callback: Callback, agent: User) -> Callback:
    from huifang.callbacks.services import change_state

    return change_state(callback=callback, to=State.IN_PROGRESS, by=agent, agent=agent)


def test_an_invalid_number_is_marked_listed_and_the_next_phone_is_dialed(agent_a: User, customer_a: Customer,
                                                                         hold: Callable[..., Callback],
                                                                         fake_exchange: FakeExchange) -> None:
    fake_exchange.script = ["invalid_number", "answered"]
    callback = _call_and_register(agent_a, customer_a, hold(customer_a), "invalid_number")
    first = ContactPoint.objects.get(number="13800001111")
    assert first.validity == "invalid"
    correction = ContactCorrection.objects.get()
    assert (correction.phone_id, correction.kind, correction.phone_masked) == (first.pk, "invalid", "138****1111")
    assert correction.branch_id == customer_a.branch_id and correction.found_by_call is not None
    assert (callback.state, callback.attempts) == (State.IN_PROGRESS, 1)  # dial the next phone at once
    second = dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    assert second.phone is not None and second.phone.number == "13900002222"
    register_outcome(call=second, callback=callback, outcome_code="suspended", by=agent_a)
    callback.refresh_from_db()
    assert callback.state == State.FAILED  # no phone left
    assert ContactCorrection.objects.count() == 2


def test_refused_and_not_owner_close_as_failed(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                                               fake_exchange: FakeExchange) -> None:
    assert _call_and_register(agent_a, customer_a, hold(customer_a, "risk_aml"), "refused").state == State.FAILED
    closed = _call_and_register(agent_a, customer_a, hold(customer_a, "satisfaction"), "not_owner")
    assert (closed.state, closed.result) == (State.FAILED, "not_owner") and closed.closed_at is not None


def test_an_appointment_is_booked_for_this_agent_or_for_anyone(agent_a: User, customer_a: Customer,
                                                               hold: Callable[..., Callback],
                                                               fake_exchange: FakeExchange) -> None:
    later = timezone.now() + dt.timedelta(days=1)
    mine = _call_and_register(agent_a, customer_a, hold(customer_a, "risk_aml"), "appointment", appointment_at=later)
    assert (mine.state, mine.agent_id, mine.appointment_at, mine.not_before) == (
        State.ASSIGNED, agent_a.pk, later, later)
    anyone = _call_and_register(agent_a, customer_a, hold(customer_a, "satisfaction"), "appointment",
                                appointment_at=later, appointment_for_anyone=True)
    assert (anyone.state, anyone.agent_id, anyone.appointment_at) == (State.NEW, None, later)
    with pytest.raises(CallError, match="将来的时间"):
        _call_and_register(agent_a, customer_a, hold(customer_a, "other"), "appointment",
                           appointment_at=timezone.now() - dt.timedelta(minutes=1))


def test_success_stays_open_until_confirmed_with_the_questionnaire_complete(
        agent_a: User, customer_a: Customer, hold: Callable[..., Callback], fake_exchange: FakeExchange) -> None:
    callback = hold(customer_a)
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    register_outcome(call=call, callback=callback, outcome_code="success", by=agent_a)
    callback.refresh_from_db()
    assert (callback.state, callback.result) == (State.IN_PROGRESS, "success")  # 未完成 until confirmed
    if callback.questionnaire_version_id is not None:
        with pytest.raises(CallError, match="问卷尚未完成"):
            confirm_callback(callback=callback, by=agent_a)
        Response.objects.create(version_id=callback.questionnaire_version_id, customer=customer_a, status="complete")
    assert confirm_callback(callback=callback, by=agent_a).state == State.DONE
    link = CallCallback.objects.get(call=call, callback=callback)
    assert link.outcome is not None and link.outcome.code == "success" and link.registered_by == agent_a


def test_without_an_ending_outcome_or_questionnaire_it_cannot_be_confirmed(
        agent_a: User, customer_a: Customer, hold: Callable[..., Callback], fake_exchange: FakeExchange) -> None:
    callback = hold(customer_a)
    Callback.objects.filter(pk=callback.pk).update(questionnaire_version=None)
    callback.refresh_from_db()
    with pytest.raises(CallError, match="成功回访"):
        confirm_callback(callback=callback, by=agent_a)


def test_an_outcome_once_per_call_and_only_by_the_calling_agent(agent_a: User, customer_a: Customer,
                                                                hold: Callable[..., Callback],
                                                                fake_exchange: FakeExchange,
                                                                make_user: object) -> None:
    callback = hold(customer_a)
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    other = make_user(customer_a.branch, "agent")  # type: ignore[operator]
    with pytest.raises(CallError, match="自己通话"):
        register_outcome(call=call, callback=callback, outcome_code="success", by=other)
    register_outcome(call=call, callback=callback, outcome_code="success", by=agent_a)
    with pytest.raises(CallError, match="已登记"):
        register_outcome(call=call, callback=callback, outcome_code="refused", by=agent_a)
    with pytest.raises(CallError, match="未知的回访结果"):
        register_outcome(call=call, callback=callback, outcome_code="nonsense", by=agent_a)
