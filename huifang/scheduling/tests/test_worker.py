"""`huifang worker` as a real process: it runs an enqueued job end to end and records the result."""

from pathlib import Path

from django_tasks_db.models import DBTaskResult

from huifang.scheduling.tests.support import query, run_django_code, run_huifang

ENQUEUE_PRUNE_AND_AN_OLD_RESULT = """
import datetime as dt
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from huifang.scheduling.jobs import prune_finished_jobs

old = prune_finished_jobs.enqueue()
ten_days_ago = timezone.now() - dt.timedelta(days=10)
DBTaskResult.objects.filter(pk=old.id).update(status="SUCCESSFUL", finished_at=ten_days_ago)
print(old.id, prune_finished_jobs.enqueue(older_than_days=5).id)
"""

RESULTS = DBTaskResult._meta.db_table


def test_worker_runs_an_enqueued_job_and_records_it_successful(var_dir: Path) -> None:
    old_id, job_id = run_django_code(var_dir, ENQUEUE_PRUNE_AND_AN_OLD_RESULT).split()

    done = run_huifang(var_dir, "worker", "--batch", "--worker-id", "test-worker", timeout=60)

    rows = query(var_dir, f"SELECT id, status, return_value, worker_ids FROM {RESULTS}")
    # SQLite stores the UUID without dashes; compare on the hex digits.
    by_id = {str(row[0]).replace("-", ""): row[1:] for row in rows}
    assert by_id == {job_id.replace("-", ""): ("SUCCESSFUL", "1", '["test-worker"]')}, done.stderr
    assert old_id.replace("-", "") not in by_id
    assert "后台任务进程已停止" in done.stderr
