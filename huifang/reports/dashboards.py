"""The dashboards' figures (看板): the supervisor's board of today — for HQ every branch, for a branch its own — and
the agent's own day. Read-only, scoped by `visible_to`; counts are made in the database, the day's calls and
successes come from the roll-ups (calls.rollups), which are counted as outcomes are registered.

- Today's plan (今日计划): callbacks due today or earlier that were still open at the start of the day (open now,
  or closed today), plus the callbacks done today that were due later; done (已完成): the callbacks done today.
- At risk (临期): open callbacks due today or by the next working day. Overdue (已逾期): open, due before today.
- An agent is on a call while a call of theirs dialed today has not ended, holding while a callback is in
  progress in their hands, idle otherwise."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from huifang.calendars.queries import CalendarNotCovered, add_working_days
from huifang.callbacks.choices import OPEN_STATES, State
from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.choices import STATE_TEXT, CallState
from huifang.calls.models import Call
from huifang.org.choices import Role
from huifang.org.models import Branch, User

#: how many callbacks the at-risk and overdue lists show
LIST_LIMIT = 10
AGENT_STATE_TEXT = {"on_call": "通话中", "holding": "处理任务中", "idle": "空闲"}


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return start, start + dt.timedelta(days=1)


@dataclass
class AgentRow:
    agent: User
    state: str
    calls: int = 0
    successes: int = 0
    holding: int = 0

    @property
    def label(self) -> str:
        name = self.agent.name or self.agent.username
        return f"{name}（{self.agent.agent_no}）" if self.agent.agent_no else name

    @property
    def state_text(self) -> str:
        return AGENT_STATE_TEXT[self.state]


@dataclass
class Board:
    today: dt.date
    #: the branch, or None for every branch the user sees
    branch: Branch | None
    plan: int = 0
    done: int = 0
    at_risk: int = 0
    overdue: int = 0
    calls: int = 0
    successes: int = 0
    at_risk_rows: list[Callback] = field(default_factory=list)
    overdue_rows: list[Callback] = field(default_factory=list)
    agents: list[AgentRow] = field(default_factory=list)
    #: the last day counted as at risk (the next working day), None when the calendar does not cover it
    risk_until: dt.date | None = None
    warning: str = ""

    @property
    def progress(self) -> int:
        """Done as a whole percentage of the plan (0–100)."""
        return min(100, round(100 * self.done / self.plan)) if self.plan else 0

    @property
    def title(self) -> str:
        return f"{self.branch.name}看板" if self.branch else "总部看板"

    def state_count(self, state: str) -> int:
        return sum(1 for row in self.agents if row.state == state)

    @property
    def on_call(self) -> int:
        return self.state_count("on_call")

    @property
    def holding(self) -> int:
        return self.state_count("holding")

    @property
    def idle(self) -> int:
        return self.state_count("idle")


def _callbacks(user: Any, branch_id: int | None) -> QuerySet[Callback]:
    rows = Callback.objects.visible_to(user)
    return rows.filter(branch_id=branch_id) if branch_id is not None else rows


def plan_counts(user: Any, today: dt.date, branch_id: int | None = None) -> tuple[int, int]:
    """(plan, done) of `today`, as the module's doc defines them."""
    start, end = _day_bounds(today)
    rows = _callbacks(user, branch_id)
    open_at_start = Q(state__in=OPEN_STATES) | Q(closed_at__gte=start)
    done_today = Q(state=State.DONE, closed_at__gte=start, closed_at__lt=end)
    counts = rows.aggregate(
        carried=Count("id", filter=Q(due_date__lte=today) & open_at_start & ~Q(state=State.CANCELLED)),
        early=Count("id", filter=done_today & Q(due_date__gt=today)),
        done=Count("id", filter=done_today),
    )
    return counts["carried"] + counts["early"], counts["done"]


def _agents(user: Any, branch_id: int | None) -> QuerySet[User]:
    agents = User.objects.visible_to(user).filter(groups__name=Role.AGENT, is_active=True)
    if branch_id is not None:
        agents = agents.filter(branch_id=branch_id)
    return agents.select_related("branch").distinct().order_by("agent_no", "username")


def agent_rows(user: Any, today: dt.date, branch_id: int | None = None) -> list[AgentRow]:
    agents = list(_agents(user, branch_id))
    ids = [agent.pk for agent in agents]
    start, _end = _day_bounds(today)
    on_call = set(Call.objects.visible_to(user).filter(agent_id__in=ids, dialed_at__gte=start)
                  .exclude(state=CallState.ENDED).values_list("agent_id", flat=True))
    holding = {row["agent_id"]: row["n"] for row in Callback.objects.visible_to(user).filter(
        agent_id__in=ids, state=State.IN_PROGRESS).values("agent_id").annotate(n=Count("id")).order_by()}
    span: dict[str, Any] = {"start": today, "end": today, "user": user, "branch_id": branch_id, "by": ["agent"]}
    calls = {row["agent_id"]: row["calls"] for row in rollups.call_totals(**span)}
    successes = {row["agent_id"]: row["successes"] for row in rollups.outcome_totals(**span)}
    rows = []
    for agent in agents:
        state = "on_call" if agent.pk in on_call else "holding" if holding.get(agent.pk) else "idle"
        rows.append(AgentRow(agent, state, calls=calls.get(agent.pk, 0), successes=successes.get(agent.pk, 0),
                             holding=holding.get(agent.pk, 0)))
    return rows


def supervisor_board(user: Any, branch_id: int | None = None, today: dt.date | None = None) -> Board:
    """Today's board over what `user` sees, limited to `branch_id` if given (the caller checks access)."""
    today = today or timezone.localdate()
    branch = Branch.objects.get(pk=branch_id) if branch_id is not None else None
    board = Board(today=today, branch=branch)
    board.plan, board.done = plan_counts(user, today, branch_id)
    rows = _callbacks(user, branch_id).filter(state__in=OPEN_STATES)
    try:
        board.risk_until = add_working_days(today, 1)
    except CalendarNotCovered as error:
        board.warning = f"临期只计今天到期的任务：{error}"
    risky = rows.filter(due_date__gte=today, due_date__lte=board.risk_until or today)
    late = rows.filter(due_date__lt=today)
    board.at_risk, board.overdue = risky.count(), late.count()
    related = ("customer", "callback_type", "agent", "branch")
    board.at_risk_rows = list(risky.select_related(*related).order_by("due_date", "-priority", "id")[:LIST_LIMIT])
    board.overdue_rows = list(late.select_related(*related).order_by("due_date", "-priority", "id")[:LIST_LIMIT])
    board.agents = agent_rows(user, today, branch_id)
    span: dict[str, Any] = {"start": today, "end": today, "user": user, "branch_id": branch_id}
    [calls] = rollups.call_totals(**span)
    [outcomes] = rollups.outcome_totals(**span)
    board.calls, board.successes = calls["calls"], outcomes["successes"]
    return board


# --- the agent's own day ------------------------------------------------------------------------------------------

@dataclass
class CallRow:
    call: Call

    @property
    def state_text(self) -> str:
        return STATE_TEXT.get(self.call.state, self.call.state)


@dataclass
class AgentDay:
    agent: User
    today: dt.date
    calls: int = 0
    connected: int = 0
    successes: int = 0
    target: int = 0
    on_call: Call | None = None
    recent_calls: list[CallRow] = field(default_factory=list)
    open_callbacks: list[Callback] = field(default_factory=list)
    open_count: int = 0
    held: list[Callback] = field(default_factory=list)
    appointments: list[Callback] = field(default_factory=list)

    @property
    def progress(self) -> int:
        return min(100, round(100 * self.successes / self.target)) if self.target else 0

    @property
    def state_text(self) -> str:
        if self.on_call is not None:
            return AGENT_STATE_TEXT["on_call"]
        return AGENT_STATE_TEXT["holding"] if self.held else AGENT_STATE_TEXT["idle"]


def agent_day(user: User, today: dt.date | None = None) -> AgentDay:
    """The day of `user` as an agent: only their own calls and callbacks."""
    today = today or timezone.localdate()
    start, end = _day_bounds(today)
    day = AgentDay(agent=user, today=today, target=settings.HUIFANG_DAILY_SUCCESS_TARGET)
    span: dict[str, Any] = {"start": today, "end": today, "user": user, "agent_id": user.pk}
    [calls] = rollups.call_totals(**span)
    [outcomes] = rollups.outcome_totals(**span)
    day.calls, day.successes, day.connected = calls["calls"], outcomes["successes"], outcomes["connected"]
    my_calls = Call.objects.visible_to(user).filter(agent=user, dialed_at__gte=start, dialed_at__lt=end)
    day.on_call = my_calls.exclude(state=CallState.ENDED).order_by("-dialed_at").first()
    latest = my_calls.select_related("customer").order_by("-dialed_at")[:LIST_LIMIT]
    day.recent_calls = [CallRow(call) for call in latest]
    mine = Callback.objects.visible_to(user).filter(agent=user).select_related("customer", "callback_type")
    waiting = mine.filter(state__in=(State.NEW, State.ASSIGNED))
    day.open_count = waiting.count()
    day.open_callbacks = list(waiting.order_by("due_date", "-priority", "id")[:LIST_LIMIT])
    day.held = list(mine.filter(state=State.IN_PROGRESS).order_by("held_at", "id"))
    day.appointments = list(
        Callback.objects.visible_to(user).filter(state__in=OPEN_STATES, appointment_at__gte=start,
                                                 appointment_at__lt=end)
        .filter(Q(appointment_agent=user) | Q(appointment_agent__isnull=True, agent=user))
        .select_related("customer", "callback_type").order_by("appointment_at", "id"))
    return day
