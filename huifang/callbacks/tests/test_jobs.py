"""The callback jobs: the rule run (scheduled after the close on trading days, and after each import), expiry
after midnight; their schedules from migration 0003."""

import datetime as dt
import importlib
from typing import Any

import pytest
from django.apps import apps
from django_tasks_db.models import DBTaskResult

from huifang.callbacks.jobs import expire_due_callbacks, run_callback_rules
from huifang.callbacks.models import Callback, CallbackHistory, RuleRun
from huifang.callbacks.tests.test_api import (
    AS_OF,
    NOW,
    RUN_AS_OF,
    at_noon,
    callback_of,
    covered_calendar,
    customer_a,
    customer_b,
    transfers,
)
from huifang.customers import jobs as customer_jobs
from huifang.customers.models import Customer
from huifang.scheduling.models import ScheduledJob, resolve_task

__all__ = ["at_noon", "covered_calendar", "customer_a", "customer_b", "transfers"]


def test_the_rule_job_runs_as_of_a_date_and_twice_creates_nothing_new(transfers: None) -> None:
    answer = run_callback_rules.call(as_of=RUN_AS_OF.isoformat())
    assert (answer["as_of"], answer["created"], answer["errors"]) == ("2026-06-03", 2, [])
    assert RuleRun.objects.get().trigger == "schedule"
    assert run_callback_rules.call(as_of=RUN_AS_OF.isoformat())["created"] == 0
    assert Callback.objects.count() == 2


def test_the_rule_job_runs_as_of_today_by_default(transfers: None, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 6, 3, 15, 30, tzinfo=NOW.tzinfo), tick=False)
    answer = run_callback_rules.call()
    assert (answer["as_of"], answer["created"]) == ("2026-06-03", 2)


def test_the_rule_job_after_an_import_is_recorded_as_such(transfers: None) -> None:
    run_callback_rules.call(as_of=RUN_AS_OF.isoformat(), trigger="import")
    assert RuleRun.objects.get().trigger == "import"


def test_the_expiry_job_expires_what_is_past_its_period(customer_a: Customer, customer_b: Customer,
                                                        at_noon: None) -> None:
    old = callback_of(customer_a, due=dt.date(2026, 11, 20))
    Callback.objects.filter(pk=old.pk).update(expires_on=AS_OF - dt.timedelta(days=1))
    current = callback_of(customer_b)
    assert expire_due_callbacks.call() == 1
    assert Callback.objects.get(pk=old.pk).state == "expired"
    assert Callback.objects.get(pk=current.pk).state == "new"
    assert CallbackHistory.objects.filter(callback=old, to_state="expired").count() == 1
    assert expire_due_callbacks.call() == 0


def test_the_schedules_exist_and_name_real_tasks(db: Any) -> None:
    rules = ScheduledJob.objects.get(name="callback-rules")
    expiry = ScheduledJob.objects.get(name="callback-expiry")
    assert (rules.time_of_day, rules.day_kind, rules.kwargs) == (dt.time(15, 30), "trading_day", {})
    assert (expiry.time_of_day, expiry.day_kind) == (dt.time(0, 30), "every_day")
    assert resolve_task(rules.task_path) is run_callback_rules
    assert resolve_task(expiry.task_path) is expire_due_callbacks


def test_the_schedule_migration_is_reversible(db: Any) -> None:
    migration = importlib.import_module("huifang.callbacks.migrations.0003_schedule_callback_jobs")
    migration.remove_schedules(apps, None)
    assert not ScheduledJob.objects.filter(name__startswith="callback-").exists()
    migration.add_schedules(apps, None)
    migration.add_schedules(apps, None)
    assert ScheduledJob.objects.filter(name__startswith="callback-").count() == 2


@pytest.mark.parametrize(("status", "enqueued"), [("done", True), ("failed", False)])
def test_a_finished_import_enqueues_the_rule_run(monkeypatch: pytest.MonkeyPatch,
                                                 django_capture_on_commit_callbacks: Any, status: str,
                                                 enqueued: bool) -> None:
    monkeypatch.setattr(customer_jobs.runs, "execute_import_run", lambda run_id: status)
    with django_capture_on_commit_callbacks(execute=True):
        assert customer_jobs.run_import.call(run_id=1) == status
    results = list(DBTaskResult.objects.values_list("task_path", "args_kwargs"))
    assert results == ([("huifang.callbacks.jobs.run_callback_rules", {"args": [], "kwargs": {"trigger": "import"}})]
                       if enqueued else [])


def test_a_task_that_cannot_be_enqueued_does_not_fail_the_import(monkeypatch: pytest.MonkeyPatch, settings: Any,
                                                                 django_capture_on_commit_callbacks: Any,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    settings.HUIFANG_AFTER_IMPORT_TASKS = [("huifang.nonesuch.jobs.nothing", {})]
    monkeypatch.setattr(customer_jobs.runs, "execute_import_run", lambda run_id: "done")
    with django_capture_on_commit_callbacks(execute=True):
        assert customer_jobs.run_import.call(run_id=1) == "done"
    assert "huifang.nonesuch.jobs.nothing" in caplog.text
    assert not DBTaskResult.objects.exists()
