"""The schedules' administration page: an administrator moves a job's time and switches it off.

Users come from the shared cast (huifang/conftest.py); they are typed as Django's AbstractUser so that this app
imports nothing from huifang.org, which sits above it."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractUser as User
from django.test import Client

from huifang.audit.models import AuditEntry
from huifang.scheduling.models import ScheduledJob

URL = "/manage/scheduling/scheduledjob/"


def change_form(job: ScheduledJob, **changes: Any) -> dict[str, Any]:
    data = {
        "description": job.description,
        "kwargs": '{"older_than_days": 30}',
        # A field with a callable default posts its initial value too (the browser sends this hidden input).
        "initial-kwargs": '{"older_than_days": 30}',
        "time_of_day": job.time_of_day.strftime("%H:%M:%S"),
        "day_kind": job.day_kind,
        "is_enabled": "on" if job.is_enabled else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_administrator_changes_the_time_and_disables_a_job(
    login: Callable[[User], Client], admin_user: User
) -> None:
    job = ScheduledJob.objects.get(name="prune-finished-jobs")
    client = login(admin_user)
    response = client.post(f"{URL}{job.pk}/change/", change_form(job, time_of_day="03:30:00", is_enabled=""))
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert (job.time_of_day, job.is_enabled) == (dt.time(3, 30), False)
    entry = AuditEntry.objects.get(object_type="scheduling.scheduledjob", object_id=str(job.pk))
    assert entry.actor == admin_user
    assert set(entry.changes) == {"time_of_day", "is_enabled"}


def test_the_list_shows_the_shipped_schedule_in_chinese(
    login: Callable[[User], Client], admin_user: User
) -> None:
    response = login(admin_user).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "prune-finished-jobs" in body
    assert "定时任务" in body


def test_schedules_can_be_neither_added_nor_deleted_on_the_page(
    login: Callable[[User], Client], admin_user: User
) -> None:
    client = login(admin_user)
    job = ScheduledJob.objects.get(name="prune-finished-jobs")
    assert client.get(f"{URL}add/").status_code == 403
    assert client.post(f"{URL}{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ScheduledJob.objects.filter(pk=job.pk).exists()


def test_an_agent_cannot_open_the_schedules(login: Callable[[User], Client], agent_a: User) -> None:
    response = login(agent_a).get(URL)
    assert response.status_code == 302
    assert "/manage/login/" in response["Location"]
