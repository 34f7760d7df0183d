"""Daily check that this year and the next are in the holiday table (the banner tells administrators too)."""

import datetime

from django.db import migrations

SCHEDULE = {
    "name": "calendar-coverage",
    "description": "检查今明两年的节假日是否已录入日历表",
    "task_path": "huifang.calendars.jobs.check_calendar_coverage",
    "kwargs": {},
    "time_of_day": datetime.time(8, 0),
    "day_kind": "every_day",
}


def add_schedule(apps, schema_editor):
    ScheduledJob = apps.get_model("scheduling", "ScheduledJob")
    ScheduledJob.objects.get_or_create(name=SCHEDULE["name"], defaults=SCHEDULE)


def remove_schedule(apps, schema_editor):
    apps.get_model("scheduling", "ScheduledJob").objects.filter(name=SCHEDULE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_create_builtin_schedules")]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
