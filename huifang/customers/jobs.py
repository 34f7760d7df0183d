"""Background jobs of the customers app: each takes plain values, calls a service, returns JSON."""

from django.tasks import task

from huifang.customers.imports import runs


@task
def run_import(run_id: int) -> str:
    """Import the file of ImportRun `run_id` (queued by imports.runs.start_import); returns the run's status."""
    return runs.execute_import_run(run_id=run_id)
