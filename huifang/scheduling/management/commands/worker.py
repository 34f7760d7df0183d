"""`huifang worker`: run the background jobs of the default task backend (django_tasks_db's `db_worker`)."""

import logging
import os
import socket
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

logger = logging.getLogger("huifang.scheduling.worker")


def default_worker_id() -> str:
    """Host and process id: unique across the worker pool and readable in the task results' worker_ids."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


class Command(BaseCommand):
    help = (
        "Run the background worker: take jobs from the database queue and run them, one at a time. "
        "SIGINT or SIGTERM stops it after the job in hand (a second signal aborts that job)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue-name",
            default="*",
            help="Queues to run, comma-separated; '*' for all (default: %(default)s).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait on an empty queue (default: %(default)s).",
        )
        parser.add_argument("--batch", action="store_true", help="Run the jobs waiting now, then exit.")
        parser.add_argument("--max-tasks", type=int, default=None, help="Exit after running this many jobs.")
        parser.add_argument("--worker-id", default=None, help="Unique id of this worker (default: host-pid).")

    def handle(
        self,
        *args: Any,
        queue_name: str,
        interval: float,
        batch: bool,
        max_tasks: int | None,
        worker_id: str | None,
        verbosity: int,
        **options: Any,
    ) -> None:
        if interval < 0:
            raise CommandError("--interval 不能为负数")
        if max_tasks is not None and max_tasks <= 0:
            raise CommandError("--max-tasks 必须大于 0")
        worker_id = worker_id or default_worker_id()
        logger.info("后台任务进程已启动（worker_id=%s，队列 %s）", worker_id, queue_name)
        try:
            call_command(
                "db_worker",
                queue_name=queue_name,
                interval=interval,
                batch=batch,
                max_tasks=max_tasks,
                worker_id=worker_id,
                # Never autoreload: the reloader forks a child that `huifang serve` could not stop cleanly.
                reload=False,
                # The random start-up delay only spreads a herd of workers; here it would just slow the start.
                startup_delay=False,
                verbosity=verbosity,
            )
        finally:
            logger.info("后台任务进程已停止（worker_id=%s）", worker_id)
