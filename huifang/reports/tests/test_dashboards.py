"""The dashboards (看板): on a Tuesday with callbacks in every situation in two branches, the HQ board shows the
plan, progress, at-risk, overdue and the agents' states and counts; a branch board the same for its branch only
(a branch-A user never sees branch B); the agent's own day only their own calls and callbacks. Each refreshes by
htmx every 30 s. One real Chromium opens the HQ board and sees it refresh."""

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, OutcomeCode
from huifang.campaigns.models import CallbackType
from huifang.conftest import PASSWORD
from huifang.customers.models import Customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.reports.dashboards import agent_day, supervisor_board

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.date(2026, 10, 13)  # a Tuesday; the next working day is Wednesday 14 October
NOW = dt.datetime(2026, 10, 13, 14, 0, tzinfo=SHANGHAI)
HTMX = {"HX-Request": "true"}


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, tzinfo=SHANGHAI)


@dataclass
class Day:
    branch_a: Branch
    branch_b: Branch
    a1: User
    a2: User
    b1: User


class Maker:
    def __init__(self) -> None:
        self.n = 0
        self.callback_type = CallbackType.objects.get(code="other")

    def callback(self, branch: Branch, due: int, state: str = "new", *, agent: User | None = None,
                 closed: dt.datetime | None = None, **extra: Any) -> Callback:
        self.n += 1
        customer = Customer.objects.create(customer_no=f"D{branch.code}{self.n:05d}", name=f"客户{self.n}",
                                           branch=branch)
        created = _at(1, 9)
        return Callback.objects.create(customer=customer, callback_type=self.callback_type,
                                       period_key=f"k{self.n}", branch=branch, due_date=dt.date(2026, 10, due),
                                       state=state, agent=agent, closed_at=closed, created_at=created,
                                       updated_at=created, **extra)

    def call(self, agent: User, callback: Callback, dialed: dt.datetime, outcome: str | None,
             ended: bool = True) -> Call:
        self.n += 1
        call = Call.objects.create(serial=f"S{self.n:07d}", agent=agent, customer=callback.customer,
                                   phone_masked="139****1234", branch=callback.branch,
                                   state="ended" if ended else "answered", dialed_at=dialed,
                                   answered_at=dialed + dt.timedelta(seconds=5),
                                   ended_at=dialed + dt.timedelta(minutes=3) if ended else None,
                                   duration_seconds=170 if ended else 0)
        if outcome is not None:
            CallCallback.objects.create(call=call, callback=callback, outcome=OutcomeCode.objects.get(code=outcome),
                                        registered_at=dialed + dt.timedelta(minutes=4), registered_by=agent)
        return call


@pytest.fixture
def a_day(branch_a: Branch, branch_b: Branch, agent_a: User, agent_b: User,
          make_user: Callable[..., User]) -> Day:
    a2 = make_user(branch_a, Role.AGENT, username="agent_a2", name="浦东坐席二")
    make = Maker()
    # branch A
    overdue = make.callback(branch_a, 12, "assigned", agent=agent_a)
    make.callback(branch_a, 13)  # due today: at risk, in the plan
    make.callback(branch_a, 14, "in_progress", agent=a2, held_at=_at(13, 13))  # at risk (next working day)
    make.callback(branch_a, 16)  # later: nothing today
    done_today = make.callback(branch_a, 12, "done", agent=agent_a, closed=_at(13, 10), result="success")
    make.callback(branch_a, 20, "done", agent=a2, closed=_at(13, 11), result="success")  # done early
    make.callback(branch_a, 12, "done", agent=agent_a, closed=_at(12, 16), result="success")  # done yesterday
    make.callback(branch_a, 13, "cancelled", closed=_at(13, 9))
    make.callback(branch_a, 9, "failed", agent=agent_a, closed=_at(13, 9), result="refused")
    make.callback(branch_a, 15, "assigned", agent=agent_a, appointment_at=_at(13, 16), appointment_agent=agent_a)
    make.callback(branch_a, 15, "new", appointment_at=_at(13, 17), appointment_agent=a2)
    make.callback(branch_a, 15, "assigned", agent=agent_a, appointment_at=_at(14, 10), appointment_agent=agent_a)
    # branch B
    make.callback(branch_b, 10, "assigned", agent=agent_b)
    make.callback(branch_b, 11)
    b_done = make.callback(branch_b, 13, "done", agent=agent_b, closed=_at(13, 12), result="success")
    # calls: agent_a two today and one yesterday, and one up now; agent_b one today
    make.call(agent_a, done_today, _at(13, 9), "success")
    make.call(agent_a, overdue, _at(13, 10), "no_answer")
    make.call(agent_a, overdue, _at(12, 15), "no_answer")
    make.call(agent_a, overdue, _at(13, 13), None, ended=False)
    make.call(agent_b, b_done, _at(13, 11), "success")
    rollups.rebuild()
    return Day(branch_a, branch_b, agent_a, a2, agent_b)


@pytest.fixture
def tuesday(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def _figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-value="(\w+)">([^<]*)<', html))


def _states(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-agent="(\w+)">.*?data-state="(\w+)"', html))


# --- the figures ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_hq_board_counts_every_branch(a_day: Day, tuesday: None, hq_supervisor: User) -> None:
    board = supervisor_board(hq_supervisor)
    assert (board.plan, board.done, board.progress) == (8, 3, 38)
    assert (board.at_risk, board.overdue, board.risk_until) == (2, 3, dt.date(2026, 10, 14))
    assert (board.calls, board.successes) == (3, 2)
    states = {row.agent.username: (row.state, row.calls, row.successes, row.holding) for row in board.agents}
    assert states == {"agent_a": ("on_call", 2, 1, 0), "agent_a2": ("holding", 0, 0, 1),
                      "agent_b": ("idle", 1, 1, 0)}
    assert [cb.due_date.day for cb in board.overdue_rows] == [10, 11, 12]


@pytest.mark.django_db
def test_a_branch_board_counts_only_its_branch(a_day: Day, tuesday: None, operator_a: User,
                                               hq_supervisor: User) -> None:
    for user in (operator_a, hq_supervisor):
        board = supervisor_board(user, a_day.branch_a.pk)
        assert (board.plan, board.done, board.at_risk, board.overdue) == (5, 2, 2, 1)
        assert (board.calls, board.successes) == (2, 1)
        assert {row.agent.username for row in board.agents} == {"agent_a", "agent_a2"}
    # what operator_a sees with no branch named is still only branch A
    assert supervisor_board(operator_a).plan == 5


@pytest.mark.django_db
def test_the_agent_s_day_shows_only_their_own(a_day: Day, tuesday: None) -> None:
    day = agent_day(a_day.a1)
    assert (day.calls, day.successes, day.target, day.state_text) == (2, 1, 80, "通话中")
    assert day.on_call is not None and day.on_call.agent_id == a_day.a1.pk
    assert day.open_count == 3 and day.held == []
    assert [cb.appointment_at for cb in day.appointments] == [_at(13, 16)]
    assert {row.call.agent_id for row in day.recent_calls} == {a_day.a1.pk} and len(day.recent_calls) == 3
    other = agent_day(a_day.a2)
    assert (other.calls, other.open_count, len(other.held), other.state_text) == (0, 0, 1, "处理任务中")
    assert [cb.appointment_at for cb in other.appointments] == [_at(13, 17)]


# --- the pages ------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_hq_page_shows_the_board_and_refreshes_every_30_seconds(a_day: Day, tuesday: None,
                                                                    login: Callable[[User], Client],
                                                                    hq_supervisor: User) -> None:
    client = login(hq_supervisor)
    assert client.get(reverse("dashboards:index"))["Location"] == reverse("dashboards:hq")
    page = client.get(reverse("dashboards:hq"))
    html = page.content.decode()
    assert page.status_code == 200 and "总部看板" in html and '<a href="/dashboards/">看板</a>' in html
    assert 'hx-trigger="every 30s"' in html and 'hx-get="/dashboards/hq/"' in html
    wanted = ("plan", "done", "at_risk", "overdue", "calls", "successes", "on_call")
    assert {k: _figures(html)[k] for k in wanted} == {
        "plan": "8", "done": "3", "at_risk": "2", "overdue": "3", "calls": "3", "successes": "2", "on_call": "1"}
    assert _states(html) == {"agent_a": "on_call", "agent_a2": "holding", "agent_b": "idle"}
    partial = client.get(reverse("dashboards:hq"), headers=HTMX).content.decode()
    assert '<div id="dashboard"' in partial
    assert "<html" not in partial and 'hx-trigger="every 30s"' in partial


@pytest.mark.django_db
def test_a_branch_a_user_never_sees_branch_b(a_day: Day, tuesday: None, login: Callable[[User], Client],
                                             operator_a: User, make_user: Callable[..., User]) -> None:
    client = login(operator_a)
    assert client.get(reverse("dashboards:index"))["Location"] == reverse("dashboards:branch", args=[a_day.branch_a.pk])
    html = client.get(reverse("dashboards:branch", args=[a_day.branch_a.pk])).content.decode()
    assert {k: _figures(html)[k] for k in ("plan", "done", "at_risk", "overdue")} == {
        "plan": "5", "done": "2", "at_risk": "2", "overdue": "1"}
    assert "agent_b" not in _states(html) and a_day.branch_b.name not in html
    assert client.get(reverse("dashboards:branch", args=[a_day.branch_b.pk])).status_code == 404
    assert client.get(reverse("dashboards:branch", args=[a_day.branch_b.pk]), headers=HTMX).status_code == 404
    assert client.get(reverse("dashboards:hq")).status_code == 403
    lead = make_user(a_day.branch_b, Role.TEAM_LEAD, username="lead_b")
    client = login(lead)
    assert client.get(reverse("dashboards:branch", args=[a_day.branch_a.pk])).status_code == 404
    assert "agent_a" not in client.get(reverse("dashboards:branch", args=[a_day.branch_b.pk])).content.decode()


@pytest.mark.django_db
def test_an_agent_sees_only_their_own_day(a_day: Day, tuesday: None, login: Callable[[User], Client],
                                          make_user: Callable[..., User]) -> None:
    client = login(a_day.a1)
    assert client.get(reverse("dashboards:index"))["Location"] == reverse("dashboards:me")
    html = client.get(reverse("dashboards:me")).content.decode()
    assert {k: _figures(html)[k] for k in ("calls", "successes", "target", "open", "held", "appointments",
                                           "state")} == {
        "calls": "2", "successes": "1", "target": "80", "open": "3", "held": "0", "appointments": "1",
        "state": "通话中"}
    assert 'hx-trigger="every 30s"' in html
    assert client.get(reverse("dashboards:hq")).status_code == 403
    assert client.get(reverse("dashboards:branch", args=[a_day.branch_a.pk])).status_code == 403
    assert client.get(reverse("dashboards:branch", args=[a_day.branch_b.pk])).status_code == 404
    manager = make_user(a_day.branch_a, Role.CLIENT_MANAGER, username="cm_a")
    client = login(manager)
    assert client.get(reverse("dashboards:index")).status_code == 403
    assert client.get(reverse("dashboards:me")).status_code == 403
    assert "看板</a>" not in client.get(reverse("home")).content.decode()


# --- in a browser -------------------------------------------------------------------------------------------------

@pytest.fixture
def browser_page(page: Page) -> Iterator[Page]:
    page.set_default_timeout(15_000)
    yield page


@pytest.mark.browser
def test_the_hq_supervisor_opens_the_board_in_a_browser_and_it_refreshes(
        shipped_data: None, live_server: Any, browser_page: Page, hq_supervisor: User, branch_a: Branch,
        branch_b: Branch, agent_a: User) -> None:
    page = browser_page
    today = timezone.localdate()
    make = Maker()
    open_a = make.callback(branch_a, 1, "assigned", agent=agent_a)
    Callback.objects.filter(pk=open_a.pk).update(due_date=today)
    other = make.callback(branch_b, 1)
    Callback.objects.filter(pk=other.pk).update(due_date=today - dt.timedelta(days=1))

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", hq_supervisor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav >> text=看板")
    page.wait_for_url(f"{live_server.url}/dashboards/hq/")
    assert page.inner_text("h1") == "总部看板"
    assert page.inner_text("[data-value=plan]") == "2" and page.inner_text("[data-value=done]") == "0"
    assert page.inner_text("[data-value=overdue]") == "1"
    assert page.inner_text("tr[data-agent=agent_a] [data-state]") == "空闲"
    assert page.get_attribute("#dashboard", "hx-trigger") == "every 30s"

    Callback.objects.filter(pk=open_a.pk).update(state="done", closed_at=timezone.now(), result="success")
    # what the 30-second trigger does, at once: the same request, swapping the panel
    page.evaluate("htmx.ajax('GET', '/dashboards/hq/', {target: '#dashboard', swap: 'outerHTML'})")
    page.wait_for_function("document.querySelector('[data-value=done]').textContent === '1'")
    assert page.inner_text("[data-value=progress]") == "50%"
    assert page.get_attribute("#dashboard", "hx-trigger") == "every 30s"
    page.screenshot(path="/tmp/huifang-dashboard-hq.png", full_page=True)
