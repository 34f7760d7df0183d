"""Several `huifang scheduler` processes at once on one database enqueue each due job exactly once."""

import subprocess
from pathlib import Path

from django_tasks_db.models import DBTaskResult

from huifang.scheduling.tests.support import HUIFANG, huifang_env, query, run_django_code

RESULTS = DBTaskResult._meta.db_table
JOBS = 12
SCHEDULERS = 4

CREATE_JOBS = f"""
import datetime as dt
from huifang.scheduling.models import ScheduledJob
ScheduledJob.objects.all().delete()
for n in range({JOBS}):
    ScheduledJob.objects.create(
        name=f"job-{{n}}", task_path="huifang.scheduling.jobs.prune_finished_jobs",
        kwargs={{"older_than_days": n}}, time_of_day=dt.time(0, 0),
    )
"""


def test_schedulers_running_at_once_never_enqueue_a_job_twice(var_dir: Path) -> None:
    run_django_code(var_dir, CREATE_JOBS)
    # Two rounds each of SCHEDULER processes started together, all of them finding every job due.
    for _ in range(2):
        schedulers = [
            subprocess.Popen(
                [str(HUIFANG), "scheduler", "--once"],
                env=huifang_env(var_dir),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(SCHEDULERS)
        ]
        outputs = [scheduler.communicate(timeout=60) for scheduler in schedulers]
        assert [scheduler.returncode for scheduler in schedulers] == [0] * SCHEDULERS, outputs

    enqueued = query(var_dir, f"SELECT args_kwargs FROM {RESULTS}")
    assert len(enqueued) == JOBS
    assert len(set(enqueued)) == JOBS
    claimed_lines = sum(out.count("已提交定时任务") for out, _ in outputs)
    assert claimed_lines == 0  # the second round found every job already handled today
