"""A real Asterisk for tests, running inside the Debian sid chroot that scripts/asterisk/build-chroot.sh builds.

`AsteriskTestbed` writes one instance's configuration (asterisk_conf/ templates) with free loopback ports into
its own directory inside the chroot, starts `asterisk -f -U asterisk` there, waits until ARI answers, and
stops it again (also when the test fails). Every listener is on 127.0.0.1 (shared/notes/TELEPHONY.md).

    with AsteriskTestbed(phones=["agent", "customer"]) as pbx:
        pbx.phone_ports["customer"]   # where the customer's SIPp must listen
        pbx.base_url, pbx.username, pbx.password, pbx.recordings_dir

Starting needs root (chroot). Nothing here is used by the platform at run time."""

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

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
