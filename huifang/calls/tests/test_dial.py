"""Dialing a customer: one call for all the callbacks held, the phone chosen, events applied, the recording
stored with its checksum."""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from huifang.audit.models import AuditEntry
from huifang.callbacks.models import Callback
from huifang.calls import services
from huifang.calls.models import Call, CallRecording
from huifang.calls.services import CallError, dial_customer, handle_call_event
from huifang.calls.tests.conftest import FakeExchange
from huifang.customers.models import ContactPoint, Customer
from huifang.integrations.telephony.base import CallEvent, CallState, TelephonyError
from huifang.org.models import User


def test_one_call_serial_links_every_callback_it_served(agent_a: User, customer_a: Customer,
                                                        hold: Callable[..., Callback],
                                                        fake_exchange: FakeExchange) -> None:
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
    today = timezone.localdate()
    assert call.serial == f"C{today:%Y%m%d}000001"
    assert set(call.callbacks.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert list(first.calls.values_list("serial", flat=True)) == [call.serial]
    assert call.branch_id == customer_a.branch_id and call.agent_id == agent_a.pk
    assert fake_exchange.dialed == [{"agent_extension": agent_a.extension, "number": "13800001111",
                                     "reference": call.serial}]
    assert call.phone_masked == "138****1111"
    assert call.state == CallState.ENDED and call.exchange_call_id == "sim-1"
    assert call.duration_seconds == 42 and call.end_cause == "normal"
    assert AuditEntry.objects.filter(action="dial", object_id=str(call.pk)).exists()
    assert dial_customer(agent=agent_a, customer=customer_a, callbacks=[first]).serial.endswith("000002")


def test_the_recording_is_stored_with_its_checksum(agent_a: User, customer_a: Customer,
                                                   hold: Callable[..., Callback], fake_exchange: FakeExchange,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[hold(customer_a)])
    recording = CallRecording.objects.get(call=call)
    with services.recording_storage().open(recording.storage_key) as stored:
        content = stored.read()
    assert recording.sha256 == hashlib.sha256(content).hexdigest()
    assert recording.size == len(content) and content.startswith(b"RIFF")
    assert call.serial in recording.storage_key
    assert not (fake_exchange.tmp / f"{call.serial}.wav").exists()  # moved, not copied


def test_events_are_idempotent_and_only_move_forward(agent_a: User, customer_a: Customer,
                                                     hold: Callable[..., Callback],
                                                     fake_exchange: FakeExchange) -> None:
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[hold(customer_a)])
    ended_at = call.ended_at
    late = CallEvent(call.exchange_call_id, call.serial, CallState.ANSWERED, timezone.now())
    handle_call_event(late)
    call.refresh_from_db()
    assert call.state == CallState.ENDED and call.ended_at == ended_at
    assert CallRecording.objects.filter(call=call).count() == 1
    assert handle_call_event(CallEvent("nobody", "C000", CallState.RINGING, timezone.now())) is None


def test_a_phone_is_chosen_never_typed(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                                       fake_exchange: FakeExchange) -> None:
    second = ContactPoint.objects.get(number="13900002222")
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[hold(customer_a)], phone=second.pk)
    assert call.phone_id == second.pk
    ContactPoint.objects.filter(customer=customer_a).update(validity="invalid")
    with pytest.raises(CallError, match="没有可拨打的有效号码"):
        dial_customer(agent=agent_a, customer=customer_a, callbacks=[Callback.objects.get(calls=call)])
    with pytest.raises(CallError, match="已标记为无效"):
        dial_customer(agent=agent_a, customer=customer_a, callbacks=[Callback.objects.get(calls=call)],
                      phone=second.pk)


def test_only_callbacks_the_agent_holds(agent_a: User, agent_b: User, customer_a: Customer,
                                        hold: Callable[..., Callback], fake_exchange: FakeExchange,
                                        make_user: Any) -> None:
    other = make_user(customer_a.branch, "agent")
    callback = hold(customer_a, agent=other)
    with pytest.raises(CallError, match="不在您的处理中"):
        dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    assert not Call.objects.exists() and fake_exchange.dialed == []


def test_a_telephony_error_ends_the_call_with_its_cause(agent_a: User, customer_a: Customer,
                                                        hold: Callable[..., Callback],
                                                        fake_exchange: FakeExchange) -> None:
    fake_exchange.fail = TelephonyError("分机 8001 未注册", permanent=True)
    with pytest.raises(CallError, match="拨号失败：分机 8001 未注册") as raised:
        dial_customer(agent=agent_a, customer=customer_a, callbacks=[hold(customer_a)])
    call = raised.value.call
    assert call is not None
    call.refresh_from_db()
    assert call.state == CallState.ENDED and call.end_cause == "failed" and "未注册" in call.error
