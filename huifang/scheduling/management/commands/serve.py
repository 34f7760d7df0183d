"""`huifang serve`: the web UI, the background worker and the scheduler, as three child processes.

Ctrl-C (SIGINT) or SIGTERM stops all of them: each child gets SIGTERM and some seconds to finish what it is
doing, then SIGKILL. If a child dies on its own, the others are stopped and serve exits with status 1."""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """One supervised process: `label` names it in messages."""

    label: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    signals_sent: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def poll(self) -> int | None:
        return self.process.poll() if self.process else None

    def send(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signals_sent.append(signum)
            self.process.send_signal(signum)

    def stopped_cleanly(self) -> bool:
        """Exit status 0, or death by the SIGTERM we sent (uvicorn re-raises it after a graceful shutdown)."""
        code = self.poll()
        return code == 0 or (code == -signal.SIGTERM and signal.SIGTERM in self.signals_sent)


def management_command(*args: str) -> list[str]:
    """The command line of `huifang <args>` with this interpreter (the console script next to it if any)."""
    script = Path(sys.executable).with_name("huifang")
    if script.exists():
        return [sys.executable, str(script), *args]
    # `python -m django` runs the same commands; DJANGO_SETTINGS_MODULE is inherited from this process.
    return [sys.executable, "-m", "django", *args]


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn asking Linux to send the child SIGTERM if serve itself is killed (say, with SIGKILL)."""

    def preexec() -> None:
        if sys.platform == "linux":
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            # The parent may have died between fork and prctl: then nobody will ever signal this child.
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)

    return preexec


class Command(BaseCommand):
    help = "Serve the web UI with the background worker and the scheduler beside it; Ctrl-C stops all of it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: %(default)s)")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default: %(default)s)")
        parser.add_argument("--no-worker", action="store_true", help="Do not start the background worker.")
        parser.add_argument("--no-scheduler", action="store_true", help="Do not start the scheduler.")
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=10.0,
            help="Seconds the processes get to stop before they are killed (default: %(default)s).",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        no_worker: bool,
        no_scheduler: bool,
        stop_timeout: float,
        **options: Any,
    ) -> None:
        self.ensure_migrated()
        self.ensure_port_free(host, port)
        children = [Child("网页服务", self.web_command(host, port))]
        if not no_worker:
            children.append(Child("后台任务进程（worker）", management_command("worker")))
        if not no_scheduler:
            children.append(Child("调度器（scheduler）", management_command("scheduler")))

        self.received: list[int] = []
        previous = {sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start(children)
            self.stdout.write(f"回访平台已启动：http://{self.url_host(host)}:{port}/  （按 Ctrl-C 停止）")
            died = self.supervise(children)
            if died is None:
                self.stdout.write("正在停止……")
            else:
                self.stderr.write(f"{died.label} 意外退出（退出码 {died.poll()}），正在停止其他进程……")
            self.stop(children, stop_timeout)
        finally:
            # A failure while starting must not leave children behind.
            for child in children:
                if child.poll() is None and child.process is not None:
                    child.process.kill()
                    child.process.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        if died is not None:
            raise CommandError(f"{died.label} 意外退出，已停止全部进程", returncode=1)
        unclean = [child for child in children if not child.stopped_cleanly()]
        if unclean:
            names = "、".join(f"{child.label}（退出码 {child.poll()}）" for child in unclean)
            raise CommandError(f"以下进程未能正常停止：{names}", returncode=1)
        self.stdout.write("已全部停止。")

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only note the signal here; the supervising loop acts on it, outside the signal handler.
        self.received.append(signum)

    def ensure_migrated(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        finally:
            connection.close()
        if pending:
            raise CommandError("数据库尚未迁移到最新版本，请先运行 huifang migrate")

    def ensure_port_free(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # The same option uvicorn sets, so a port in TIME_WAIT does not count as taken.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise CommandError(f"无法监听 {host}:{port}（{error.strerror}），端口可能已被占用") from error

    def web_command(self, host: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "config.asgi:application",
            "--host", host, "--port", str(port),
            # Import config from this project, never from a same-named package in the current directory.
            "--app-dir", str(settings.BASE_DIR),
            # Django's ASGI handler does not speak the lifespan protocol.
            "--lifespan", "off",
            # Open event streams (SSE) would otherwise hold the shutdown forever.
            "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip

    def url_host(self, host: str) -> str:
        return f"[{host}]" if ":" in host else host

    def start(self, children: list[Child]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for child in children:
            child.process = subprocess.Popen(
                child.argv,
                env=env,
                # A process group of its own: Ctrl-C in the terminal reaches serve only, which passes it on.
                process_group=0,
                preexec_fn=die_with_parent(os.getpid()),
            )

    def supervise(self, children: list[Child]) -> Child | None:
        """Wait for a stop signal (returns None) or for a child to exit on its own (returns that child)."""
        while not self.received:
            for child in children:
                if child.poll() is not None:
                    return child
            time.sleep(POLL_SECONDS)
        return None

    def stop(self, children: list[Child], timeout: float) -> None:
        """SIGTERM to every child; a further Ctrl-C is passed on as SIGINT (it aborts the job in hand);
        whatever still runs after `timeout` seconds is killed."""
        self.received.clear()
        for child in children:
            child.send(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(child.poll() is None for child in children):
            if self.received:
                self.received.clear()
                for child in children:
                    child.send(signal.SIGINT)
            if time.monotonic() > deadline:
                for child in children:
                    if child.poll() is None and child.process is not None:
                        self.stderr.write(f"{child.label} 在 {timeout:g} 秒内未停止，强制结束")
                        child.process.kill()
                        child.process.wait()
                break
            time.sleep(POLL_SECONDS)
