"""Writes of the scheduler: claiming a day's run of a schedule, enqueuing its job, recording what went wrong.

Several schedulers may run at once (two `huifang serve` by mistake, a second host): a run is claimed with a
conditional UPDATE on `last_run_on`, and only the process whose UPDATE changed the row enqueues the job."""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from huifang.scheduling import queries, rules
from huifang.scheduling.models import ScheduledJob, resolve_task

logger = logging.getLogger(__name__)

# Times of day and "today" are those of the exchanges whose calendar decides trading days.
SCHEDULE_TIME_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class TickReport:
    """What one scheduler tick did: names of the schedules enqueued and of those skipped."""

    enqueued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def enqueue_due_jobs(*, now: datetime | None = None) -> TickReport:
    """One scheduler tick at `now` (default: the current time), judged in Shanghai local time.

    Preconditions: none; safe to run from several processes at the same moment.
    Side effects: claims today's run of every due schedule and enqueues its task when the claim commits; a
    working-day or trading-day schedule whose year the calendar does not cover is claimed as skipped, with the
    reason in `last_error` and an error in the log (it does not run that day: the scheduler never guesses)."""
    now = now or timezone.now()
    local_now = timezone.localtime(now, SCHEDULE_TIME_ZONE)
    today = local_now.date()
    report = TickReport()
    facts: rules.DayFacts | None = None
    for job in queries.jobs_not_handled_on(today=today):
        # Ask the calendar at most once a tick, and only when a schedule needs it.
        if facts is None and rules.needs_calendar(job.day_kind):
            facts = queries.day_facts(today)
        verdict = rules.decide(
            enabled=job.is_enabled,
            at=job.time_of_day,
            day_kind=job.day_kind,
            last_run_on=job.last_run_on,
            local_now=local_now,
            day=facts,
        )
        if verdict == rules.Verdict.DUE:
            if claim_job_run(job=job, today=today, now=now):
                report.enqueued.append(job.name)
        elif verdict == rules.Verdict.CALENDAR_NOT_COVERED:
            reason = f"节假日日历未覆盖 {today.year} 年，{today} 的运行已跳过；请先维护该年度日历"
            if skip_job_run(job=job, today=today, reason=reason):
                logger.error("定时任务 %s 未运行：%s", job.name, reason)
                report.skipped.append(job.name)
    return report


@transaction.atomic
def claim_job_run(*, job: ScheduledJob, today: date, now: datetime) -> bool:
    """Claim `today`'s run of `job` and, once the claim commits, enqueue its task.

    Precondition: `job` was read as due for `today`; its `last_run_on` is still the value read then.
    Side effects: sets last_run_on=today and last_enqueued_at=now and clears last_error, only if no other
    process changed last_run_on since the read; then (on commit) `enqueue_job_task`. Returns whether this call
    won the claim: False means another scheduler already has today's run."""
    claimed = ScheduledJob.objects.filter(pk=job.pk, last_run_on=job.last_run_on).update(
        last_run_on=today, last_enqueued_at=now, last_error="", last_result_id=""
    )
    if claimed != 1:
        return False
    # Pass the id, not the row: the callback reads the committed row.
    transaction.on_commit(partial(enqueue_job_task, job_id=job.pk))
    return True


@transaction.atomic
def skip_job_run(*, job: ScheduledJob, today: date, reason: str) -> bool:
    """Claim `today`'s run of `job` without running it, recording `reason` as its last error.

    Precondition and claim rule as for `claim_job_run`. Side effects: last_run_on=today, last_error=reason;
    nothing is enqueued. Returns whether this call won the claim."""
    claimed = ScheduledJob.objects.filter(pk=job.pk, last_run_on=job.last_run_on).update(
        last_run_on=today, last_error=reason
    )
    return claimed == 1


def enqueue_job_task(*, job_id: int) -> str | None:
    """Enqueue the task of schedule `job_id` with its keyword arguments; called when a claim commits.

    Precondition: the run was claimed (this function does not check). Side effects: one task result in the
    task backend and its id in last_result_id; if the task cannot be found or enqueued, the error goes to
    last_error and the log instead (the claimed run is not retried that day). Returns the task result id."""
    job = ScheduledJob.objects.get(pk=job_id)
    try:
        result = resolve_task(job.task_path).enqueue(**job.kwargs)
    except Exception as error:
        logger.exception("定时任务 %s 提交失败（%s）", job.name, job.task_path)
        record_job_error(job_id=job_id, message=f"提交失败：{error}")
        return None
    ScheduledJob.objects.filter(pk=job_id).update(last_result_id=str(result.id))
    logger.info("定时任务 %s 已提交（%s），任务结果 %s", job.name, job.task_path, result.id)
    return str(result.id)


def record_job_error(*, job_id: int, message: str) -> None:
    """Store `message` as the last error of schedule `job_id`, for the administration page.
    Side effect: one UPDATE of last_error; last_run_on is left alone."""
    ScheduledJob.objects.filter(pk=job_id).update(last_error=message[:2000])


def prune_finished_task_results(*, older_than_days: int, now: datetime | None = None) -> int:
    """Delete the results of background jobs that finished (successfully or not) over `older_than_days` ago.

    Precondition: older_than_days >= 0. Side effect: deletes those rows of the django_tasks_db table; ready
    and running jobs are never touched. Returns how many rows were deleted."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be zero or more")
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted
