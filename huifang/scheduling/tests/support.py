"""Helpers for the tests that run `huifang` commands as real processes.

Those processes always use a private SQLite database under a temporary HUIFANG_VAR_DIR (DATABASE_URL is
removed from their environment), so they never touch the database of the test run, whatever engine it uses."""

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HUIFANG = Path(sys.executable).with_name("huifang")
DATABASE_FILE = "huifang.sqlite3"


def huifang_env(var_dir: Path) -> dict[str, str]:
    dropped = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(HUIFANG_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1")
    return env


def run_huifang(var_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `huifang <args>` to completion; fails the test with its output if it exits non-zero."""
    done = subprocess.run(
        [str(HUIFANG), *args], env=huifang_env(var_dir), capture_output=True, text=True, timeout=timeout
    )
    command = " ".join(args)
    assert done.returncode == 0, f"huifang {command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def run_django_code(var_dir: Path, code: str) -> str:
    """Run Python `code` with Django set up against `var_dir`'s database; returns what it printed."""
    script = "import django\ndjango.setup()\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script], env=huifang_env(var_dir), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def copy_database(source_dir: Path, target_dir: Path) -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    for path in source_dir.glob(DATABASE_FILE + "*"):
        shutil.copy(path, target_dir / path.name)
    return target_dir


def query(var_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the private SQLite database of a `var_dir` (portable SQL only)."""
    with sqlite3.connect(var_dir / DATABASE_FILE) as connection:
        return connection.execute(sql, params).fetchall()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def child_pids(pid: int) -> list[int]:
    """Live children of process `pid`, read from /proc (Linux)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces: the fields after its closing parenthesis are fixed.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            children.append(int(entry.name))
    return children


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def is_running(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
