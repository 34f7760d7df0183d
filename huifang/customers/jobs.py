"""Background jobs of the customers app: each takes plain values, calls a service, returns JSON."""

import logging

from django.conf import settings
from django.db import transaction
from django.tasks import task

from huifang.customers.choices import ImportStatus
from huifang.customers.imports import runs
from huifang.scheduling.models import resolve_task

logger = logging.getLogger(__name__)


@task
def run_import(run_id: int) -> str:
    """Import the file of ImportRun `run_id` (queued by imports.runs.start_import); returns the run's status.
    A finished import enqueues the jobs of settings.HUIFANG_AFTER_IMPORT_TASKS (the trigger rules)."""
    status = runs.execute_import_run(run_id=run_id)
    if status == ImportStatus.DONE:
        transaction.on_commit(enqueue_after_import_tasks)
    return status


def enqueue_after_import_tasks() -> None:
    for task_path, kwargs in getattr(settings, "HUIFANG_AFTER_IMPORT_TASKS", []):
        try:
            resolve_task(task_path).enqueue(**kwargs)
        except Exception:  # the import is done: a job that cannot be enqueued must not fail it
            logger.exception("导入完成后的任务 %s 提交失败", task_path)
