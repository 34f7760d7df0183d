import pytest
from django.tasks import Task
from django.utils.module_loading import import_string

from huifang.scheduling.models import ScheduledJob


@pytest.mark.django_db
def test_every_shipped_schedule_names_a_real_task() -> None:
    names = set()
    for job in ScheduledJob.objects.all():
        assert isinstance(import_string(job.task_path), Task), job.name
        names.add(job.name)
    assert {"prune-finished-jobs", "calendar-coverage"} <= names
