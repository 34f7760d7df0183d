"""Held callbacks an agent walked away from (进行中 for too long) go back to the queue.

`release_stale_holds` is set-based: one locking read of the stale holds (with the state each was taken from),
one INSERT of their history rows, two UPDATEs (back to assigned, back to the pool). Who is still on a call is
not known here (calls is above callbacks): the caller passes the agents to spare (calls.jobs)."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory

STALE_REASON = "坐席长时间未处理，自动放回"


def stale_holds(*, older_than_minutes: int, now: dt.datetime | None = None) -> QuerySet[Callback]:
    """The callbacks in progress whose hold began more than `older_than_minutes` before `now`."""
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=older_than_minutes)
    return Callback.objects.filter(state=State.IN_PROGRESS, held_at__lt=cutoff)


def release_stale_holds(*, older_than_minutes: int, now: dt.datetime | None = None,
                        agents: Iterable[int] | QuerySet | None = None,
                        spare_agents: Iterable[int] | QuerySet | None = None) -> int:
    """Hand back every callback held longer than `older_than_minutes` (only those of `agents` when given, never
    those of `spare_agents`): each returns to the state it was taken from (the from_state of its last history
    row into in_progress): assigned keeps its agent, new (the pool) clears it; held_at is cleared. Rows another
    transaction holds locked right now are skipped (someone is working on them). Answers how many went back.
    Side effects: the callbacks and one history row each ("坐席长时间未处理，自动放回", by the system)."""
    now = now or timezone.now()
    stale = stale_holds(older_than_minutes=older_than_minutes, now=now)
    if agents is not None:
        stale = stale.filter(agent__in=agents)
    if spare_agents is not None:
        stale = stale.exclude(agent__in=spare_agents)
    taken_from = Subquery(CallbackHistory.objects.filter(callback=OuterRef("pk"), to_state=State.IN_PROGRESS)
                          .order_by("-at", "-id").values("from_state")[:1])
    with transaction.atomic():
        rows = list(stale.select_for_update(skip_locked=True, of=("self",)).annotate(taken_from=taken_from)
                    .order_by("pk").values_list("pk", "agent_id", "taken_from"))
        if not rows:
            return 0
        to_assigned = [pk for pk, _, back in rows if back == State.ASSIGNED]
        to_new = [pk for pk, _, back in rows if back != State.ASSIGNED]
        CallbackHistory.objects.bulk_create([
            CallbackHistory(callback_id=pk, at=now, by=None, from_state=State.IN_PROGRESS,
                            to_state=State.ASSIGNED if back == State.ASSIGNED else State.NEW,
                            reason=STALE_REASON, agent_id=agent_id if back == State.ASSIGNED else None)
            for pk, agent_id, back in rows])
        if to_assigned:
            Callback.objects.filter(pk__in=to_assigned).update(state=State.ASSIGNED, held_at=None, updated_at=now)
        if to_new:
            Callback.objects.filter(pk__in=to_new).update(state=State.NEW, agent=None, held_at=None, updated_at=now)
    return len(rows)
