"""`huifang scheduler`: enqueue the jobs of the ScheduledJob rows when they fall due; runs until stopped."""

import logging
import signal
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from huifang.scheduling.services import enqueue_due_jobs

logger = logging.getLogger("huifang.scheduling.scheduler")


class Command(BaseCommand):
    help = "Run the scheduler: every few seconds, enqueue the scheduled jobs that are due."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=20.0, help="Seconds between two checks (default: %(default)s)."
        )
        parser.add_argument("--once", action="store_true", help="Check once, then exit.")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        if once:
            self.tick()
            return
        self.stopping = False
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        logger.info("调度器已启动，每 %s 秒检查一次到期的定时任务", f"{interval:g}")
        while not self.stopping:
            self.tick()
            next_tick_at = time.monotonic() + interval
            # Sleep in short slices so that a stop request is honoured within half a second.
            while not self.stopping and time.monotonic() < next_tick_at:
                time.sleep(min(0.5, max(0.0, next_tick_at - time.monotonic())))
        logger.info("调度器已停止")

    @staticmethod
    def drop_stale_connections() -> None:
        # Inside a transaction (a test, or a caller's) the connection is in use, not stale: leave it.
        if not connection.in_atomic_block:
            close_old_connections()

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: finish the current check, then exit with status 0."""
        logger.info("收到 %s，调度器即将停止", signal.strsignal(signum))
        self.stopping = True

    def tick(self) -> None:
        """One check. A failure (say, the database briefly unavailable) is logged; the next tick retries."""
        self.drop_stale_connections()
        try:
            report = enqueue_due_jobs()
        except Exception:
            logger.exception("调度器检查失败，将在下次检查时重试")
            return
        finally:
            self.drop_stale_connections()
        for name in report.enqueued:
            self.stdout.write(f"已提交定时任务 {name}")
        for name in report.skipped:
            self.stderr.write(f"已跳过定时任务 {name}（见该任务的最近错误）")
