"""Background jobs of the scheduling app: each takes plain values, calls a service, returns JSON."""

from django.tasks import task

from huifang.scheduling import services


@task
def prune_finished_jobs(older_than_days: int = 14) -> int:
    """Delete finished background-job results older than `older_than_days` days; returns how many."""
    return services.prune_finished_task_results(older_than_days=older_than_days)
