"""The schedules that ship with huifang. Later releases add theirs in migrations of their own."""

import datetime

from django.db import migrations

BUILTIN_SCHEDULES = [
    {
        "name": "prune-finished-jobs",
        "description": "清理 30 天前已结束的后台任务记录",
        "task_path": "huifang.scheduling.jobs.prune_finished_jobs",
        "kwargs": {"older_than_days": 30},
        "time_of_day": datetime.time(2, 0),
        "day_kind": "every_day",
    },
]


def create_builtin_schedules(apps, schema_editor):
    ScheduledJob = apps.get_model("scheduling", "ScheduledJob")
    for schedule in BUILTIN_SCHEDULES:
        # Keep an administrator's changes if the row is already there.
        ScheduledJob.objects.get_or_create(name=schedule["name"], defaults=schedule)


def delete_builtin_schedules(apps, schema_editor):
    ScheduledJob = apps.get_model("scheduling", "ScheduledJob")
    ScheduledJob.objects.filter(name__in=[schedule["name"] for schedule in BUILTIN_SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(create_builtin_schedules, delete_builtin_schedules)]
