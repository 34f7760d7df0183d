"""The callback jobs on the scheduler: the trigger rules after the close on trading days, expiry after midnight."""

import datetime

from django.db import migrations

SCHEDULES = [
    {
        "name": "callback-rules",
        "description": "按触发规则生成回访任务（交易日收盘后）",
        "task_path": "huifang.callbacks.jobs.run_callback_rules",
        "kwargs": {},
        "time_of_day": datetime.time(15, 30),
        "day_kind": "trading_day",
    },
    {
        "name": "callback-expiry",
        "description": "将超过回访期限的未完成回访任务标记为已过期",
        "task_path": "huifang.callbacks.jobs.expire_due_callbacks",
        "kwargs": {},
        "time_of_day": datetime.time(0, 30),
        "day_kind": "every_day",
    },
]


def add_schedules(apps, schema_editor):
    ScheduledJob = apps.get_model("scheduling", "ScheduledJob")
    for schedule in SCHEDULES:
        ScheduledJob.objects.get_or_create(name=schedule["name"], defaults=schedule)


def remove_schedules(apps, schema_editor):
    apps.get_model("scheduling", "ScheduledJob").objects.filter(name__in=[s["name"] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks", "0002_initial"),
        ("scheduling", "0003_add_calendar_coverage_schedule"),
    ]
    operations = [migrations.RunPython(add_schedules, remove_schedules)]
