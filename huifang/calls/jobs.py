"""Background jobs of the calls app: each takes plain values, calls a service, returns JSON.

Scheduled by migration 0003 (release-stale-holds at 00:15 every day; the scheduler runs a job once a day, so the
workbench also releases an agent's own stale holds when it opens)."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.tasks import task

from huifang.callbacks import holds
from huifang.calls.choices import CallState
from huifang.calls.models import Call


def agents_on_a_call(agents: Any = None) -> QuerySet[Call, dict[str, Any]]:
    """The ids (a subquery) of the agents with a call not ended, among `agents` (a queryset or ids) if given."""
    calls = Call.objects.exclude(state=CallState.ENDED)
    if agents is not None:
        calls = calls.filter(agent__in=agents)
    return calls.values("agent_id")


def release_stale_holds_now(*, agents: Any = None) -> int:
    """release_stale_holds for settings.HELD_CALLBACK_TIMEOUT_MINUTES, sparing agents who have a call up."""
    minutes = int(getattr(settings, "HELD_CALLBACK_TIMEOUT_MINUTES", 120))
    holders = agents
    if holders is None:  # only the calls of agents who hold a stale callback are looked at (call_agent_dialed_idx)
        holders = holds.stale_holds(older_than_minutes=minutes).values("agent_id")
    return holds.release_stale_holds(older_than_minutes=minutes, agents=agents,
                                     spare_agents=agents_on_a_call(holders))


@task
def release_stale_holds() -> int:
    """Hand back the callbacks held longer than settings.HELD_CALLBACK_TIMEOUT_MINUTES by agents with no call
    up; returns how many went back."""
    return release_stale_holds_now()
