"""Release stale holds (callbacks an agent took and left) every night; the workbench does it for its agent too."""

import datetime

from django.db import migrations

SCHEDULE = {
    "name": "release-stale-holds",
    "description": "将坐席长时间未处理（且无通话）的回访任务自动放回",
    "task_path": "huifang.calls.jobs.release_stale_holds",
    "kwargs": {},
    "time_of_day": datetime.time(0, 15),
    "day_kind": "every_day",
}


def add_schedule(apps, schema_editor):
    apps.get_model("scheduling", "ScheduledJob").objects.get_or_create(name=SCHEDULE["name"], defaults=SCHEDULE)


def remove_schedule(apps, schema_editor):
    apps.get_model("scheduling", "ScheduledJob").objects.filter(name=SCHEDULE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0002_add_outcome_codes"),
        ("scheduling", "0003_add_calendar_coverage_schedule"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
