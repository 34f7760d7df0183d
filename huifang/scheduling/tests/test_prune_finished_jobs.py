"""The built-in job that keeps the background-job table small, and the schedule that ships it."""

import datetime as dt
from typing import Any

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from huifang.scheduling.jobs import prune_finished_jobs
from huifang.scheduling.models import ScheduledJob, resolve_task
from huifang.scheduling.services import prune_finished_task_results

NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def result(*, status: str, finished_days_ago: float | None) -> DBTaskResult:
    row = DBTaskResult.objects.get(pk=prune_finished_jobs.enqueue().id)
    row.status = status
    row.finished_at = None if finished_days_ago is None else NOW - dt.timedelta(days=finished_days_ago)
    row.save()
    return row


def test_it_deletes_successful_and_failed_results_older_than_the_limit(db: Any) -> None:
    old_success = result(status=TaskResultStatus.SUCCESSFUL, finished_days_ago=31)
    old_failure = result(status=TaskResultStatus.FAILED, finished_days_ago=45)
    recent = result(status=TaskResultStatus.SUCCESSFUL, finished_days_ago=29)
    assert prune_finished_task_results(older_than_days=30, now=NOW) == 2
    remaining = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert recent.pk in remaining
    assert not remaining & {old_success.pk, old_failure.pk}


def test_it_never_deletes_waiting_or_running_jobs(db: Any) -> None:
    waiting = result(status=TaskResultStatus.READY, finished_days_ago=None)
    running = result(status=TaskResultStatus.RUNNING, finished_days_ago=None)
    long_ago = NOW - dt.timedelta(days=400)
    DBTaskResult.objects.filter(pk__in=[waiting.pk, running.pk]).update(enqueued_at=long_ago)
    assert prune_finished_task_results(older_than_days=0, now=NOW) == 0
    assert DBTaskResult.objects.count() == 2


def test_a_negative_age_is_refused(db: Any) -> None:
    with pytest.raises(ValueError):
        prune_finished_task_results(older_than_days=-1)


def test_the_job_prunes_and_returns_the_count(db: Any) -> None:
    result(status=TaskResultStatus.SUCCESSFUL, finished_days_ago=3)
    DBTaskResult.objects.update(finished_at=timezone.now() - dt.timedelta(days=3))
    assert prune_finished_jobs.call(older_than_days=2) == 1
    assert DBTaskResult.objects.count() == 0


def test_prune_finished_jobs_ships_as_a_nightly_schedule(db: Any) -> None:
    schedule = ScheduledJob.objects.get(name="prune-finished-jobs")
    assert (schedule.time_of_day, schedule.day_kind) == (dt.time(2, 0), "every_day")
    assert schedule.is_enabled
    assert resolve_task(schedule.task_path) == prune_finished_jobs
    assert schedule.kwargs == {"older_than_days": 30}
    schedule.full_clean()
