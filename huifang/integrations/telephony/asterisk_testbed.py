"""A real Asterisk for tests, running inside the Debian sid chroot that scripts/asterisk/build-chroot.sh builds.

`AsteriskTestbed` writes one instance's configuration (asterisk_conf/ templates) with free loopback ports into
its own directory inside the chroot, starts `asterisk -f -U asterisk` there, waits until ARI answers, and
stops it again (also when the test fails). Every listener is on 127.0.0.1 (shared/notes/TELEPHONY.md).

    with AsteriskTestbed(phones=["agent", "customer"]) as pbx:
        pbx.phone_ports["customer"]   # where the customer's SIPp must listen
        pbx.base_url, pbx.username, pbx.password, pbx.recordings_dir

Below it, what the tests of the adapter (telephony/tests/test_asterisk.py) and of calls through the platform
(calls/tests/test_asterisk_calls.py) share: SIPp phones (`Phone` with the AGENT_UAS / customer_uas /
CUSTOMER_NEVER_ANSWERS scenarios), the customer's speech and the windowed correlation that finds it in a
recording (`locate`), and `Events`, a sink that keeps the events for the test to wait on.

Starting needs root (chroot). Nothing here is used by the platform at run time."""

import array
import base64
import contextlib
import json
import math
import operator
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from huifang.integrations.telephony.base import CallEvent

CONF_DIR = Path(__file__).with_name("asterisk_conf")
REPO_ROOT = Path(__file__).resolve().parents[3]
#: the chroot that scripts/asterisk/build-chroot.sh builds (same variable, same default)
CHROOT_ENV = "HUIFANG_ASTERISK_CHROOT"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "asterisk" / "build-chroot.sh"
#: the chroot's stamp file: present only once the build finished
STAMP = ".huifang-asterisk-ok"
APP = "huifang"
#: the files written from templates, besides pjsip.conf (built from pjsip.conf + one pjsip_phone.conf per phone)
_PLAIN_TEMPLATES = ("asterisk.conf", "modules.conf", "http.conf", "ari.conf", "rtp.conf", "extensions.conf",
                    "logger.conf")


class TestbedError(RuntimeError):
    """The chroot is missing or Asterisk did not come up: the message says why (tests fail on it, never skip)."""


def default_chroot() -> Path:
    return Path(os.environ.get(CHROOT_ENV) or REPO_ROOT / "var" / "asterisk-chroot")


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A loopback port free for UDP (or TCP with SOCK_STREAM) right now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_range(size: int, *, start: int = 20000, stop: int = 60000) -> int:
    """The first port of `size` consecutive loopback UDP ports that are free now (an even one, as RTP likes)."""
    base = start + secrets.randbelow((stop - start) // 2) * 2
    for _ in range(200):
        if base + size >= stop:
            base = start
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            base += size + (size % 2)
        finally:
            for sock in socks:
                sock.close()
    raise TestbedError(f"找不到 {size} 个连续的空闲 UDP 端口 / no {size} consecutive free UDP ports")


def render(template: str, values: dict[str, str]) -> str:
    """Replace each {{name}}; a placeholder left over is a bug in the template or the caller."""
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", value)
    if "{{" in template:
        start = template.index("{{")
        raise TestbedError(f"未替换的占位符 / unfilled placeholder: {template[start:start + 40]!r}")
    return template


class AsteriskTestbed:
    """One Asterisk instance in the chroot. `phones`: the names of the test phones; each gets a PJSIP endpoint
    of that name whose contact and `identify` match are 127.0.0.1:<its port> (in `phone_ports`)."""

    def __init__(self, *, phones: Iterable[str], chroot: Path | None = None, app: str = APP,
                 start_timeout: float = 30.0) -> None:
        self.chroot = chroot or default_chroot()
        self.app = app
        self.start_timeout = start_timeout
        self.phone_ports: dict[str, int] = {}
        for name in phones:
            self.phone_ports[name] = free_port()
        self.sip_port = free_port()
        self.http_port = free_port(socket.SOCK_STREAM)
        self.rtp_start = free_udp_range(40)
        self.username = "huifang"
        self.password = secrets.token_hex(12)
        self.instance_in_chroot = f"/var/lib/huifang-testbed/{os.getpid()}-{secrets.token_hex(4)}"
        self.instance_dir = self.chroot / self.instance_in_chroot.lstrip("/")
        self.process: subprocess.Popen[bytes] | None = None
        self._output: Path | None = None

    # -- where things are --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/ari"

    @property
    def recordings_dir_in_chroot(self) -> str:
        """Where Asterisk writes recordings, as Asterisk sees it."""
        return f"{self.instance_in_chroot}/spool/recording"

    @property
    def recordings_dir(self) -> Path:
        """The same directory as the host sees it."""
        return self.chroot / self.recordings_dir_in_chroot.lstrip("/")

    def log_tail(self, lines: int = 60) -> str:
        """The end of Asterisk's own log and console output, for failure messages."""
        parts = []
        for path in (self.instance_dir / "log" / "messages.log", self._output):
            if path and path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    # -- life cycle --------------------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        self._check_chroot()
        self._write_config()
        self._output = self.instance_dir / "log" / "console.log"
        with open(self._output, "wb") as out:
            self.process = subprocess.Popen(
                ["chroot", str(self.chroot), "/usr/sbin/asterisk", "-f", "-n", "-U", "asterisk", "-G", "asterisk",
                 "-C", f"{self.instance_in_chroot}/etc/asterisk.conf"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
                start_new_session=True,
            )
        try:
            self._wait_for_ari()
        except BaseException:
            self.stop(keep_files=True)
            raise

    def stop(self, *, keep_files: bool = False) -> None:
        """Stop Asterisk (SIGTERM, then SIGKILL) and remove the instance directory unless `keep_files`."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if not keep_files and self.instance_dir.exists():
            shutil.rmtree(self.instance_dir, ignore_errors=True)

    # -- ARI ---------------------------------------------------------------------------------------------------
    def ari(self, method: str, path: str, *, timeout: float = 5.0) -> object:
        """One ARI request as the testbed's user; answers the decoded JSON (or None for an empty body)."""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request = urllib.request.Request(f"{self.base_url}{path}", method=method,
                                         headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    # -- internals ---------------------------------------------------------------------------------------------
    def _check_chroot(self) -> None:
        if os.geteuid() != 0:
            raise TestbedError("启动 chroot 中的 Asterisk 需要 root / running Asterisk in the chroot needs root")
        if not (self.chroot / STAMP).exists() or not (self.chroot / "usr/sbin/asterisk").exists():
            raise TestbedError(
                f"Asterisk chroot 不存在或未构建完成：{self.chroot}；请先运行 {BUILD_SCRIPT} / "
                f"the Asterisk chroot is missing or incomplete: {self.chroot}; run {BUILD_SCRIPT} first")

    def _module_dir(self) -> str:
        candidates = [*sorted(self.chroot.glob("usr/lib/*/asterisk/modules")), self.chroot / "usr/lib/asterisk/modules"]
        for candidate in candidates:
            if (candidate / "chan_pjsip.so").exists():
                return "/" + str(candidate.relative_to(self.chroot))
        raise TestbedError(f"chroot 中找不到 Asterisk 模块目录 / no Asterisk module directory in {self.chroot}")

    def _asterisk_ids(self) -> tuple[int, int]:
        """The asterisk user's uid and gid inside the chroot (its files are written as that user)."""
        for line in (self.chroot / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "asterisk":
                return int(fields[2]), int(fields[3])
        raise TestbedError(f"chroot 中没有 asterisk 用户 / no asterisk user in {self.chroot}")

    def _write_config(self) -> None:
        values = {
            "instance_dir": self.instance_in_chroot,
            "module_dir": self._module_dir(),
            "http_port": str(self.http_port),
            "sip_port": str(self.sip_port),
            "rtp_start": str(self.rtp_start),
            "rtp_end": str(self.rtp_start + 39),
            "ari_username": self.username,
            "ari_password": self.password,
            "app": self.app,
        }
        etc = self.instance_dir / "etc"
        uid, gid = self._asterisk_ids()
        for sub in ("etc", "db", "spool/recording", "run", "log"):
            (self.instance_dir / sub).mkdir(parents=True, exist_ok=True)
        for name in _PLAIN_TEMPLATES:
            (etc / name).write_text(render((CONF_DIR / name).read_text(), values))
        pjsip = render((CONF_DIR / "pjsip.conf").read_text(), values)
        phone_template = (CONF_DIR / "pjsip_phone.conf").read_text()
        for phone, port in self.phone_ports.items():
            pjsip += render(phone_template, {"phone": phone, "phone_port": str(port)})
        (etc / "pjsip.conf").write_text(pjsip)
        for path in [self.instance_dir, *self.instance_dir.rglob("*")]:
            os.chown(path, uid, gid)

    def _wait_for_ari(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise TestbedError(f"Asterisk 启动后退出（代码 {code}）/ Asterisk exited at start (code {code})\n"
                                   + self.log_tail())
            try:
                self.ari("GET", "/asterisk/info")
                return
            except (urllib.error.URLError, OSError, ValueError) as error:
                last_error = str(error)
            time.sleep(0.2)
        raise TestbedError(f"ARI 在 {self.start_timeout:.0f} 秒内没有应答（{last_error}）/ ARI did not answer in "
                           f"{self.start_timeout:.0f} s ({last_error})\n" + self.log_tail())


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


def customer_uas(*, answer_after_ms: int, audio: Path, talk_ms: int, hangs_up: bool = True) -> str:
    """The customer's phone: rings, answers after a delay, speaks `audio` (raw u-law), hangs up itself after
    `talk_ms`; or, `hangs_up=False`, waits for the other side's BYE."""
    if hangs_up:
        receive, ending = capture_invite(contact=True), _CUSTOMER_BYE.format(talk_ms=talk_ms)
    else:
        receive, ending = '<recv request="INVITE" crlf="true"/>', _WAIT_FOR_BYE
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="customer answers, speaks, hangs up">
{receive}
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
{ending}
</scenario>
"""


_CUSTOMER_BYE = """  <pause milliseconds="{talk_ms}"/>
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
  <recv response="200" crlf="true"/>"""

_WAIT_FOR_BYE = f"""  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
{_REPLY_HEADERS}
Content-Length: 0

]]></send>"""


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
