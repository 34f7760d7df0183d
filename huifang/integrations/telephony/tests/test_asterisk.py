"""Against a real Asterisk (22, in the Debian sid chroot of scripts/asterisk/build-chroot.sh), with SIPp as the
agent's and the customer's phones. These tests fail, never skip, when the chroot or SIPp is missing:
scripts/test builds and installs both."""

import array
import datetime as dt
import math
import operator
import shutil
import statistics
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from huifang.integrations.telephony.asterisk import AsteriskExchange
from huifang.integrations.telephony.asterisk_testbed import AsteriskTestbed, free_udp_range
from huifang.integrations.telephony.base import CallEvent, CallState, EndCause

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


# --- SIPp phones ----------------------------------------------------------------------------------------------

_ANSWER_SDP = """
v=0
o=phone 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""

_REPLY_HEADERS = """[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>"""



def capture_invite(*, contact: bool) -> str:
    """Receive the INVITE, keeping what a BYE or a 487 needs (SIPp refuses a variable it never uses)."""
    keep_contact = '<ereg regexp="sip:[^>]*" search_in="hdr" header="Contact:" assign_to="contact"/>'
    return f"""
  <recv request="INVITE" crlf="true">
    <action>
      {keep_contact if contact else ""}
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" assign_to="from"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="To:" assign_to="to"/>
      <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="cseq"/>
    </action>
  </recv>"""

#: the agent's phone: answers at once, stays silent, waits for Asterisk's BYE
AGENT_UAS = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent answers">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 200 OK
{_REPLY_HEADERS}
Content-Type: application/sdp
Content-Length: [len]
{_ANSWER_SDP}]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
{_REPLY_HEADERS}
Content-Length: 0

]]></send>
</scenario>
"""


def customer_uas(*, answer_after_ms: int, audio: Path, talk_ms: int) -> str:
    """The customer's phone: rings, answers after a delay, speaks `audio` (raw u-law), hangs up itself."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="customer answers, speaks, hangs up">
{capture_invite(contact=True)}
  <send><![CDATA[
SIP/2.0 180 Ringing
{_REPLY_HEADERS}
Content-Length: 0

]]></send>
  <pause milliseconds="{answer_after_ms}"/>
  <send><![CDATA[
SIP/2.0 200 OK
{_REPLY_HEADERS}
Content-Type: application/sdp
Content-Length: [len]
{_ANSWER_SDP}]]></send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec rtp_stream="{audio},1,0"/></action></nop>
  <pause milliseconds="{talk_ms}"/>
  <send retrans="500"><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$to];tag=[pid]SIPpTag01[call_number]
To: [$from]
[last_Call-ID:]
CSeq: [$cseq] BYE
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>
</scenario>
"""


#: a customer who never answers: 180 Ringing, then Asterisk's CANCEL at its ring timeout
CUSTOMER_NEVER_ANSWERS = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="customer never answers">
{capture_invite(contact=False)}
  <send><![CDATA[
SIP/2.0 180 Ringing
{_REPLY_HEADERS}
Content-Length: 0

]]></send>
  <recv request="CANCEL"/>
  <send><![CDATA[
SIP/2.0 200 OK
{_REPLY_HEADERS}
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
From: [$from]
To: [$to];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [$cseq] INVITE
Content-Length: 0

]]></send>
  <recv request="ACK"/>
</scenario>
"""


class Phone:
    """One SIPp instance acting as a phone (UAS) on 127.0.0.1:<port>, for one call."""

    def __init__(self, scenario: str, *, port: int, workdir: Path, name: str) -> None:
        if shutil.which("sipp") is None:
            raise AssertionError("找不到 sipp（Debian 软件包 sip-tester）/ sipp is missing (Debian package sip-tester)")
        self.name = name
        self.workdir = workdir
        path = workdir / f"{name}.xml"
        path.write_text(scenario)
        self.log = workdir / f"{name}.out"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                ["sipp", "-sf", str(path), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
                 "-mp", str(free_udp_range(4)), "-m", "1", "-timeout", "40s", "-nostdin", "-trace_err",
                 "-trace_msg", "-message_file", str(workdir / f"{name}.messages"),
                 "-error_file", str(workdir / f"{name}.errors")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def report(self) -> str:
        parts = []
        for suffix in ("out", "errors", "messages"):
            path = self.workdir / f"{self.name}.{suffix}"
            if path.exists():
                parts.append(f"--- {path.name} ---\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)


# --- audio ----------------------------------------------------------------------------------------------------

RATE = 8000
PHRASE = "您好，我是客户。我对这次服务很满意，谢谢您的回访。"


def customer_speech(workdir: Path) -> tuple[Path, array.array[int]]:
    """The customer's words: espeak-ng (cmn-latn-pinyin) at 8 kHz as raw u-law for SIPp, and the same u-law
    decoded back to 16-bit samples (what Asterisk can at best record)."""
    for program in ("espeak-ng", "sox"):
        if shutil.which(program) is None:
            raise AssertionError(f"找不到 {program} / {program} is missing")
    spoken = workdir / "spoken.wav"
    subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "150", "-w", str(spoken), PHRASE], check=True,
                   capture_output=True)
    ulaw = workdir / "customer.ul"
    subprocess.run(["sox", str(spoken), "-r", str(RATE), "-c", "1", "-t", "ul", str(ulaw)], check=True,
                   capture_output=True)
    decoded = workdir / "customer-decoded.wav"
    subprocess.run(["sox", "-t", "ul", "-r", str(RATE), "-c", "1", str(ulaw), "-e", "signed", "-b", "16",
                    str(decoded)], check=True, capture_output=True)
    return ulaw, read_wav(decoded)


def read_wav(path: Path) -> array.array[int]:
    with wave.open(str(path)) as audio:
        assert audio.getframerate() == RATE and audio.getnchannels() == 1 and audio.getsampwidth() == 2
        samples = array.array("h", audio.readframes(audio.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _ncc(a: Sequence[float], b: Sequence[float]) -> float:
    """Normalised cross-correlation of two equally long windows."""
    dot = sum(map(operator.mul, a, b))
    norm = math.sqrt(sum(map(operator.mul, a, a)) * sum(map(operator.mul, b, b)))
    return dot / norm if norm else 0.0


def envelope(samples: Sequence[int], frame: int = 80) -> list[float]:
    """Mean absolute amplitude per 10 ms frame."""
    return [sum(map(abs, samples[i:i + frame])) / frame for i in range(0, len(samples) - frame + 1, frame)]


@dataclass
class Match:
    offset_seconds: float  # where the sent audio begins in the recording (negative: its start is missing)
    scores: list[float]  # the best correlation of each voiced window of the sent audio
    lags: list[int]  # the lag (samples) at which each window matched best


def locate(sent: array.array[int], recorded: array.array[int], *, window: int = 2000, search: int = 160) -> Match:
    """Finds the sent audio in the recording: a coarse lag from 10 ms envelopes, then, window by window (250 ms)
    of the sent audio's voiced part, the best normalised correlation within ±`search` samples of it. Bridge
    recordings may slip or drop silence (TELEPHONY.md): never a byte comparison."""
    sent_env, recorded_env = envelope(sent), envelope(recorded)
    best_lag, best_score = 0, -1.0
    for lag in range(-len(sent_env) // 2, len(recorded_env) - len(sent_env) // 2):
        pairs = [(sent_env[i], recorded_env[i + lag]) for i in range(len(sent_env)) if 0 <= i + lag < len(recorded_env)]
        if len(pairs) < len(sent_env) // 2:
            continue
        score = _ncc([p[0] for p in pairs], [p[1] for p in pairs])
        if score > best_score:
            best_lag, best_score = lag, score
    coarse = best_lag * 80
    loudness = max(map(abs, sent)) or 1
    scores, lags = [], []
    for start in range(0, len(sent) - window + 1, window):
        piece = sent[start:start + window]
        if sum(map(abs, piece)) / window < loudness * 0.05:
            continue  # a pause between words
        best, best_at = -1.0, 0
        for lag in range(coarse - search, coarse + search + 1):
            begin = start + lag
            if begin < 0 or begin + window > len(recorded):
                continue
            score = _ncc(piece, recorded[begin:begin + window])
            if score > best:
                best, best_at = score, lag
        scores.append(best)
        lags.append(best_at)
    return Match(offset_seconds=statistics.median(lags) / RATE if lags else coarse / RATE, scores=scores, lags=lags)


# --- the calls ------------------------------------------------------------------------------------------------


class Events:
    """A sink that keeps the events and lets the test wait for one."""

    def __init__(self) -> None:
        self.received: list[CallEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: CallEvent) -> None:
        with self._changed:
            self.received.append(event)
            self._changed.notify_all()

    def wait_for(self, test: Callable[[CallEvent], bool], timeout: float) -> CallEvent:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.received:
                    if test(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such event in {timeout} s; got {self.received}")
                self._changed.wait(left)


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
