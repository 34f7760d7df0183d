"""The simulated exchange: the demo's default and the tests' telephone network.

It rings, answers or not with realistic odds per outcome (or as a script says), and when an answered call is
hung up it writes a real recording: an 8 kHz mono 16-bit WAV file named by the call serial, holding a short
Mandarin conversation spoken by espeak-ng (voice `cmn-latn-pinyin`, resampled by sox; notes/TELEPHONY.md) or,
when either program is missing, tones and shaped noise standing in for speech. The file is always valid and
lasts as long as the call was answered (at least 1 s, at most `max_recording_seconds`).

What a call reports, in order (all through the sink):
- DIALING, then RINGING;
- then ANSWERED, or ENDED with a not-connected cause (no_answer, busy, powered_off, invalid_number,
  unreachable, suspended; agent_unavailable and failed only when the odds or the script name them, and
  agent_unavailable skips RINGING: the agent's own phone never answered);
- for an answered call, on hang_up (or after `max_call_seconds`): ENDED with cause normal and no recording,
  then a second ENDED event with the same cause carrying the Recording (`details["event"] ==
  "recording_ready"`). The recording comes on its own event, as it does from a real exchange that finishes
  writing the file after the hang-up: consumers handle a repeated ENDED anyway, the end of the call is never
  held up by writing the file, and a recording that cannot be written costs only the recording;
- hang_up before the customer answered ends the call with cause normal (the agent gave up) and no recording;
  hang_up of an unknown or already ended call does nothing.

`synchronous=True` (tests) emits every event inside dial() and hang_up(), in the caller's thread. Otherwise one
daemon thread per exchange delivers them after realistic delays, in order, and never blocks the caller; an
error raised by the sink is logged there and the call goes on. Events may arrive before dial() has returned
its exchange call id (certainly so when synchronous): find the call by `reference`.

The calls table lives in this process: dial and hang_up must reach the same instance (factory.py shares one).
"""

import array
import datetime as dt
import heapq
import itertools
import logging
import math
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from huifang.integrations.telephony.base import (
    CallEvent,
    CallState,
    EndCause,
    EventSink,
    PlacedCall,
    Recording,
    TelephonyError,
)

logger = logging.getLogger(__name__)

ANSWERED = "answered"
#: causes a call may end with before anyone talked (the odds and the script name these, or "answered")
NOT_CONNECTED = (
    EndCause.NO_ANSWER,
    EndCause.BUSY,
    EndCause.POWERED_OFF,
    EndCause.INVALID_NUMBER,
    EndCause.UNREACHABLE,
    EndCause.SUSPENDED,
    EndCause.AGENT_UNAVAILABLE,
    EndCause.FAILED,
)
#: roughly what an outbound callback team of a Chinese brokerage sees on customers' mobile phones
DEFAULT_ODDS: dict[str, float] = {
    ANSWERED: 0.60,
    EndCause.NO_ANSWER: 0.20,
    EndCause.BUSY: 0.07,
    EndCause.POWERED_OFF: 0.05,
    EndCause.INVALID_NUMBER: 0.03,
    EndCause.UNREACHABLE: 0.03,
    EndCause.SUSPENDED: 0.02,
}

RATE = 8000  # samples per second: telephony
MIN_RECORDING_SECONDS = 1.0
SPEECH_VOICE = "cmn-latn-pinyin"  # speaks Chinese characters; plain `cmn` reads them as English (TELEPHONY.md)
SPEECH_TIMEOUT_SECONDS = 15

# The conversation a recording holds: the agent's greeting, question-and-answer turns repeated to fill a long
# call, and the goodbye at the very end. ("agent" | "customer", text)
GREETING = [
    ("agent", "您好，这里是回访中心，本次通话将被录音。请问是客户本人吗？"),
    ("customer", "是的，我是。"),
]
QUESTIONS = [
    ("agent", "我们想了解一下您最近的开户体验，耽误您两分钟可以吗？"),
    ("customer", "可以，你说吧。"),
    ("agent", "请问开户时工作人员是否向您说明了风险？"),
    ("customer", "说明了，讲得很清楚。"),
    ("agent", "您对我们的服务满意吗？"),
    ("customer", "挺满意的，谢谢。"),
]
GOODBYE = [
    ("agent", "感谢您的配合，祝您生活愉快，再见。"),
    ("customer", "好的，再见。"),
]

#: a serial becomes a file name: ASCII letters, digits, dot, dash, underscore only
_REFERENCE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
_NUMBER = re.compile(r"\+?[0-9][0-9 ()-]{2,30}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Call:
    exchange_call_id: str
    reference: str
    outcome: str  # "answered" or a NOT_CONNECTED cause
    state: CallState = CallState.DIALING
    dialed_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended: bool = False
    hung_up_by: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class _Dispatcher:
    """One daemon thread running callbacks at their due monotonic time, in (time, submission) order."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, delay: float, action: Callable[[], None]) -> None:
        with self._wakeup:
            heapq.heappush(self._queue, (time.monotonic() + max(0.0, delay), next(self._counter), action))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="simulated-exchange", daemon=True)
                self._thread.start()
            self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._queue or self._queue[0][0] > time.monotonic():
                    self._wakeup.wait(max(0.0, self._queue[0][0] - time.monotonic()) if self._queue else None)
                _, _, action = heapq.heappop(self._queue)
            try:
                action()
            except Exception:  # the sink's or the recording's failure must not stop the other calls
                logger.exception("simulated exchange: a scheduled step failed")


class SimulatedExchange:
    """An Exchange (base.py) without a telephone network. See the module docstring for what it reports.

    `odds`: the weight of each outcome ("answered" or a NOT_CONNECTED cause; missing ones weigh 0), normalised;
    default DEFAULT_ODDS. `script`: outcomes used in order before the odds are drawn (tests, demos). `seed`:
    makes the draws reproducible. `ring_seconds`: how long the customer's phone rings before answering; no
    answer takes twice that, the other failures half. `speech`: "auto" (espeak-ng if installed, else tones),
    "espeak" (fail the recording without espeak-ng and sox) or "tones". `clock`: where event times come from."""

    def __init__(
        self,
        *,
        sink: EventSink,
        recordings_dir: Path,
        odds: Mapping[str, float] | None = None,
        seed: int | None = None,
        ring_seconds: float = 2.0,
        synchronous: bool = False,
        script: list[str] | None = None,
        max_call_seconds: float = 600.0,
        max_recording_seconds: float = 60.0,
        speech: Literal["auto", "espeak", "tones"] = "auto",
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._sink = sink
        self.recordings_dir = Path(recordings_dir)
        self._weights = _checked_odds(DEFAULT_ODDS if odds is None else odds)
        self._script = [_checked_outcome(item) for item in (script or [])]
        self._seed = seed
        self._random = random.Random(seed)
        if ring_seconds < 0 or max_call_seconds <= 0 or max_recording_seconds < MIN_RECORDING_SECONDS:
            raise ValueError("ring_seconds >= 0, max_call_seconds > 0, max_recording_seconds >= 1")
        self.ring_seconds = ring_seconds
        self.synchronous = synchronous
        self.max_call_seconds = max_call_seconds
        self.max_recording_seconds = max_recording_seconds
        if speech not in ("auto", "espeak", "tones"):
            raise ValueError(f"speech must be auto, espeak or tones, not {speech!r}")
        self.speech = speech
        self._clock = clock
        self._lock = threading.Lock()  # guards _calls, _script and _random
        self._calls: dict[str, _Call] = {}
        self._dispatcher = _Dispatcher()

    # --- the Exchange interface -------------------------------------------------------------------------------

    def dial(self, *, agent_extension: str, number: str, reference: str) -> PlacedCall:
        if not agent_extension.strip():
            raise TelephonyError("坐席分机号为空", permanent=True)
        if not number.strip():
            raise TelephonyError("被叫号码为空", permanent=True)
        if not _NUMBER.fullmatch(number.strip()):
            raise TelephonyError("被叫号码格式无效", permanent=True)
        if not _REFERENCE.fullmatch(reference):
            raise TelephonyError(f"通话流水号不能用作录音文件名：{reference!r}", permanent=True)
        call_id = f"SIM-{uuid.uuid4().hex[:16].upper()}"
        with self._lock:
            outcome = self._script.pop(0) if self._script else self._draw()
            call = _Call(exchange_call_id=call_id, reference=reference, outcome=outcome)
            self._calls[call_id] = call
        if self.synchronous:
            self._step_dialing(call)
            if call.outcome != EndCause.AGENT_UNAVAILABLE:
                self._step_ringing(call)
            self._step_outcome(call)
        else:
            self._dispatcher.submit(0.05, lambda: self._step_dialing(call))
            ringing_at = 0.05 + self.ring_seconds / 4
            if call.outcome != EndCause.AGENT_UNAVAILABLE:
                self._dispatcher.submit(ringing_at, lambda: self._step_ringing(call))
            self._dispatcher.submit(ringing_at + self._outcome_delay(outcome), lambda: self._step_outcome(call))
        return PlacedCall(exchange_call_id=call_id, reference=reference)

    def hang_up(self, *, exchange_call_id: str) -> None:
        self._end(exchange_call_id, by="agent")

    # --- the steps of a call ----------------------------------------------------------------------------------

    def _draw(self) -> str:
        """An outcome by the odds. Caller holds the lock."""
        point = self._random.random()
        for outcome, cumulative in self._weights:
            if point < cumulative:
                return outcome
        return self._weights[-1][0]

    def _outcome_delay(self, outcome: str) -> float:
        if outcome == ANSWERED:
            return self.ring_seconds
        if outcome == EndCause.NO_ANSWER:
            return self.ring_seconds * 2
        return self.ring_seconds / 2

    def _advance(self, call: _Call, state: CallState) -> dt.datetime | None:
        """Moves a live call to `state`; None if it has ended meanwhile (the step is then skipped)."""
        with self._lock:
            if call.ended:
                return None
            call.state = state
            at = self._clock()
            if state == CallState.DIALING:
                call.dialed_at = at
            elif state == CallState.ANSWERED:
                call.answered_at = at
            elif state == CallState.ENDED:
                call.ended = True
                self._calls.pop(call.exchange_call_id, None)
            return at

    def _emit(self, call: _Call, state: CallState, at: dt.datetime, *, cause: EndCause | None = None,
              recording: Recording | None = None, details: dict[str, str] | None = None) -> None:
        self._sink(CallEvent(exchange_call_id=call.exchange_call_id, reference=call.reference, state=state, at=at,
                             cause=cause, recording=recording, details=details or {}))

    def _step_dialing(self, call: _Call) -> None:
        if (at := self._advance(call, CallState.DIALING)) is not None:
            self._emit(call, CallState.DIALING, at)

    def _step_ringing(self, call: _Call) -> None:
        if (at := self._advance(call, CallState.RINGING)) is not None:
            self._emit(call, CallState.RINGING, at)

    def _step_outcome(self, call: _Call) -> None:
        if call.outcome == ANSWERED:
            if (at := self._advance(call, CallState.ANSWERED)) is None:
                return
            self._emit(call, CallState.ANSWERED, at)
            if not self.synchronous:
                self._dispatcher.submit(self.max_call_seconds,
                                        lambda: self._end(call.exchange_call_id, by="exchange"))
            return
        if (at := self._advance(call, CallState.ENDED)) is not None:
            self._emit(call, CallState.ENDED, at, cause=EndCause(call.outcome))

    def _end(self, exchange_call_id: str, *, by: str) -> None:
        """Hangs up a live call (the agent through hang_up, or the exchange at max_call_seconds)."""
        with self._lock:
            call = self._calls.pop(exchange_call_id, None)
            if call is None or call.ended:
                return
            call.ended = True
            call.hung_up_by = by
            ended_at = self._clock()
            answered_at = call.answered_at
            if answered_at is not None:
                # a synchronous exchange has no timer: it ends an overlong call where the timer would have
                ended_at = min(ended_at, answered_at + dt.timedelta(seconds=self.max_call_seconds))
        details = {"hung_up_by": by}
        if self.synchronous:
            self._finish(call, ended_at, answered_at, details)
        else:
            self._dispatcher.submit(0.0, lambda: self._finish(call, ended_at, answered_at, details))

    def _finish(self, call: _Call, ended_at: dt.datetime, answered_at: dt.datetime | None,
                details: dict[str, str]) -> None:
        self._emit(call, CallState.ENDED, ended_at, cause=EndCause.NORMAL, details=details)
        if answered_at is None:
            return  # the agent gave up before the customer answered: nothing was recorded
        seconds = (ended_at - answered_at).total_seconds()
        try:
            recording, source = self._write_recording(call.reference, seconds)
        except Exception:
            logger.exception("simulated exchange: the recording of %s could not be written", call.reference)
            return
        self._emit(call, CallState.ENDED, ended_at, cause=EndCause.NORMAL, recording=recording,
                   details={**details, "event": "recording_ready", "recording_source": source})

    # --- the recording ----------------------------------------------------------------------------------------

    def _write_recording(self, reference: str, answered_seconds: float) -> tuple[Recording, str]:
        """Writes `<reference>.wav` (a new name if that exists) atomically; returns it and its source."""
        seconds = min(max(answered_seconds, MIN_RECORDING_SECONDS), self.max_recording_seconds)
        n = round(seconds * RATE)
        source = "tones"
        samples: array.array[int] | None = None
        if self.speech == "espeak" and not speech_available():
            raise TelephonyError("espeak-ng 或 sox 未安装，无法合成录音语音")
        if self.speech == "espeak" or (self.speech == "auto" and speech_available()):
            try:
                samples, source = _conversation(n, _spoken, random.Random(f"{self._seed}:{reference}")), "espeak-ng"
            except (OSError, subprocess.SubprocessError, TelephonyError):
                if self.speech == "espeak":
                    raise
                logger.warning("simulated exchange: espeak-ng failed, the recording gets tones", exc_info=True)
        if samples is None:
            samples = _conversation(n, _toned, random.Random(f"{self._seed}:{reference}"))
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        path = self.recordings_dir / f"{reference}.wav"
        for n in itertools.count(2):
            if not path.exists():
                break
            path = self.recordings_dir / f"{reference}-{n}.wav"
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(_little_endian(samples))
        os.replace(partial, path)
        return Recording(path=path, duration_seconds=len(samples) / RATE), source


def _checked_outcome(outcome: str) -> str:
    if outcome == ANSWERED:
        return ANSWERED
    try:
        cause = EndCause(outcome)
    except ValueError:
        cause = None
    if cause not in NOT_CONNECTED:
        raise ValueError(f"not an outcome of a simulated call: {outcome!r}")
    return str(cause)


def _checked_odds(odds: Mapping[str, float]) -> list[tuple[str, float]]:
    """The outcomes with their cumulative normalised weights, in a fixed order (reproducible draws)."""
    weights = {_checked_outcome(key): float(value) for key, value in odds.items()}
    if any(value < 0 or math.isnan(value) for value in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError("odds must be non-negative and not all zero")
    total = sum(weights.values())
    cumulative, table = 0.0, []
    for outcome in (ANSWERED, *map(str, NOT_CONNECTED)):
        if weights.get(outcome):
            cumulative += weights[outcome] / total
            table.append((outcome, cumulative))
    return table


# --- audio ------------------------------------------------------------------------------------------------------

def speech_available() -> bool:
    """espeak-ng and sox are both on PATH."""
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


_speech_cache: dict[tuple[str, str], array.array[int]] = {}
_speech_lock = threading.Lock()


def _spoken(speaker: str, text: str) -> array.array[int]:
    """`text` spoken by espeak-ng as 8 kHz samples; the customer sounds like a phone line (300–3400 Hz)."""
    key = (speaker, text)
    with _speech_lock:
        if key in _speech_cache:
            return _speech_cache[key]
    voice, pitch, speed = (f"{SPEECH_VOICE}+f2", "60", "165") if speaker == "agent" else (SPEECH_VOICE, "35", "150")
    effects = ["highpass", "300", "lowpass", "3400"] if speaker == "customer" else []
    spoken = subprocess.run(["espeak-ng", "-v", voice, "-p", pitch, "-s", speed, "--stdout", text],
                            capture_output=True, timeout=SPEECH_TIMEOUT_SECONDS, check=True).stdout
    raw = subprocess.run(["sox", "-V1", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16",
                          "-e", "signed-integer", "-L", "-", *effects, "gain", "-n", "-4"],
                         input=spoken, capture_output=True, timeout=SPEECH_TIMEOUT_SECONDS, check=True).stdout
    samples = array.array("h")
    samples.frombytes(raw[: len(raw) - len(raw) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        raise TelephonyError("espeak-ng 未产生语音")
    with _speech_lock:
        _speech_cache[key] = samples
    return samples


_SINE_SIZE = 4096
_SINE = [math.sin(2 * math.pi * i / _SINE_SIZE) for i in range(_SINE_SIZE)]
# Mandarin's four tones as pitch contours over a syllable (t from 0 to 1), relative to the speaker's base pitch
_TONES: list[Callable[[float], float]] = [
    lambda t: 1.25,  # high and level
    lambda t: 0.95 + 0.35 * t,  # rising
    lambda t: 0.9 - 0.4 * math.sin(math.pi * t) + 0.2 * t,  # dipping
    lambda t: 1.35 - 0.5 * t,  # falling
]


def _toned(speaker: str, text: str) -> array.array[int]:
    """Speech without a speech synthesiser: one voiced syllable per character (harmonics gliding along one of
    the four tones, after a burst of noise for the consonant), a short gap at punctuation."""
    base = 220.0 if speaker == "agent" else 125.0
    rng = random.Random(f"{speaker}:{text}")
    out = array.array("h")
    for char in text:
        if not ("\u4e00" <= char <= "\u9fff"):
            out.extend([0] * int(RATE * 0.12))
            continue
        n = int(RATE * rng.uniform(0.16, 0.24))
        contour = _TONES[ord(char) % 4]
        burst = int(RATE * 0.025)
        phase, low = 0.0, 0.0
        for i in range(n):
            phase = (phase + base * contour(i / n) * _SINE_SIZE / RATE) % _SINE_SIZE
            k = int(phase)
            voiced = (_SINE[k] + 0.5 * _SINE[(2 * k) % _SINE_SIZE] + 0.3 * _SINE[(3 * k) % _SINE_SIZE]
                      + 0.15 * _SINE[(4 * k) % _SINE_SIZE])
            envelope = min(1.0, i / (0.03 * RATE)) * min(1.0, (n - i) / (0.05 * RATE))
            sample = 5200 * voiced * envelope
            if i < burst:  # shaped noise: a one-pole low-pass over white noise, fading in and out
                low = 0.6 * low + 0.4 * rng.uniform(-1, 1)
                sample = sample * i / burst + 6000 * low * math.sin(math.pi * i / burst)
            out.append(int(sample))
        out.extend([0] * int(RATE * 0.03))
    return out


def _tone(frequency: float, seconds: float, amplitude: int) -> array.array[int]:
    n = int(RATE * seconds)
    return array.array("h", (int(amplitude * math.sin(2 * math.pi * frequency * i / RATE)
                                 * min(1.0, i / 80, (n - i) / 80)) for i in range(n)))


def _conversation(n: int, voice: Callable[[str, str], array.array[int]], rng: random.Random) -> array.array[int]:
    """Exactly `n` samples: the recording beep, the greeting, questions and answers while they fit, the goodbye
    at the end (cut short if the call was), all over a faint line hiss."""
    out = array.array("h")
    out.extend(_tone(1000.0, 0.15, 6000))

    def say(turns: list[tuple[str, str]], into: array.array[int]) -> None:
        for speaker, text in turns:
            into.extend([0] * int(RATE * rng.uniform(0.3, 0.7)))
            into.extend(voice(speaker, text))

    say(GREETING, out)
    goodbye: array.array[int] = array.array("h")
    say(GOODBYE, goodbye)
    goodbye.extend([0] * int(RATE * 0.4))
    turns = itertools.cycle(QUESTIONS)
    while len(out) + len(goodbye) < n:
        turn: array.array[int] = array.array("h")
        say([next(turns), next(turns)], turn)
        if len(out) + len(turn) + len(goodbye) > n:
            out.extend([0] * (n - len(out) - len(goodbye)))
            break
        out.extend(turn)
    if len(out) < n:
        out.extend(goodbye)
    del out[n:]
    hiss = [rng.randint(-60, 60) for _ in range(RATE)]
    offset = rng.randrange(RATE)
    fade = int(RATE * 0.02)
    for i in range(n):
        value = out[i] + hiss[(i + offset) % RATE]
        if i >= n - fade:
            value = value * (n - i) // fade
        out[i] = max(-32768, min(32767, value))
    return out


def _little_endian(samples: array.array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array.array("h", samples)
        samples.byteswap()
    return samples.tobytes()
