"""Against a real Asterisk (22, in the Debian sid chroot of scripts/asterisk/build-chroot.sh), with SIPp as the
agent's and the customer's phones. These tests fail, never skip, when the chroot or SIPp is missing:
scripts/test builds and installs both."""

import datetime as dt
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
from huifang.integrations.telephony.base import CallState, EndCause

pytestmark = pytest.mark.asterisk


@pytest.fixture(scope="module")
def pbx() -> Iterator[AsteriskTestbed]:
    with AsteriskTestbed(phones=["agent", "customer", "silent"]) as testbed:
        yield testbed


def test_ari_answers_with_the_test_phones_as_endpoints(pbx: AsteriskTestbed) -> None:
    info = pbx.ari("GET", "/asterisk/info")
    assert isinstance(info, dict) and info["system"]["version"].startswith("22.")
    endpoints = pbx.ari("GET", "/endpoints/PJSIP")
    assert isinstance(endpoints, list)
    assert {endpoint["resource"] for endpoint in endpoints} == {"agent", "customer", "silent"}


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def exchange(pbx: AsteriskTestbed, events: Events, tmp_path: Path) -> Iterator[AsteriskExchange]:
    adapter = AsteriskExchange(
        sink=events, recordings_dir=tmp_path / "incoming", base_url=pbx.base_url, username=pbx.username,
        password=pbx.password, app=pbx.app, asterisk_recordings_dir=pbx.recordings_dir,
        agent_endpoint_template="PJSIP/{extension}@agent", customer_endpoint_template="PJSIP/{number}@customer",
        ring_timeout=4)
    adapter.start()
    yield adapter
    adapter.close()


def test_an_answered_call_is_recorded_from_the_answer_with_the_customers_voice(
        pbx: AsteriskTestbed, exchange: AsteriskExchange, events: Events, tmp_path: Path) -> None:
    ulaw, sent = customer_speech(tmp_path)
    spoken_ms = len(sent) * 1000 // RATE
    agent = Phone(AGENT_UAS, port=pbx.phone_ports["agent"], workdir=tmp_path, name="agent")
    customer = Phone(customer_uas(answer_after_ms=1500, audio=ulaw, talk_ms=spoken_ms + 1500),
                     port=pbx.phone_ports["customer"], workdir=tmp_path, name="customer")
    try:
        placed = exchange.dial(agent_extension="8001", number="13800138000", reference="CS20261202000001")
        ready = events.wait_for(lambda e: e.recording is not None, timeout=30)
        assert customer.wait() == 0, customer.report()
        assert agent.wait() == 0, agent.report()
    except BaseException:
        print(agent.report(), customer.report(), pbx.log_tail(), sep="\n")
        raise
    finally:
        agent.stop()
        customer.stop()

    states = [(e.state, e.cause) for e in events.received]
    assert states == [(CallState.DIALING, None), (CallState.RINGING, None), (CallState.ANSWERED, None),
                      (CallState.ENDED, EndCause.NORMAL), (CallState.ENDED, EndCause.NORMAL)], states
    assert {e.exchange_call_id for e in events.received} == {placed.exchange_call_id}
    assert {e.reference for e in events.received} == {"CS20261202000001"}
    ended = events.received[3]
    assert ended.details["hung_up_by"] == "customer"

    # the recording: moved out of Asterisk's spool, named by the call serial
    assert ready.recording is not None
    assert ready.recording.path == tmp_path / "incoming" / "CS20261202000001.wav"
    assert ready.recording.path.exists()
    assert not (pbx.recordings_dir / "CS20261202000001.wav").exists()

    # it starts within 100 ms of the customer's answer
    answered = events.received[2].at
    started = dt.datetime.fromisoformat(ready.details["recording_started_at"])
    latency = (started - answered).total_seconds()
    print(f"answer → recording start: {latency * 1000:.1f} ms")
    assert 0 <= latency < 0.1

    # and holds the customer's voice: each voiced window of what the phone sent is found in the recording
    recorded = read_wav(ready.recording.path)
    match = locate(sent, recorded)
    print(f"recording {len(recorded) / RATE:.2f} s, speech {len(sent) / RATE:.2f} s, speech begins at "
          f"{match.offset_seconds * 1000:.0f} ms; window correlations: min {min(match.scores):.3f} median "
          f"{statistics.median(match.scores):.3f} over {len(match.scores)} windows")
    assert len(match.scores) >= 5
    assert statistics.median(match.scores) > 0.9
    assert sum(score > 0.7 for score in match.scores) >= 0.9 * len(match.scores)
    # the customer spoke from the answer on, so the speech sits at the start of the recording
    assert -0.1 < match.offset_seconds < 0.2
    assert abs(ready.recording.duration_seconds - len(recorded) / RATE) < 0.01


def test_a_customer_who_never_answers_ends_as_no_answer_at_the_ring_timeout(
        pbx: AsteriskTestbed, exchange: AsteriskExchange, events: Events, tmp_path: Path) -> None:
    agent = Phone(AGENT_UAS, port=pbx.phone_ports["agent"], workdir=tmp_path, name="agent")
    customer = Phone(CUSTOMER_NEVER_ANSWERS, port=pbx.phone_ports["customer"], workdir=tmp_path, name="customer")
    try:
        exchange.dial(agent_extension="8001", number="13900139000", reference="CS20261202000002")
        ringing = events.wait_for(lambda e: e.state == CallState.RINGING, timeout=15)
        ended = events.wait_for(lambda e: e.state == CallState.ENDED, timeout=15)
        assert customer.wait() == 0, customer.report()
        assert agent.wait() == 0, agent.report()
    except BaseException:
        print(agent.report(), customer.report(), pbx.log_tail(), sep="\n")
        raise
    finally:
        agent.stop()
        customer.stop()
    assert ended.cause == EndCause.NO_ANSWER, ended
    rang = (ended.at - ringing.at).total_seconds()
    print(f"rang {rang:.2f} s (ring timeout 4 s), Q.850 cause {ended.details['q850_cause']}")
    assert 3.0 < rang < 6.0  # Asterisk counts its timeout from the originate, in coarse steps
    time.sleep(0.5)
    assert [e.state for e in events.received] == [CallState.DIALING, CallState.RINGING, CallState.ENDED]
    assert all(e.recording is None for e in events.received)
