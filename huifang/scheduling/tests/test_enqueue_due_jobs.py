"""One scheduler tick against the database: what gets claimed and enqueued, what is skipped, and why."""

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from huifang.scheduling import services
from huifang.scheduling.models import ScheduledJob
from huifang.scheduling.services import claim_job_run, enqueue_due_jobs

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 24 November 2026, 09:30 in Shanghai (01:30 UTC).
TUESDAY_MORNING = dt.datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI)
TUESDAY = TUESDAY_MORNING.date()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """Run a block's on-commit callbacks (the test transaction itself never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_due_job_is_enqueued_with_its_kwargs(make_job: Callable[..., ScheduledJob], on_commit: Any) -> None:
    job = make_job(name="prune", kwargs={"older_than_days": 9})
    with on_commit():
        report = enqueue_due_jobs(now=TUESDAY_MORNING)
    assert report.enqueued == ["prune"]
    result = DBTaskResult.objects.get()
    assert result.task_path == "huifang.scheduling.jobs.prune_finished_jobs"
    assert result.args_kwargs == {"args": [], "kwargs": {"older_than_days": 9}}
    job.refresh_from_db()
    assert job.last_run_on == TUESDAY
    assert job.last_enqueued_at == TUESDAY_MORNING
    assert job.last_result_id == str(result.id)


def test_the_task_is_enqueued_only_when_the_claim_commits(
    make_job: Callable[..., ScheduledJob], django_capture_on_commit_callbacks: Any
) -> None:
    make_job()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_due_jobs(now=TUESDAY_MORNING)
        assert DBTaskResult.objects.count() == 0
    assert len(callbacks) == 1


def test_a_second_tick_the_same_day_enqueues_nothing(
    make_job: Callable[..., ScheduledJob], on_commit: Any
) -> None:
    make_job()
    with on_commit():
        enqueue_due_jobs(now=TUESDAY_MORNING)
    with on_commit():
        report = enqueue_due_jobs(now=TUESDAY_MORNING + dt.timedelta(hours=10))
    assert report.enqueued == []
    assert DBTaskResult.objects.count() == 1


def test_the_job_is_enqueued_again_the_next_day(
    make_job: Callable[..., ScheduledJob], on_commit: Any
) -> None:
    job = make_job()
    with on_commit():
        enqueue_due_jobs(now=TUESDAY_MORNING)
        enqueue_due_jobs(now=TUESDAY_MORNING + dt.timedelta(days=1))
    job.refresh_from_db()
    assert job.last_run_on == TUESDAY + dt.timedelta(days=1)
    assert DBTaskResult.objects.count() == 2


def test_the_time_of_day_is_shanghai_time(make_job: Callable[..., ScheduledJob], on_commit: Any) -> None:
    job = make_job(time_of_day=dt.time(7, 0))
    # 23:30 UTC on Monday is 07:30 on Tuesday in Shanghai: due, and counted as Tuesday's run.
    with on_commit():
        report = enqueue_due_jobs(now=dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC))
    assert report.enqueued == [job.name]
    job.refresh_from_db()
    assert job.last_run_on == TUESDAY


def test_a_job_is_not_enqueued_before_its_time(make_job: Callable[..., ScheduledJob], on_commit: Any) -> None:
    make_job(time_of_day=dt.time(9, 31))
    with on_commit():
        report = enqueue_due_jobs(now=TUESDAY_MORNING)
    assert report.enqueued == []
    assert DBTaskResult.objects.count() == 0


def test_a_disabled_job_is_not_enqueued(make_job: Callable[..., ScheduledJob], on_commit: Any) -> None:
    make_job(is_enabled=False)
    with on_commit():
        enqueue_due_jobs(now=TUESDAY_MORNING)
    assert DBTaskResult.objects.count() == 0


def test_a_trading_day_job_waits_on_a_day_the_exchange_is_closed(
    make_job: Callable[..., ScheduledJob], calendar_says: Callable[..., None], on_commit: Any
) -> None:
    job = make_job(day_kind="trading_day")
    calendar_says(working=True, trading=False)
    with on_commit():
        report = enqueue_due_jobs(now=TUESDAY_MORNING)
    assert report.enqueued == []
    job.refresh_from_db()
    # Not claimed: nothing to record for a day that simply does not fit.
    assert job.last_run_on is None
    assert job.last_error == ""


def test_a_working_day_job_runs_on_a_working_day(
    make_job: Callable[..., ScheduledJob], calendar_says: Callable[..., None], on_commit: Any
) -> None:
    make_job(day_kind="working_day")
    calendar_says(working=True, trading=False)
    with on_commit():
        report = enqueue_due_jobs(now=TUESDAY_MORNING)
    assert len(report.enqueued) == 1
    assert DBTaskResult.objects.count() == 1


def test_an_uncovered_year_skips_the_run_with_an_error_and_never_guesses(
    make_job: Callable[..., ScheduledJob],
    calendar_says: Callable[..., None],
    on_commit: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = make_job(day_kind="trading_day")
    every_day = make_job(day_kind="every_day")
    calendar_says(working=None, trading=None)
    with caplog.at_level(logging.ERROR, logger="huifang.scheduling"), on_commit():
        report = enqueue_due_jobs(now=TUESDAY_MORNING)
        # The skipped run is claimed, so later ticks that day neither run it nor log it again.
        again = enqueue_due_jobs(now=TUESDAY_MORNING + dt.timedelta(minutes=1))
    assert report.skipped == [job.name]
    assert report.enqueued == [every_day.name]
    assert again.skipped == [] and again.enqueued == []
    assert DBTaskResult.objects.count() == 1
    job.refresh_from_db()
    assert job.last_run_on == TUESDAY
    assert "2026" in job.last_error
    assert [record.levelname for record in caplog.records if job.name in record.getMessage()] == ["ERROR"]


def test_the_real_calendar_keeps_working_day_jobs_off_national_day(
    make_job: Callable[..., ScheduledJob], fresh_calendar: None, on_commit: Any
) -> None:
    make_job(day_kind="working_day")
    national_day = dt.datetime(2026, 10, 1, 9, 30, tzinfo=SHANGHAI)
    with on_commit():
        assert enqueue_due_jobs(now=national_day).enqueued == []
        assert len(enqueue_due_jobs(now=national_day + dt.timedelta(days=8)).enqueued) == 1


def test_the_real_calendar_reports_a_year_it_does_not_cover(
    make_job: Callable[..., ScheduledJob], fresh_calendar: None, on_commit: Any
) -> None:
    job = make_job(day_kind="trading_day")
    with on_commit():
        report = enqueue_due_jobs(now=dt.datetime(2099, 1, 5, 9, 30, tzinfo=SHANGHAI))
    assert report.skipped == [job.name]
    assert DBTaskResult.objects.count() == 0


def test_two_schedulers_that_read_the_same_due_row_enqueue_it_once(
    make_job: Callable[..., ScheduledJob], on_commit: Any
) -> None:
    job = make_job()
    # Both schedulers read the row before either claims it: the second claim must find it taken.
    first_read = ScheduledJob.objects.get(pk=job.pk)
    second_read = ScheduledJob.objects.get(pk=job.pk)
    with on_commit():
        won = [
            claim_job_run(job=first_read, today=TUESDAY, now=TUESDAY_MORNING),
            claim_job_run(job=second_read, today=TUESDAY, now=TUESDAY_MORNING),
        ]
    assert won == [True, False]
    assert DBTaskResult.objects.count() == 1


def test_a_claim_after_yesterdays_run_uses_the_date_read(make_job: Callable[..., ScheduledJob]) -> None:
    monday = TUESDAY - dt.timedelta(days=1)
    job = make_job(last_run_on=monday)
    stale = ScheduledJob.objects.get(pk=job.pk)
    ScheduledJob.objects.filter(pk=job.pk).update(last_run_on=TUESDAY)
    assert claim_job_run(job=stale, today=TUESDAY, now=TUESDAY_MORNING) is False


def test_a_job_whose_task_is_gone_records_the_error_and_enqueues_nothing(
    make_job: Callable[..., ScheduledJob], on_commit: Any
) -> None:
    job = make_job(task_path="huifang.scheduling.jobs.no_such_job")
    with on_commit():
        enqueue_due_jobs(now=TUESDAY_MORNING)
    job.refresh_from_db()
    assert "no_such_job" in job.last_error
    assert job.last_run_on == TUESDAY
    assert DBTaskResult.objects.count() == 0


def test_a_path_that_is_not_a_task_is_refused(make_job: Callable[..., ScheduledJob], on_commit: Any) -> None:
    job = make_job(task_path="huifang.scheduling.services.enqueue_due_jobs")
    with on_commit():
        enqueue_due_jobs(now=TUESDAY_MORNING)
    job.refresh_from_db()
    assert "is not a task" in job.last_error
    assert DBTaskResult.objects.count() == 0


def test_a_successful_claim_clears_the_last_error(
    make_job: Callable[..., ScheduledJob], on_commit: Any
) -> None:
    job = make_job(last_error="提交失败：旧错误", last_run_on=TUESDAY - dt.timedelta(days=1))
    with on_commit():
        enqueue_due_jobs(now=TUESDAY_MORNING)
    job.refresh_from_db()
    assert job.last_error == ""


def test_the_scheduler_command_once_enqueues_and_says_so(
    make_job: Callable[..., ScheduledJob], on_commit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    make_job(name="nightly", time_of_day=dt.time(0, 0))
    with on_commit():
        call_command("scheduler", "--once")
    assert "已提交定时任务 nightly" in capsys.readouterr().out
    assert DBTaskResult.objects.count() == 1


def test_a_failing_tick_is_logged_and_does_not_stop_the_scheduler(
    db: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("huifang.scheduling.management.commands.scheduler.enqueue_due_jobs", broken)
    call_command("scheduler", "--once")
    assert "database went away" in caplog.text


def test_record_job_error_keeps_the_run_date(make_job: Callable[..., ScheduledJob]) -> None:
    job = make_job(last_run_on=TUESDAY)
    services.record_job_error(job_id=job.pk, message="x" * 5000)
    job.refresh_from_db()
    assert job.last_run_on == TUESDAY
    assert len(job.last_error) == 2000
