"""Held callbacks an agent walked away from go back: the service (callbacks.holds), the job that spares agents
with a call up (calls.jobs), its schedule, and the workbench releasing its agent's own stale holds on opening."""

import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.holds import STALE_REASON, release_stale_holds
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.services import change_state, create_callback
from huifang.calls import jobs
from huifang.calls.models import Call
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.models import User
from huifang.scheduling.models import ScheduledJob, resolve_task


def held_since(callback: Callback, minutes_ago: int) -> Callback:
    Callback.objects.filter(pk=callback.pk).update(held_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    callback.refresh_from_db()
    return callback


def from_the_pool(customer: Customer, agent: User, code: str = "satisfaction") -> Callback:
    """A callback taken from the pool (new -> in_progress)."""
    callback = create_callback(customer=customer, callback_type=CallbackType.objects.get(code=code), origin="api",
                               due=dt.date(2026, 12, 31), period=f"pool-{code}", today=dt.date(2026, 1, 5))
    assert callback.state == State.NEW
    return change_state(callback=callback, to=State.IN_PROGRESS, by=agent, agent=agent)


def test_stale_holds_go_back_where_they_came_from(agent_a: User, customer_a: Customer,
                                                  hold: Callable[..., Callback]) -> None:
    assigned = held_since(hold(customer_a), 180)
    pooled = held_since(from_the_pool(customer_a, agent_a), 121)
    fresh = held_since(hold(customer_a, "large_transfer"), 30)
    assert release_stale_holds(older_than_minutes=120) == 2
    assigned.refresh_from_db()
    pooled.refresh_from_db()
    fresh.refresh_from_db()
    assert (assigned.state, assigned.agent_id, assigned.held_at) == (State.ASSIGNED, agent_a.pk, None)
    assert (pooled.state, pooled.agent_id, pooled.held_at) == (State.NEW, None, None)
    assert (fresh.state, fresh.agent_id) == (State.IN_PROGRESS, agent_a.pk)
    rows = CallbackHistory.objects.filter(reason=STALE_REASON).order_by("callback_id")
    assert [(r.callback_id, r.from_state, r.to_state, r.agent_id, r.by_id) for r in rows] == [
        (assigned.pk, State.IN_PROGRESS, State.ASSIGNED, agent_a.pk, None),
        (pooled.pk, State.IN_PROGRESS, State.NEW, None, None)]
    assert release_stale_holds(older_than_minutes=120) == 0


def test_only_the_given_agents_and_never_the_spared(agent_a: User, agent_b: User, customer_a: Customer,
                                                    hold: Callable[..., Callback]) -> None:
    mine = held_since(hold(customer_a), 200)
    theirs = held_since(hold(customer_a, "large_transfer", agent=agent_b), 200)
    assert release_stale_holds(older_than_minutes=120, agents=[agent_b.pk], spare_agents=[agent_b.pk]) == 0
    assert release_stale_holds(older_than_minutes=120, agents=[agent_b.pk]) == 1
    assert Callback.objects.get(pk=theirs.pk).state == State.ASSIGNED
    assert Callback.objects.get(pk=mine.pk).state == State.IN_PROGRESS


def _call_of(agent: User, customer: Customer, state: str) -> Call:
    return Call.objects.create(serial=f"C2026010500{Call.objects.count() + 1:04d}", agent=agent, customer=customer,
                               phone_masked="138****1111", branch=customer.branch, state=state,
                               dialed_at=timezone.now())


def test_the_job_spares_an_agent_on_a_call(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                                           settings: Any) -> None:
    settings.HELD_CALLBACK_TIMEOUT_MINUTES = 60
    callback = held_since(hold(customer_a), 90)
    _call_of(agent_a, customer_a, "answered")
    assert jobs.release_stale_holds.call() == 0
    Call.objects.update(state="ended", ended_at=timezone.now())
    assert jobs.release_stale_holds.call() == 1
    assert Callback.objects.get(pk=callback.pk).state == State.ASSIGNED


def test_the_job_is_scheduled_every_night_and_its_migration_reverses(db: Any) -> None:
    job = ScheduledJob.objects.get(name="release-stale-holds")
    assert (job.time_of_day, job.day_kind, job.kwargs) == (dt.time(0, 15), "every_day", {})
    assert resolve_task(job.task_path) is jobs.release_stale_holds
    migration = importlib.import_module("huifang.calls.migrations.0003_schedule_release_stale_holds")
    migration.remove_schedule(apps, None)
    assert not ScheduledJob.objects.filter(name="release-stale-holds").exists()
    migration.add_schedule(apps, None)
    migration.add_schedule(apps, None)
    assert ScheduledJob.objects.filter(name="release-stale-holds").count() == 1


def test_opening_the_workbench_releases_the_own_stale_holds_only(
        login: Callable[[User], Client], agent_a: User, agent_b: User, customer_a: Customer,
        hold: Callable[..., Callback]) -> None:
    mine = held_since(hold(customer_a), 200)
    theirs = held_since(hold(customer_a, "large_transfer", agent=agent_b), 200)
    page = login(agent_a).get(reverse("calls:workbench"))
    assert page.status_code == 200
    assert "自动放回" in page.content.decode()
    assert Callback.objects.get(pk=mine.pk).state == State.ASSIGNED
    assert Callback.objects.get(pk=theirs.pk).state == State.IN_PROGRESS


def test_opening_the_workbench_keeps_holds_while_a_call_is_up(login: Callable[[User], Client], agent_a: User,
                                                              customer_a: Customer,
                                                              hold: Callable[..., Callback]) -> None:
    mine = held_since(hold(customer_a), 200)
    _call_of(agent_a, customer_a, "ringing")
    assert login(agent_a).get(reverse("calls:workbench")).status_code == 200
    assert Callback.objects.get(pk=mine.pk).state == State.IN_PROGRESS
