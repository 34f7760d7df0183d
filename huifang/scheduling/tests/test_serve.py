"""`huifang serve` for real: web, worker and scheduler come up together and go down together."""

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from huifang.scheduling.tests.support import (
    HUIFANG,
    child_pids,
    command_line,
    free_port,
    http_status,
    huifang_env,
    is_running,
    wait_until,
)


class Serve:
    """A running `huifang serve` whose output goes to a file (a pipe nobody reads could fill and block it)."""

    def __init__(self, var_dir: Path, *args: str) -> None:
        self.port = free_port()
        self.log_path = var_dir / "serve.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(HUIFANG), "serve", "--port", str(self.port), *args],
            env=huifang_env(var_dir),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for_login_page(self) -> None:
        url = f"http://127.0.0.1:{self.port}/login/"
        wait_until(lambda: http_status(url) == 200 or self.process.poll() is not None, timeout=30, what=url)
        assert self.process.poll() is None, self.output
        assert http_status(url) == 200

    def children(self) -> dict[str, int]:
        """The live child processes by role: web, worker, scheduler."""
        found: dict[str, int] = {}
        for pid in child_pids(self.process.pid):
            line = command_line(pid)
            role = "web" if "uvicorn" in line else line.split()[-1]
            found[role] = pid
        return found

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def serve(var_dir: Path) -> Iterator[Callable[..., Serve]]:
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        server = Serve(var_dir, *args)
        started.append(server)
        return server

    yield start
    leftovers = [pid for server in started for pid in child_pids(server.process.pid)]
    for server in started:
        server.close()
    for pid in leftovers:
        if is_running(pid):
            subprocess.run(["kill", "-9", str(pid)], check=False)


def test_serve_answers_on_the_port_with_worker_and_scheduler_beside_it_and_ctrl_c_stops_all(
    serve: Callable[..., Serve],
) -> None:
    server = serve()
    server.wait_for_login_page()
    children = server.children()
    assert set(children) == {"web", "worker", "scheduler"}, children
    assert all(is_running(pid) for pid in children.values())
    # Up means their signal handlers are in place too: both say so in the log.
    wait_until(
        lambda: "后台任务进程已启动" in server.output and "调度器已启动" in server.output,
        timeout=30,
        what="the worker and the scheduler to start",
    )

    server.process.send_signal(signal.SIGINT)

    assert server.process.wait(timeout=15) == 0, server.output
    assert not [role for role, pid in children.items() if is_running(pid)], server.output
    assert "已全部停止" in server.output
    assert "调度器已停止" in server.output
    assert "后台任务进程已停止" in server.output


def test_serve_stops_everything_and_fails_when_the_worker_dies(serve: Callable[..., Serve]) -> None:
    server = serve("--no-scheduler")
    server.wait_for_login_page()
    children = server.children()
    assert set(children) == {"web", "worker"}, children

    subprocess.run(["kill", "-9", str(children["worker"])], check=True)

    assert server.process.wait(timeout=15) == 1, server.output
    assert not is_running(children["web"])
    assert "后台任务进程（worker） 意外退出" in server.output


def test_serve_refuses_to_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(HUIFANG), "serve", "--port", str(free_port())],
        env=huifang_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "huifang migrate" in done.stderr
