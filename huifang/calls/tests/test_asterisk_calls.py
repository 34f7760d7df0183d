"""Calls through the platform against a real Asterisk (the chroot of scripts/asterisk/build-chroot.sh), with
SIPp as the agent's and the customer's phones: the Asterisk exchange built by the factory from TELEPHONY_OPTIONS,
its events applied by calls.services (the sink the platform gives it, calls.services._deliver), the recording
moved into the platform's storage. They fail, never skip, when the chroot or SIPp is missing (scripts/test builds
and installs both).

The events reach the platform on the test's own thread, in the order the exchange reported them (`Platform`): the
test's database transaction (rolled back at its end, on SQLite as on PostgreSQL) is then the one they are
applied in, and the data migrations' rows (outcome codes, callback types) stay for the tests after these."""

import datetime as dt
import hashlib
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.calls import services
from huifang.calls.models import CallCallback, CallRecording
from huifang.customers.models import Customer
from huifang.integrations.telephony import factory
from huifang.integrations.telephony.asterisk import AsteriskExchange
from huifang.integrations.telephony.asterisk_testbed import (
    AGENT_UAS,
    CUSTOMER_NEVER_ANSWERS,
    RATE,
    AsteriskTestbed,
    Events,
    Phone,
    customer_speech,
    customer_uas,
    locate,
    read_wav,
)
from huifang.integrations.telephony.base import CallEvent, CallState, EndCause
from huifang.org.models import User

pytestmark = pytest.mark.asterisk


@pytest.fixture(scope="module")
def pbx() -> Iterator[AsteriskTestbed]:
    with AsteriskTestbed(phones=["agent", "customer"]) as testbed:
        yield testbed


class Platform(Events):
    """The exchange's sink: keeps its events; `until` hands each to calls.services._deliver on this thread."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered = 0

    def until(self, test: Callable[[CallEvent], bool], timeout: float) -> CallEvent:
        """Wait for an event that passes `test`, deliver every event received so far, answer that event."""
        found = self.wait_for(test, timeout)
        received = list(self.received)
        for event in received[self.delivered:]:
            services._deliver(event)
        self.delivered = len(received)
        return found


@pytest.fixture
def events() -> Platform:
    return Platform()


@pytest.fixture
def asterisk(pbx: AsteriskTestbed, events: Platform, settings: Any, tmp_path: Path) -> Iterator[AsteriskExchange]:
    """The Asterisk exchange as a deployment configures it (README "Configuration"), the platform's exchange."""
    settings.VAR_DIR = tmp_path / "var"
    settings.TELEPHONY_BACKEND = "huifang.integrations.telephony.asterisk.AsteriskExchange"
    settings.TELEPHONY_OPTIONS = {
        "base_url": pbx.base_url, "username": pbx.username, "password": pbx.password, "app": pbx.app,
        "asterisk_recordings_dir": str(pbx.recordings_dir),
        # the testbed's PJSIP endpoints "agent" and "customer" are the SIPp phones: any extension, any number
        "agent_endpoint_template": "PJSIP/{extension}@agent", "customer_endpoint_template": "PJSIP/{number}@customer",
        "ring_timeout": 4,
    }
    exchange = factory.exchange_from_settings(events, shared=False)
    assert isinstance(exchange, AsteriskExchange)
    assert exchange.recordings_dir == tmp_path / "var" / "recordings" / "incoming"
    exchange.start()
    services.use_exchange(exchange)
    yield exchange
    services.use_exchange(None)
    exchange.close()


def test_the_recording_of_an_answered_call_is_stored_linked_to_the_serial_and_the_customer(
        pbx: AsteriskTestbed, asterisk: AsteriskExchange, events: Platform, agent_a: User, customer_a: Customer,
        hold: Callable[..., Callback], tmp_path: Path, django_capture_on_commit_callbacks: Any) -> None:
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    ulaw, sent = customer_speech(tmp_path)
    spoken_seconds = len(sent) / RATE
    agent = Phone(AGENT_UAS, port=pbx.phone_ports["agent"], workdir=tmp_path, name="agent")
    customer = Phone(customer_uas(answer_after_ms=1500, audio=ulaw, talk_ms=0, hangs_up=False),
                     port=pbx.phone_ports["customer"], workdir=tmp_path, name="customer")
    try:
        call = services.dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
        answered = events.until(lambda e: e.state == CallState.ANSWERED, timeout=15)
        time.sleep(spoken_seconds + 1.0)  # the customer speaks; the agent hangs up a second after the words
        services.exchange().hang_up(exchange_call_id=call.exchange_call_id)
        with django_capture_on_commit_callbacks(execute=True):  # the exchange's copy goes once stored
            ready = events.until(lambda e: e.recording is not None, timeout=20)
        assert customer.wait() == 0, customer.report()
        assert agent.wait() == 0, agent.report()
    except BaseException:
        print(agent.report(), customer.report(), pbx.log_tail(), sep="\n")
        raise
    finally:
        agent.stop()
        customer.stop()

    # the call: the serial that named the recording, the customer, both callbacks, the times
    call.refresh_from_db()
    assert call.exchange_call_id.startswith("ast-") and call.exchange_call_id == ready.exchange_call_id
    assert ready.reference == call.serial
    assert call.customer_id == customer_a.pk and call.agent_id == agent_a.pk
    assert set(call.callbacks.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert (call.state, call.end_cause) == (CallState.ENDED, "normal")
    assert call.answered_at == answered.at == dt.datetime.fromisoformat(ready.details["answered_at"])
    assert call.ended_at is not None and call.duration_seconds >= int(spoken_seconds)

    # the recording: in the platform's storage with its checksum, the exchange's copy gone
    recording = CallRecording.objects.get(call=call)
    assert call.serial in recording.storage_key
    with services.recording_storage().open(recording.storage_key) as stored:
        content = stored.read()
    assert recording.sha256 == hashlib.sha256(content).hexdigest() and recording.size == len(content)
    assert ready.recording is not None and not ready.recording.path.exists()
    assert not (pbx.recordings_dir / f"{call.serial}.wav").exists()

    # it starts within 100 ms of the customer's answer
    started = dt.datetime.fromisoformat(ready.details["recording_started_at"])
    latency = (started - call.answered_at).total_seconds()
    print(f"\nthrough the platform: answer → recording start {latency * 1000:.1f} ms")
    assert 0 <= latency < 0.1

    # and holds the customer's words, found window by window with a lag search
    copy = tmp_path / "stored.wav"
    copy.write_bytes(content)
    recorded = read_wav(copy)
    match = locate(sent, recorded)
    print(f"recording {len(recorded) / RATE:.2f} s ({recording.duration_seconds:.2f} s stored), speech "
          f"{spoken_seconds:.2f} s from {match.offset_seconds * 1000:.0f} ms; window correlations: min "
          f"{min(match.scores):.3f} median {statistics.median(match.scores):.3f} over {len(match.scores)} windows")
    assert len(match.scores) >= 5
    assert statistics.median(match.scores) > 0.9
    assert sum(score > 0.7 for score in match.scores) >= 0.9 * len(match.scores)
    assert -0.1 < match.offset_seconds < 0.2

    # answered: the outcomes are the agent's to register; both callbacks are still theirs
    for callback in (first, second):
        callback.refresh_from_db()
        assert (callback.state, callback.agent_id, callback.attempts) == (State.IN_PROGRESS, agent_a.pk, 0)


def test_a_customer_who_never_answers_ends_as_no_answer_with_the_retry_of_both_callbacks_booked(
        pbx: AsteriskTestbed, asterisk: AsteriskExchange, events: Platform, agent_a: User, customer_a: Customer,
        hold: Callable[..., Callback], tmp_path: Path) -> None:
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    agent = Phone(AGENT_UAS, port=pbx.phone_ports["agent"], workdir=tmp_path, name="agent")
    customer = Phone(CUSTOMER_NEVER_ANSWERS, port=pbx.phone_ports["customer"], workdir=tmp_path, name="customer")
    try:
        call = services.dial_customer(agent=agent_a, customer=customer_a, callbacks=[first, second])
        ended = events.until(lambda e: e.state == CallState.ENDED, timeout=20)
        assert customer.wait() == 0, customer.report()
        assert agent.wait() == 0, agent.report()
    except BaseException:
        print(agent.report(), customer.report(), pbx.log_tail(), sep="\n")
        raise
    finally:
        agent.stop()
        customer.stop()
    assert ended.cause == EndCause.NO_ANSWER
    call.refresh_from_db()
    assert (call.state, call.end_cause, call.answered_at, call.duration_seconds) == (
        CallState.ENDED, "no_answer", None, 0)
    assert not CallRecording.objects.filter(call=call).exists()
    now = timezone.now()
    for callback in (first, second):
        callback.refresh_from_db()
        link = CallCallback.objects.get(call=call, callback=callback)
        assert link.outcome is not None and link.outcome.code == "no_answer" and link.registered_by == agent_a
        assert (callback.state, callback.agent_id, callback.attempts, callback.result) == (
            State.ASSIGNED, agent_a.pk, 1, "no_answer")
        assert callback.not_before is not None and callback.not_before > now
    print(f"\nno answer: both callbacks retry from {timezone.localtime(first.not_before):%Y-%m-%d %H:%M}")
