"""The scheduled delivery of reports by mail: every day at 07:00 (working day or not), each subscription whose
last complete period has not been mailed yet is sent (reports/jobs.py)."""

import datetime

from django.db import migrations

SCHEDULE = {
    "name": "report-delivery",
    "description": "按订阅邮件发送回访报表（日报发前一日，周报发上周，月报发上月）",
    "task_path": "huifang.reports.jobs.deliver_reports",
    "kwargs": {},
    "time_of_day": datetime.time(7, 0),
    "day_kind": "every_day",
}


def add_schedule(apps, schema_editor):
    ScheduledJob = apps.get_model("scheduling", "ScheduledJob")
    # keep an administrator's changes if the row is already there
    ScheduledJob.objects.get_or_create(name=SCHEDULE["name"], defaults=SCHEDULE)


def remove_schedule(apps, schema_editor):
    apps.get_model("scheduling", "ScheduledJob").objects.filter(name=SCHEDULE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("scheduling", "0003_add_calendar_coverage_schedule"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
