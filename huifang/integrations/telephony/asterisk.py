"""The Asterisk adapter: click-to-dial over the Asterisk REST Interface (ARI), HTTP plus the events websocket.

How a call goes (shared/notes/TELEPHONY.md, "What worked end to end"):
1. `dial` originates the agent's leg (`agent_endpoint_template`, e.g. "PJSIP/{extension}") into the Stasis
   application, the call serial in its appArgs; DIALING.
2. The agent answers (StasisStart of that leg): a mixing bridge is made and the agent put in it, then the
   customer's leg (`customer_endpoint_template`, e.g. "PJSIP/{number}@trunk") is originated with
   `ring_timeout`; RINGING when it rings.
3. The customer answers (StasisStart): ANSWERED (at the time the channel went Up), the customer joins the
   bridge and the bridge is recorded, `POST /bridges/{id}/record?name=<serial>&format=wav`.
4. Either leg hangs up (ChannelDestroyed): the other one is hung up, the recording stopped and the bridge
   destroyed; ENDED with the cause from the Q.850 hangup cause (16 normal, 17 busy, 18/19 no answer, 1
   invalid number...; a agent leg that never answered is agent_unavailable).
5. RecordingFinished: the file, which Asterisk wrote into its spool (`asterisk_recordings_dir`: that directory
   as this host sees it, e.g. through the chroot), is moved into `recordings_dir`, and a second ENDED event
   carries the Recording (`details["event"] == "recording_ready"`), as the simulated exchange does.

Ids: the exchange call id is ours ("ast-<hex>"); the legs are "<id>-agent" and "<id>-customer" and the
bridge "<id>-bridge", so every ARI event names its call without a lookup table on Asterisk's side.

Events are read by one daemon thread per exchange, opened by the first `dial` (or `start()`); it reconnects
when the websocket drops. The sink is called from that thread (and from `dial` for DIALING); an error raised
by the sink is logged and the call goes on."""

import base64
import contextlib
import datetime as dt
import json
import logging
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

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

#: Q.850 hangup causes (ARI's `cause`) of a customer leg that never answered, as EndCauses
Q850_CAUSES: dict[int, EndCause] = {
    1: EndCause.INVALID_NUMBER,  # unallocated number
    2: EndCause.UNREACHABLE,  # no route to network
    3: EndCause.UNREACHABLE,  # no route to destination
    16: EndCause.NORMAL,
    17: EndCause.BUSY,
    18: EndCause.NO_ANSWER,  # no user responding (e.g. SIP 408)
    19: EndCause.NO_ANSWER,  # no answer (ringing until the timeout, SIP 480)
    20: EndCause.POWERED_OFF,  # subscriber absent
    21: EndCause.BUSY,  # call rejected (SIP 603 Decline): the customer refused while it rang
    22: EndCause.INVALID_NUMBER,  # number changed
    27: EndCause.UNREACHABLE,  # destination out of order
    28: EndCause.INVALID_NUMBER,  # invalid number format
    34: EndCause.UNREACHABLE,  # no circuit available
    38: EndCause.UNREACHABLE,  # network out of order
    41: EndCause.UNREACHABLE,  # temporary failure
    42: EndCause.UNREACHABLE,  # congestion
}

#: where Asterisk writes recordings (astspooldir/recording) on a stock installation on the same host
DEFAULT_ASTERISK_RECORDINGS_DIR = "/var/spool/asterisk/recording"

_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


def end_cause(q850: int | None) -> EndCause:
    """The EndCause of a customer leg that ended with this Q.850 cause before it was answered."""
    return Q850_CAUSES.get(q850 or 0, EndCause.FAILED)


def parse_timestamp(value: str | None) -> dt.datetime:
    """An ARI event timestamp ("2026-12-02T05:27:23.320+0000") as an aware datetime; now if missing."""
    if value:
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    return dt.datetime.now(dt.UTC)


@dataclass
class _Call:
    exchange_call_id: str
    reference: str
    number: str
    agent_up: bool = False
    customer_dialed: bool = False
    ringing: bool = False
    customer_up_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended: bool = False
    cause: EndCause | None = None
    recording_started_at: dt.datetime | None = None
    hung_up_by: str = ""

    @property
    def agent_channel(self) -> str:
        return f"{self.exchange_call_id}-agent"

    @property
    def customer_channel(self) -> str:
        return f"{self.exchange_call_id}-customer"

    @property
    def bridge(self) -> str:
        return f"{self.exchange_call_id}-bridge"


class AsteriskExchange:
    """An Exchange (base.py) over ARI. `base_url`: ARI's root, e.g. "http://127.0.0.1:8088/ari"; `app`: the
    Stasis application this adapter owns (its name in the websocket subscription); the endpoint templates are
    formatted with `extension` (the agent's) and `number` (the customer's). `ring_timeout` / `agent_ring_timeout`:
    seconds a leg may ring before Asterisk gives up (the customer's then ends as no_answer).
    `asterisk_recordings_dir`: Asterisk's recording spool as this host sees it (a shared or chrooted directory
    this process may read and delete in). Built by factory.exchange_from_settings from TELEPHONY_OPTIONS (JSON
    values: strings and numbers), with `sink` and `recordings_dir` from the platform; README "Configuration"."""

    def __init__(
        self,
        *,
        sink: EventSink,
        recordings_dir: Path | str,
        base_url: str,
        username: str,
        password: str,
        asterisk_recordings_dir: Path | str = DEFAULT_ASTERISK_RECORDINGS_DIR,
        app: str = "huifang",
        agent_endpoint_template: str = "PJSIP/{extension}",
        customer_endpoint_template: str = "PJSIP/{number}",
        caller_id: str = "",
        ring_timeout: int = 30,
        agent_ring_timeout: int = 20,
        http_timeout: float = 5.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._sink = sink
        self.recordings_dir = Path(recordings_dir)
        self.asterisk_recordings_dir = Path(asterisk_recordings_dir)
        self.base_url = base_url.rstrip("/")
        self.app = app
        self.agent_endpoint_template = agent_endpoint_template
        self.customer_endpoint_template = customer_endpoint_template
        self.caller_id = caller_id
        self.ring_timeout = int(ring_timeout)
        self.agent_ring_timeout = int(agent_ring_timeout)
        self.http_timeout = http_timeout
        self.connect_timeout = connect_timeout
        self._username = username
        self._auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self._password = password
        # held while an event is handled and while dial() originates: events of a call never overtake DIALING
        self._lock = threading.RLock()
        self._calls: dict[str, _Call] = {}
        self._by_reference: dict[str, _Call] = {}
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: ClientConnection | None = None

    # --- the Exchange interface -------------------------------------------------------------------------------

    def dial(self, *, agent_extension: str, number: str, reference: str) -> PlacedCall:
        if not agent_extension.strip():
            raise TelephonyError("坐席分机号为空", permanent=True)
        if not re.fullmatch(r"\+?[0-9]{3,20}", number.strip()):
            raise TelephonyError("被叫号码格式无效", permanent=True)
        if not _REFERENCE.fullmatch(reference):
            raise TelephonyError(f"通话流水号不能用作录音文件名：{reference!r}", permanent=True)
        self.start()
        call = _Call(exchange_call_id=f"ast-{uuid.uuid4().hex[:16]}", reference=reference, number=number.strip())
        with self._lock:
            self._calls[call.exchange_call_id] = call
            self._by_reference[reference] = call
            try:
                self._request("POST", "/channels", {
                    "endpoint": self.agent_endpoint_template.format(extension=agent_extension.strip()),
                    "app": self.app,
                    "appArgs": f"agent,{reference}",
                    "channelId": call.agent_channel,
                    "timeout": str(self.agent_ring_timeout),
                    **({"callerId": self.caller_id} if self.caller_id else {}),
                })
            except TelephonyError:
                self._forget(call)
                raise
            self._emit(call, CallState.DIALING, dt.datetime.now(dt.UTC))
        return PlacedCall(exchange_call_id=call.exchange_call_id, reference=reference)

    def hang_up(self, *, exchange_call_id: str) -> None:
        call = self._calls.get(exchange_call_id)
        if call is None or call.ended:
            return
        call.hung_up_by = call.hung_up_by or "agent"
        for channel in (call.agent_channel, call.customer_channel):
            self._delete_quietly(f"/channels/{channel}")

    # --- life cycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Opens the events websocket (once); raises TelephonyError if it cannot be opened in time."""
        if self._thread is None or not self._thread.is_alive():
            self._closing.clear()
            self._connected.clear()
            self._thread = threading.Thread(target=self._listen, name=f"ari-events-{self.app}", daemon=True)
            self._thread.start()
        if not self._connected.wait(self.connect_timeout):
            raise TelephonyError(f"无法连接 Asterisk ARI 事件通道（{self.base_url}）")

    def close(self) -> None:
        self._closing.set()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    # --- ARI over HTTP ----------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, params: dict[str, str] | None = None) -> Any:
        url = f"{self.base_url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                                         headers={"Authorization": self._auth})
        try:
            with urllib.request.urlopen(request, timeout=self.http_timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:200]
            raise TelephonyError(f"Asterisk 拒绝了请求 {method} {path}：HTTP {error.code} {detail}",
                                 permanent=400 <= error.code < 500) from error
        except (urllib.error.URLError, OSError) as error:
            raise TelephonyError(f"无法连接 Asterisk ARI（{self.base_url}）：{error}") from error
        return json.loads(body) if body else None

    def _delete_quietly(self, path: str) -> None:
        """DELETE something that may already be gone (404 is fine)."""
        try:
            self._request("DELETE", path)
        except TelephonyError as error:
            if not error.permanent:
                logger.warning("asterisk: %s", error)

    # --- ARI events -------------------------------------------------------------------------------------------

    def _listen(self) -> None:
        query = urllib.parse.urlencode({"app": self.app, "api_key": f"{self._username}:{self._password}",
                                        "subscribeAll": "false"})
        url = re.sub(r"^http", "ws", self.base_url) + "/events?" + query
        while not self._closing.is_set():
            try:
                with connect(url, open_timeout=self.connect_timeout, close_timeout=1) as connection:
                    self._connection = connection
                    self._connected.set()
                    for message in connection:
                        self._handle(json.loads(message))
            except (OSError, WebSocketException, TimeoutError) as error:
                if not self._closing.is_set():
                    logger.warning("asterisk: the ARI events websocket dropped (%s); reconnecting", error)
            finally:
                self._connection = None
                self._connected.clear()
            if not self._closing.wait(1.0):
                continue

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        at = parse_timestamp(event.get("timestamp"))
        try:
            with self._lock:
                if kind == "RecordingStarted":
                    self._recording_started(event.get("recording", {}), at)
                elif kind in ("RecordingFinished", "RecordingFailed"):
                    self._recording_finished(event.get("recording", {}), failed=kind == "RecordingFailed")
                channel = event.get("channel") or {}
                call, leg = self._leg(channel.get("id", ""))
                if call is None:
                    return
                if kind == "StasisStart":
                    self._stasis_start(call, leg, at)
                elif kind == "ChannelStateChange":
                    self._state_change(call, leg, channel.get("state", ""), at)
                elif kind == "ChannelDestroyed":
                    self._destroyed(call, leg, event.get("cause"), at)
        except Exception:
            logger.exception("asterisk: handling the ARI event %s failed", kind)

    def _leg(self, channel_id: str) -> tuple[_Call | None, str]:
        call_id, _, leg = channel_id.rpartition("-")
        return self._calls.get(call_id), leg

    def _stasis_start(self, call: _Call, leg: str, at: dt.datetime) -> None:
        if call.ended:
            return
        if leg == "agent" and not call.agent_up:
            call.agent_up = True
            try:
                self._request("POST", "/bridges", {"type": "mixing", "bridgeId": call.bridge, "name": call.reference})
                self._request("POST", f"/bridges/{call.bridge}/addChannel", {"channel": call.agent_channel})
                self._request("POST", "/channels", {
                    "endpoint": self.customer_endpoint_template.format(number=call.number),
                    "app": self.app,
                    "appArgs": f"customer,{call.reference}",
                    "channelId": call.customer_channel,
                    "originator": call.agent_channel,
                    "timeout": str(self.ring_timeout),
                    **({"callerId": self.caller_id} if self.caller_id else {}),
                })
                call.customer_dialed = True
            except TelephonyError as error:
                logger.warning("asterisk: dialing the customer of %s failed: %s", call.reference, error)
                self._end(call, EndCause.INVALID_NUMBER if error.permanent else EndCause.FAILED, at,
                          details={"error": str(error)})
        elif leg == "customer" and call.answered_at is None:
            call.answered_at = call.customer_up_at or at
            self._emit(call, CallState.ANSWERED, call.answered_at)
            try:
                self._request("POST", f"/bridges/{call.bridge}/addChannel", {"channel": call.customer_channel})
                self._request("POST", f"/bridges/{call.bridge}/record", {
                    "name": call.reference, "format": "wav", "ifExists": "fail", "beep": "false",
                    "terminateOn": "none",
                })
            except TelephonyError as error:
                # the conversation goes on without a recording; the call says so when it ends
                logger.error("asterisk: recording %s could not start: %s", call.reference, error)

    def _state_change(self, call: _Call, leg: str, state: str, at: dt.datetime) -> None:
        if leg != "customer" or call.ended:
            return
        if state == "Ringing" and not call.ringing:
            call.ringing = True
            self._emit(call, CallState.RINGING, at)
        elif state == "Up" and call.customer_up_at is None:
            call.customer_up_at = at

    def _destroyed(self, call: _Call, leg: str, q850: int | None, at: dt.datetime) -> None:
        if call.ended:
            return
        if call.answered_at is not None:
            cause = EndCause.NORMAL
            call.hung_up_by = call.hung_up_by or leg
        elif leg == "agent":
            # the agent's phone never answered, or the agent gave up while the customer's rang
            cause = EndCause.NORMAL if call.agent_up else EndCause.AGENT_UNAVAILABLE
        else:
            cause = end_cause(q850)
        self._end(call, cause, at, details={"q850_cause": str(q850 or 0), "leg": leg})

    def _end(self, call: _Call, cause: EndCause, at: dt.datetime, *, details: dict[str, str]) -> None:
        call.ended = True
        call.cause = cause
        if call.hung_up_by:
            details = {**details, "hung_up_by": call.hung_up_by}
        self._emit(call, CallState.ENDED, at, cause=cause, details=details)
        for channel in (call.agent_channel, call.customer_channel):
            self._delete_quietly(f"/channels/{channel}")
        if call.answered_at is not None:
            # stop (and keep: DELETE would discard it) the recording, then the bridge: RecordingFinished follows
            with contextlib.suppress(TelephonyError):
                self._request("POST", f"/recordings/live/{call.reference}/stop")
        self._delete_quietly(f"/bridges/{call.bridge}")
        if call.answered_at is None:
            self._forget(call)

    def _recording_started(self, recording: dict[str, Any], at: dt.datetime) -> None:
        call = self._by_reference.get(recording.get("name", ""))
        if call is not None:
            call.recording_started_at = at

    def _recording_finished(self, recording: dict[str, Any], *, failed: bool) -> None:
        call = self._by_reference.get(recording.get("name", ""))
        if call is None:
            return
        try:
            if failed:
                logger.error("asterisk: the recording of %s failed: %s", call.reference, recording.get("cause"))
                return
            path = self._move_recording(call.reference, recording.get("format", "wav"))
            details = {"event": "recording_ready", "answered_at": call.answered_at.isoformat() if call.answered_at
                       else ""}
            if call.recording_started_at is not None:
                details["recording_started_at"] = call.recording_started_at.isoformat()
            with wave.open(str(path)) as audio:
                seconds = audio.getnframes() / audio.getframerate()
            self._emit(call, CallState.ENDED, dt.datetime.now(dt.UTC), cause=call.cause or EndCause.NORMAL,
                       recording=Recording(path=path, duration_seconds=seconds), details=details)
        finally:
            self._forget(call)

    def _move_recording(self, name: str, extension: str) -> Path:
        """Moves Asterisk's file into recordings_dir (a new name if one is there) and answers the new path."""
        source = self.asterisk_recordings_dir / f"{name}.{extension}"
        # Asterisk may still be closing the file when the event arrives
        for _ in range(20):
            if source.exists():
                break
            time.sleep(0.05)
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        target = self.recordings_dir / source.name
        n = 2
        while target.exists():
            target = self.recordings_dir / f"{name}-{n}.{extension}"
            n += 1
        shutil.move(str(source), target)
        return target

    def _forget(self, call: _Call) -> None:
        self._calls.pop(call.exchange_call_id, None)
        if self._by_reference.get(call.reference) is call:
            del self._by_reference[call.reference]

    def _emit(self, call: _Call, state: CallState, at: dt.datetime, *, cause: EndCause | None = None,
              recording: Recording | None = None, details: dict[str, str] | None = None) -> None:
        try:
            self._sink(CallEvent(exchange_call_id=call.exchange_call_id, reference=call.reference, state=state,
                                 at=at, cause=cause, recording=recording, details=details or {}))
        except Exception:
            logger.exception("asterisk: the event sink failed on %s %s", call.reference, state)
