"""The simulated exchange: outcomes in order, odds, recordings, the asynchronous mode and hang-ups."""

import array
import datetime as dt
import math
import threading
import time
import wave
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from huifang.integrations.telephony.base import CallEvent, CallState, EndCause, TelephonyError
from huifang.integrations.telephony.simulated import DEFAULT_ODDS, SimulatedExchange, speech_available

START = dt.datetime(2026, 11, 5, 1, 30, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class Events:
    """A sink that keeps what it was given and lets a test wait for an event."""

    def __init__(self) -> None:
        self.received: list[CallEvent] = []
        self.threads: list[str] = []
        self._arrived = threading.Condition()

    def __call__(self, event: CallEvent) -> None:
        with self._arrived:
            self.received.append(event)
            self.threads.append(threading.current_thread().name)
            self._arrived.notify_all()

    def wait_for(self, test: Callable[[CallEvent], bool], timeout: float = 5.0) -> CallEvent:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for event in self.received:
                    if test(event):
                        return event
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no such event within {timeout} s; got {self.states()}"
                self._arrived.wait(remaining)

    def states(self) -> list[tuple[str, str | None, bool]]:
        return [(e.state, e.cause, e.recording is not None) for e in self.received]


def exchange(tmp_path: Path, events: Events, **options: Any) -> SimulatedExchange:
    options.setdefault("synchronous", True)
    return SimulatedExchange(sink=events, recordings_dir=tmp_path / "incoming", **options)


def dial(ex: SimulatedExchange, reference: str = "TH20261105000001") -> str:
    return ex.dial(agent_extension="8001", number="13800138000", reference=reference).exchange_call_id


def read_wav(path: Path) -> tuple[wave._wave_params, float]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        samples = array.array("h", wav.readframes(params.nframes))
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))
    return params, rms


def test_an_answered_call_rings_answers_ends_then_brings_its_recording(tmp_path: Path) -> None:
    events, clock = Events(), Clock()
    ex = exchange(tmp_path, events, script=["answered"], clock=clock)
    placed = ex.dial(agent_extension="8001", number="13800138000", reference="TH20261105000001")
    assert placed.exchange_call_id.startswith("SIM-")
    assert placed.reference == "TH20261105000001"
    assert events.states() == [("dialing", None, False), ("ringing", None, False), ("answered", None, False)]

    clock.advance(12)
    ex.hang_up(exchange_call_id=placed.exchange_call_id)

    assert events.states()[3:] == [("ended", "normal", False), ("ended", "normal", True)]
    assert {e.exchange_call_id for e in events.received} == {placed.exchange_call_id}
    assert {e.reference for e in events.received} == {"TH20261105000001"}
    last = events.received[-1]
    assert last.details["event"] == "recording_ready"
    assert last.at == START + dt.timedelta(seconds=12)
    assert last.recording is not None
    assert last.recording.path == tmp_path / "incoming" / "TH20261105000001.wav"
    assert last.recording.content_type == "audio/wav"
    assert all(e.at.tzinfo is not None for e in events.received)


@pytest.mark.parametrize(
    "cause",
    [EndCause.NO_ANSWER, EndCause.BUSY, EndCause.POWERED_OFF, EndCause.INVALID_NUMBER, EndCause.UNREACHABLE,
     EndCause.SUSPENDED, EndCause.FAILED],
)
def test_a_call_not_answered_rings_then_ends_with_its_cause(tmp_path: Path, cause: EndCause) -> None:
    events = Events()
    ex = exchange(tmp_path, events, script=[str(cause)])
    call_id = dial(ex)
    assert events.states() == [("dialing", None, False), ("ringing", None, False), ("ended", cause, False)]
    ex.hang_up(exchange_call_id=call_id)  # already ended: nothing more
    assert len(events.received) == 3
    assert not (tmp_path / "incoming").exists()


def test_an_agent_who_does_not_answer_never_rings_the_customer(tmp_path: Path) -> None:
    events = Events()
    dial(exchange(tmp_path, events, script=["agent_unavailable"]))
    assert events.states() == [("dialing", None, False), ("ended", "agent_unavailable", False)]


def test_the_script_is_used_in_order_then_the_odds(tmp_path: Path) -> None:
    events = Events()
    ex = exchange(tmp_path, events, script=["busy", "answered", EndCause.NO_ANSWER], odds={"powered_off": 1})
    for n in range(5):
        dial(ex, reference=f"R{n}")
    outcomes = [e.cause or e.state for e in events.received if e.state in (CallState.ANSWERED, CallState.ENDED)]
    assert outcomes == ["busy", "answered", "no_answer", "powered_off", "powered_off"]


def outcomes_of(seed: int, draws: int) -> list[str]:
    events = Events()
    ex = SimulatedExchange(sink=events, recordings_dir=Path("/nonexistent"), seed=seed, synchronous=True)
    for n in range(draws):
        dial(ex, reference=f"R{n}")
    return [str(e.cause or e.state) for e in events.received if e.state in (CallState.ANSWERED, CallState.ENDED)]


def test_seeded_odds_are_reproducible_and_match_over_2000_draws() -> None:
    first = outcomes_of(seed=2026, draws=2000)
    assert first == outcomes_of(seed=2026, draws=2000)
    assert first != outcomes_of(seed=2027, draws=2000)
    counts = Counter(first)
    for outcome, share in DEFAULT_ODDS.items():
        # four standard deviations of a binomial share over 2,000 draws, at least one point
        tolerance = max(0.01, 4 * math.sqrt(share * (1 - share) / 2000))
        assert abs(counts[outcome] / 2000 - share) <= tolerance, (outcome, counts[outcome])
    assert set(counts) == set(DEFAULT_ODDS)


def test_odds_and_scripts_are_checked() -> None:
    def make(**options: Any) -> SimulatedExchange:
        return SimulatedExchange(sink=lambda event: None, recordings_dir=Path("/nonexistent"), **options)

    with pytest.raises(ValueError):
        make(odds={"answered": 0, "busy": 0})
    with pytest.raises(ValueError):
        make(odds={"answered": -1, "busy": 2})
    with pytest.raises(ValueError):
        make(odds={"hung_up": 1})
    with pytest.raises(ValueError):
        make(script=["normal"])  # a call that never connected cannot end normally
    with pytest.raises(ValueError):
        make(speech="festival")


@pytest.mark.parametrize("reference", ["", "../etc/passwd", "TH 1", ".hidden"])
def test_a_reference_that_cannot_name_a_file_is_refused(tmp_path: Path, reference: str) -> None:
    with pytest.raises(TelephonyError) as raised:
        exchange(tmp_path, Events()).dial(agent_extension="8001", number="13800138000", reference=reference)
    assert raised.value.permanent


@pytest.mark.parametrize(("extension", "number"), [("", "13800138000"), ("  ", "13800138000"), ("8001", ""),
                                                   ("8001", "call me"), ("8001", "12")])
def test_an_empty_extension_or_a_bad_number_is_a_permanent_error(tmp_path: Path, extension: str,
                                                                  number: str) -> None:
    events = Events()
    with pytest.raises(TelephonyError) as raised:
        exchange(tmp_path, events).dial(agent_extension=extension, number=number, reference="R1")
    assert raised.value.permanent
    assert events.received == []


@pytest.mark.parametrize("speech", ["espeak", "tones"])
def test_the_recording_is_a_telephone_wav_as_long_as_the_answered_call_and_not_silent(
    tmp_path: Path, speech: str
) -> None:
    if speech == "espeak":
        # scripts/test installs them: a missing one is a broken machine, not a reason to skip
        assert speech_available(), "espeak-ng and sox must be installed (scripts/test installs them)"
    events, clock = Events(), Clock()
    ex = exchange(tmp_path, events, script=["answered"], clock=clock, speech=speech)
    call_id = dial(ex)
    clock.advance(9.4)
    ex.hang_up(exchange_call_id=call_id)

    ready = events.received[-1]
    assert ready.details["recording_source"] == {"espeak": "espeak-ng", "tones": "tones"}[speech]
    assert ready.recording is not None
    params, rms = read_wav(ready.recording.path)
    assert (params.framerate, params.nchannels, params.sampwidth) == (8000, 1, 2)
    assert abs(params.nframes / params.framerate - 9.4) <= 0.5
    assert ready.recording.duration_seconds == pytest.approx(params.nframes / params.framerate)
    assert rms > 300, rms
    assert not list((tmp_path / "incoming").glob(".*.part"))  # written to a side name, then renamed


def test_a_short_call_records_one_second_and_a_long_one_is_capped(tmp_path: Path) -> None:
    events, clock = Events(), Clock()
    ex = exchange(tmp_path, events, script=["answered", "answered"], clock=clock, speech="tones",
                  max_recording_seconds=5)
    short, long = dial(ex, "SHORT"), dial(ex, "LONG")
    clock.advance(0.2)
    ex.hang_up(exchange_call_id=short)
    clock.advance(30)
    ex.hang_up(exchange_call_id=long)
    durations = {e.reference: e.recording.duration_seconds for e in events.received if e.recording}
    assert durations == {"SHORT": 1.0, "LONG": 5.0}
    assert read_wav(tmp_path / "incoming" / "LONG.wav")[0].nframes == 5 * 8000


def test_the_default_cap_keeps_recordings_to_a_minute(tmp_path: Path) -> None:
    events, clock = Events(), Clock()
    ex = exchange(tmp_path, events, script=["answered"], clock=clock)
    call_id = dial(ex)
    clock.advance(75)
    ex.hang_up(exchange_call_id=call_id)
    recording = events.received[-1].recording
    assert recording is not None and recording.duration_seconds == 60
    assert abs(read_wav(recording.path)[0].nframes / 8000 - 60) < 0.01


def test_a_recording_never_overwrites_an_earlier_one(tmp_path: Path) -> None:
    events, clock = Events(), Clock()
    ex = exchange(tmp_path, events, script=["answered", "answered"], clock=clock, speech="tones")
    first, second = dial(ex, "SAME"), dial(ex, "SAME")
    clock.advance(2)
    ex.hang_up(exchange_call_id=first)
    ex.hang_up(exchange_call_id=second)
    paths = [e.recording.path.name for e in events.received if e.recording]
    assert paths == ["SAME.wav", "SAME-2.wav"]


def test_hang_up_is_idempotent_and_ignores_unknown_calls(tmp_path: Path) -> None:
    events, clock = Events(), Clock()
    ex = exchange(tmp_path, events, script=["answered"], clock=clock, speech="tones")
    call_id = dial(ex)
    clock.advance(3)
    ex.hang_up(exchange_call_id=call_id)
    count = len(events.received)
    ex.hang_up(exchange_call_id=call_id)
    ex.hang_up(exchange_call_id="SIM-NOSUCHCALL")
    assert len(events.received) == count
    assert len(list((tmp_path / "incoming").iterdir())) == 1


def test_a_synchronous_call_left_up_ends_at_the_maximum_duration(tmp_path: Path) -> None:
    events, clock = Events(), Clock()
    ex = exchange(tmp_path, events, script=["answered"], clock=clock, speech="tones")
    call_id = dial(ex)
    clock.advance(3600)
    ex.hang_up(exchange_call_id=call_id)
    assert events.received[-1].at == START + dt.timedelta(minutes=10)


def test_events_arrive_from_a_thread_and_dial_does_not_wait(tmp_path: Path) -> None:
    events = Events()
    ex = exchange(tmp_path, events, synchronous=False, script=["answered"], ring_seconds=0.1, speech="tones")
    started = time.monotonic()
    call_id = dial(ex)
    assert time.monotonic() - started < 0.05
    answered = events.wait_for(lambda e: e.state == CallState.ANSWERED)
    assert answered.exchange_call_id == call_id
    hung_up_at = time.monotonic()
    ex.hang_up(exchange_call_id=call_id)
    assert time.monotonic() - hung_up_at < 0.05  # the recording is written on the exchange's thread
    ready = events.wait_for(lambda e: e.recording is not None)
    assert ready.recording is not None and ready.recording.path.exists()
    assert events.states() == [("dialing", None, False), ("ringing", None, False), ("answered", None, False),
                               ("ended", "normal", False), ("ended", "normal", True)]
    assert threading.current_thread().name not in events.threads
    assert set(events.threads) == {"simulated-exchange"}


def test_hanging_up_before_the_answer_ends_the_call_normally_without_a_recording(tmp_path: Path) -> None:
    events = Events()
    ex = exchange(tmp_path, events, synchronous=False, script=["answered"], ring_seconds=0.4)
    call_id = dial(ex)
    events.wait_for(lambda e: e.state == CallState.RINGING)
    ex.hang_up(exchange_call_id=call_id)
    ended = events.wait_for(lambda e: e.state == CallState.ENDED)
    assert ended.cause == EndCause.NORMAL and ended.details["hung_up_by"] == "agent"
    time.sleep(0.6)  # past the moment the customer would have answered
    assert events.states() == [("dialing", None, False), ("ringing", None, False), ("ended", "normal", False)]
    assert not (tmp_path / "incoming").exists()


def test_the_exchange_hangs_up_a_call_left_up_too_long(tmp_path: Path) -> None:
    events = Events()
    ex = exchange(tmp_path, events, synchronous=False, script=["answered"], ring_seconds=0.05,
                  max_call_seconds=0.3, speech="tones")
    dial(ex)
    ready = events.wait_for(lambda e: e.recording is not None)
    assert ready.details["hung_up_by"] == "exchange"
    assert ready.recording is not None and ready.recording.duration_seconds == 1.0


def test_a_failing_sink_does_not_stop_the_calls(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    events = Events()

    def sink(event: CallEvent) -> None:
        events(event)
        if event.state == CallState.DIALING:
            raise RuntimeError("the database is away")

    ex = SimulatedExchange(sink=sink, recordings_dir=tmp_path, script=["busy"], ring_seconds=0.05)
    dial(ex)
    events.wait_for(lambda e: e.state == CallState.ENDED)
    assert events.states()[-1] == ("ended", "busy", False)
    assert "a scheduled step failed" in caplog.text
