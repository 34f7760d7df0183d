"""The agents' queue (callbacks.queue, POST /api/v1/agents/me/next): each rule of what may be given, the order,
all of a customer's callbacks claimed together, the reasons when nothing can be given, release, and 32 agents
asking at the same moment."""

import datetime as dt
import threading
from collections.abc import Callable
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.queue import (
    NOTHING_AT_ALL,
    Nothing,
    Taken,
    _candidate,
    _params,
    release_callbacks,
    take_next_callback,
)
from huifang.campaigns.choices import Category
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer, DoNotCall
from huifang.customers.tests.conftest import make_customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)  # a Monday, within the default calling hours
_numbers = count(1)


def make_type(code: str, *, priority: int = 50, category: str = Category.SERVICE, recusal: bool = True,
              starts: dt.time = dt.time(9, 0), ends: dt.time = dt.time(20, 30)) -> CallbackType:
    return CallbackType.objects.create(code=code, name=code, priority=priority, category=category, recusal=recusal,
                                       calling_starts_at=starts, calling_ends_at=ends)


def customer(branch: Branch, manager: User | None = None) -> Customer:
    n = next(_numbers)
    return make_customer(branch, f"00{branch.code}{n:07d}", f"客户{n}", manager=manager)


def make_callback(who: Customer, kind: CallbackType, *, due: dt.date = dt.date(2026, 6, 30),
                  priority: int | None = None, **extra: Any) -> Callback:
    return Callback.objects.create(customer=who, callback_type=kind, period_key=f"Q{next(_numbers)}",
                                   branch_id=who.branch_id, due_date=due,
                                   priority=kind.priority if priority is None else priority,
                                   created_at=NOW - dt.timedelta(days=3), updated_at=NOW - dt.timedelta(days=3),
                                   **extra)


@pytest.fixture
def service(db: Any) -> CallbackType:
    return make_type("q_service")


@pytest.fixture
def marketing(db: Any) -> CallbackType:
    return make_type("q_marketing", category=Category.MARKETING)


def taken(result: Taken | Nothing) -> list[int]:
    assert isinstance(result, Taken), result
    return result.callback_ids


def nothing(result: Taken | Nothing) -> str:
    assert isinstance(result, Nothing), result
    return result.reason


# --- what may be given ---------------------------------------------------------------------------------------

def test_it_gives_the_highest_priority_then_the_earliest_due_date(agent_a: User, branch_a: Branch,
                                                                  service: CallbackType) -> None:
    low = make_callback(customer(branch_a), service, priority=10, due=dt.date(2026, 6, 16))
    late = make_callback(customer(branch_a), service, priority=90, due=dt.date(2026, 6, 30))
    early = make_callback(customer(branch_a), service, priority=90, due=dt.date(2026, 6, 20))
    same = make_callback(customer(branch_a), service, priority=90, due=dt.date(2026, 6, 20))

    got = [taken(take_next_callback(agent=agent_a, now=NOW))[0] for _ in range(4)]
    assert got == [early.pk, same.pk, late.pk, low.pk]
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == NOTHING_AT_ALL


def test_the_taken_callback_is_held_with_its_history(agent_a: User, branch_a: Branch, service: CallbackType) -> None:
    callback = make_callback(customer(branch_a), service)
    result = take_next_callback(agent=agent_a, now=NOW)
    assert isinstance(result, Taken) and result.customer_id == callback.customer_id and result.held_at == NOW
    callback.refresh_from_db()
    assert (callback.state, callback.agent_id, callback.held_at, callback.updated_at) == (
        State.IN_PROGRESS, agent_a.pk, NOW, NOW)
    row = CallbackHistory.objects.get(callback=callback, to_state=State.IN_PROGRESS)
    assert (row.from_state, row.by_id, row.agent_id, row.at) == (State.NEW, agent_a.pk, agent_a.pk, NOW)


def test_it_skips_a_callback_whose_not_before_has_not_come(agent_a: User, branch_a: Branch,
                                                          service: CallbackType) -> None:
    callback = make_callback(customer(branch_a), service, not_before=NOW + dt.timedelta(hours=2))
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == "均处于冷静期"
    assert taken(take_next_callback(agent=agent_a, now=NOW + dt.timedelta(hours=2))) == [callback.pk]


def test_it_respects_the_types_calling_hours(agent_a: User, branch_a: Branch, service: CallbackType) -> None:
    morning = make_type("q_morning", starts=dt.time(10, 0), ends=dt.time(12, 0))
    usual = make_callback(customer(branch_a), service)
    short = make_callback(customer(branch_a), morning, priority=99)

    with time_machine.travel(dt.datetime(2026, 6, 15, 8, 59, 59, tzinfo=SHANGHAI), tick=False):
        assert nothing(take_next_callback(agent=agent_a)) == (
            "均未到可呼叫时间（呼叫时段 09:00–20:30、10:00–12:00）")
    with time_machine.travel(dt.datetime(2026, 6, 15, 9, 0, tzinfo=SHANGHAI), tick=False):
        assert taken(take_next_callback(agent=agent_a)) == [usual.pk]
    with time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI), tick=False):
        assert nothing(take_next_callback(agent=agent_a)) == "均未到可呼叫时间（呼叫时段 10:00–12:00）"
    with time_machine.travel(dt.datetime(2026, 6, 16, 11, 59, tzinfo=SHANGHAI), tick=False):
        assert taken(take_next_callback(agent=agent_a)) == [short.pk]


def test_the_calling_hours_end_at_half_past_eight_by_default(agent_a: User, branch_a: Branch,
                                                             service: CallbackType) -> None:
    make_callback(customer(branch_a), service)
    evening = dt.datetime(2026, 6, 15, 20, 30, tzinfo=SHANGHAI)
    assert "09:00–20:30" in nothing(take_next_callback(agent=agent_a, now=evening))
    assert take_next_callback(agent=agent_a, now=evening - dt.timedelta(minutes=1))


def test_calling_hours_must_end_after_they_start(service: CallbackType) -> None:
    from django.core.exceptions import ValidationError

    service.calling_ends_at = dt.time(9, 0)
    with pytest.raises(ValidationError) as error:
        service.full_clean()
    assert "calling_ends_at" in error.value.message_dict


def test_do_not_call_blocks_marketing_callbacks_only(agent_a: User, branch_a: Branch, service: CallbackType,
                                                     marketing: CallbackType) -> None:
    blocked = customer(branch_a)
    DoNotCall.objects.create(customer=blocked, reason="拒绝营销", since=NOW - dt.timedelta(days=30))
    make_callback(blocked, marketing, priority=99)
    care = make_callback(blocked, service)

    assert taken(take_next_callback(agent=agent_a, now=NOW)) == [care.pk]  # the marketing one is not bundled
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == "客户均在免打扰名单（营销类任务）"


def test_a_do_not_call_entry_ends_after_its_until_day(agent_a: User, branch_a: Branch,
                                                      marketing: CallbackType) -> None:
    former = customer(branch_a)
    DoNotCall.objects.create(customer=former, since=NOW - dt.timedelta(days=200), until=dt.date(2026, 6, 15))
    callback = make_callback(former, marketing)
    assert isinstance(take_next_callback(agent=agent_a, now=NOW), Nothing)  # until is included
    assert taken(take_next_callback(agent=agent_a, now=NOW + dt.timedelta(days=1))) == [callback.pk]


def test_an_agent_is_not_given_customers_they_manage_when_the_type_recuses(
        agent_a: User, branch_a: Branch, service: CallbackType) -> None:
    relaxed = make_type("q_relaxed", recusal=False)
    own = customer(branch_a, manager=agent_a)
    make_callback(own, service)
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == "均为您管理的客户（回避）"
    allowed = make_callback(own, relaxed)
    assert taken(take_next_callback(agent=agent_a, now=NOW)) == [allowed.pk]


def test_it_skips_callbacks_held_or_assigned_by_another_agent(agent_a: User, branch_a: Branch,
                                                              make_user: Callable[..., User],
                                                              service: CallbackType) -> None:
    other = make_user(branch_a, Role.AGENT)
    make_callback(customer(branch_a), service, state=State.IN_PROGRESS, agent=other)
    make_callback(customer(branch_a), service, state=State.ASSIGNED, agent=other)
    busy = customer(branch_a)
    make_callback(busy, service, state=State.IN_PROGRESS, agent=other)
    make_callback(busy, service)  # the customer is on the phone with the other agent
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == "客户均正由其他坐席处理"
    mine = make_callback(customer(branch_a), service, state=State.ASSIGNED, agent=agent_a)
    assert taken(take_next_callback(agent=agent_a, now=NOW)) == [mine.pk]
    assert CallbackHistory.objects.get(callback=mine).from_state == State.ASSIGNED


def test_a_branch_agent_works_their_branch_and_an_hq_agent_every_branch(
        agent_a: User, hq: Branch, branch_a: Branch, branch_b: Branch, make_user: Callable[..., User],
        service: CallbackType) -> None:
    elsewhere = make_callback(customer(branch_b), service)
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == NOTHING_AT_ALL
    central = make_user(hq, Role.AGENT)
    assert taken(take_next_callback(agent=central, now=NOW)) == [elsewhere.pk]


def test_nothing_at_all_only_when_no_callback_is_the_agents_or_the_pools(
        agent_a: User, hq: Branch, branch_a: Branch, make_user: Callable[..., User], service: CallbackType) -> None:
    central = make_user(hq, Role.AGENT)
    other = make_user(branch_a, Role.AGENT)
    make_callback(customer(branch_a), service, state=State.ASSIGNED, agent=other)  # another agent's
    make_callback(customer(branch_a), service, state=State.DONE)
    for who in (agent_a, central):
        result = take_next_callback(agent=who, now=NOW)
        assert nothing(result) == NOTHING_AT_ALL and isinstance(result, Nothing) and result.counts == {}
    later = NOW + dt.timedelta(days=1)
    make_callback(customer(branch_a), service, state=State.ASSIGNED, agent=agent_a, not_before=later)
    make_callback(customer(branch_a), service, not_before=later)  # the pool's
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == "均处于冷静期"
    assert nothing(take_next_callback(agent=central, now=NOW)) == "均处于冷静期"


def test_due_appointments_come_first(agent_a: User, branch_a: Branch, service: CallbackType) -> None:
    urgent = make_callback(customer(branch_a), service, priority=99)
    booked = make_callback(customer(branch_a), service, priority=1, appointment_at=NOW - dt.timedelta(minutes=5))
    later = make_callback(customer(branch_a), service, priority=1, appointment_at=NOW + dt.timedelta(hours=1))
    assert taken(take_next_callback(agent=agent_a, now=NOW)) == [booked.pk]
    assert taken(take_next_callback(agent=agent_a, now=NOW)) == [urgent.pk]
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == "均为预约任务，预约时间未到"
    assert taken(take_next_callback(agent=agent_a, now=NOW + dt.timedelta(hours=1))) == [later.pk]


def test_a_personal_appointment_passes_to_anyone_after_the_handover_minutes(
        agent_a: User, branch_a: Branch, make_user: Callable[..., User], service: CallbackType,
        settings: Any) -> None:
    settings.APPOINTMENT_HANDOVER_MINUTES = 30
    booker = make_user(branch_a, Role.AGENT)
    at = NOW - dt.timedelta(minutes=10)
    theirs = make_callback(customer(branch_a), service, appointment_at=at, appointment_agent=booker)
    assert nothing(take_next_callback(agent=agent_a, now=NOW)) == "均为预约给其他坐席的任务"
    assert isinstance(take_next_callback(agent=agent_a, now=at + dt.timedelta(minutes=30)), Nothing)
    assert taken(take_next_callback(agent=agent_a, now=at + dt.timedelta(minutes=30, seconds=1))) == [theirs.pk]


def test_the_booking_agent_gets_their_appointment_first(agent_a: User, branch_a: Branch,
                                                        service: CallbackType) -> None:
    make_callback(customer(branch_a), service, priority=99)
    mine = make_callback(customer(branch_a), service, appointment_at=NOW, appointment_agent=agent_a)
    assert taken(take_next_callback(agent=agent_a, now=NOW)) == [mine.pk]


# --- one call, all of the customer ---------------------------------------------------------------------------

def test_it_claims_every_open_callback_of_the_customer_it_may_work(agent_a: User, branch_a: Branch,
                                                                   service: CallbackType,
                                                                   marketing: CallbackType) -> None:
    other_type = make_type("q_other", priority=20)
    who = customer(branch_a)
    first = make_callback(who, service, priority=80)
    second = make_callback(who, other_type)
    third = make_callback(who, marketing, state=State.ASSIGNED, agent=agent_a)
    make_callback(who, other_type, not_before=NOW + dt.timedelta(days=1))  # cooling-off: not now
    make_callback(who, service, state=State.DONE)
    make_callback(customer(branch_a), service, priority=99, not_before=NOW + dt.timedelta(days=1))

    result = take_next_callback(agent=agent_a, now=NOW)
    assert isinstance(result, Taken)
    assert result.customer_id == who.pk
    assert result.callback_ids == [first.pk, second.pk, third.pk]
    held = Callback.objects.filter(agent=agent_a, state=State.IN_PROGRESS)
    assert sorted(held.values_list("pk", flat=True)) == sorted(result.callback_ids)
    reasons = dict(CallbackHistory.objects.filter(to_state=State.IN_PROGRESS).values_list("callback_id", "reason"))
    assert reasons[first.pk] == "坐席领取（获得外呼对象）"
    assert reasons[third.pk] == "随同一客户的回访任务一并领取"
    assert CallbackHistory.objects.get(callback=third).from_state == State.ASSIGNED


def test_the_reasons_count_each_callback_under_its_first_blocking_rule(agent_a: User, branch_a: Branch,
                                                                       service: CallbackType) -> None:
    make_callback(customer(branch_a), service, not_before=NOW + dt.timedelta(hours=1))
    make_callback(customer(branch_a), service, not_before=NOW + dt.timedelta(hours=1))
    make_callback(customer(branch_a, manager=agent_a), service)
    result = take_next_callback(agent=agent_a, now=NOW)
    assert isinstance(result, Nothing)
    assert result.counts == {"cooling_off": 2, "recusal": 1}
    assert result.reason == "暂无可领取的回访任务：2 条处于冷静期；1 条为您管理的客户（回避）"


def test_release_returns_callbacks_to_where_they_were_taken_from(agent_a: User, branch_a: Branch,
                                                                  service: CallbackType) -> None:
    who = customer(branch_a)
    pooled = make_callback(who, service)
    assigned = make_callback(who, service, state=State.ASSIGNED, agent=agent_a)
    ids = taken(take_next_callback(agent=agent_a, now=NOW))
    assert sorted(ids) == sorted([pooled.pk, assigned.pk])

    assert sorted(release_callbacks(agent=agent_a, ids=[*ids, 999_999], reason="客户忙")) == sorted(ids)
    pooled.refresh_from_db()
    assigned.refresh_from_db()
    assert (pooled.state, pooled.agent_id, pooled.held_at) == (State.NEW, None, None)
    assert (assigned.state, assigned.agent_id) == (State.ASSIGNED, agent_a.pk)
    assert CallbackHistory.objects.filter(from_state=State.IN_PROGRESS, reason="客户忙").count() == 2
    assert release_callbacks(agent=agent_a, ids=ids, reason="") == []


# --- the API ---------------------------------------------------------------------------------------------------

def test_api_next_answers_the_customer_and_its_callbacks(client: Client, agent_a: User, branch_a: Branch,
                                                         service: CallbackType) -> None:
    who = customer(branch_a)
    callback = make_callback(who, service, due=dt.date(2026, 6, 30))
    client.force_login(agent_a)
    with time_machine.travel(NOW, tick=False):
        response = client.post("/api/v1/agents/me/next")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["customer_no"] == who.customer_no
        assert body["callbacks"] == [{"id": callback.pk, "type": "q_service", "due_date": "2026-06-30",
                                      "not_before": None, "priority": 50, "questionnaire_version": None}]
        assert body["held_at"].startswith("2026-06-15T02:00:00")
        again = client.post("/api/v1/agents/me/next").json()
    assert again["callbacks"] == [] and again["reason"] == NOTHING_AT_ALL


def test_api_next_is_for_agents_only(client: Client, operator_a: User) -> None:
    operator_a.agent_no = None
    operator_a.save()
    client.force_login(operator_a)
    response = client.post("/api/v1/agents/me/next")
    assert response.status_code == 403
    assert response.json()["code"] == "not_an_agent"


def test_api_next_needs_a_login(client: Client) -> None:
    assert client.post("/api/v1/agents/me/next").status_code == 401


# --- the plan and concurrency ----------------------------------------------------------------------------------

def _pop_plan(agent: User) -> str:
    params = _params(agent, NOW)
    where = _candidate(every_branch=False)
    sql = f"SELECT c.id FROM callbacks_callback c WHERE {where} ORDER BY c.priority DESC, c.due_date, c.id LIMIT 1"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_pop_walks_its_partial_index(agent_a: User, branch_a: Branch, service: CallbackType) -> None:
    for _ in range(20):
        make_callback(customer(branch_a), service)
    plan = _pop_plan(agent_a)
    assert "callback_pop_branch_idx" in plan, plan
    if connection.vendor == "sqlite":
        assert "TEMP B-TREE" not in plan, plan  # no sort of the candidates per pop


@pytest.mark.django_db(transaction=True)
def test_agents_asking_at_the_same_moment_never_share_a_callback(make_user: Callable[..., User]) -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        # A shared-cache in-memory database locks tables (SQLITE_LOCKED, no busy wait): not what BEGIN IMMEDIATE
        # on a file does. The benchmark (bench/next_callback.py) checks concurrent pops on a SQLite file.
        pytest.skip("SQLite 的内存测试库不能代表文件库的并发（见 bench/next_callback.py）")
    agents_n = 32 if connection.vendor == "postgresql" else 8
    branch = Branch.objects.create(code="3102", name="并发营业部")
    kind = make_type("q_race")
    agents = [make_user(branch, Role.AGENT) for _ in range(agents_n)]
    expected: set[int] = set()
    for n in range(agents_n * 3):
        who = customer(branch)
        expected.add(make_callback(who, kind, priority=n % 7).pk)
        if n % 3 == 0:  # some customers have two: both go to one agent
            expected.add(make_callback(who, kind, priority=n % 5).pk)
    barrier = threading.Barrier(agents_n)
    got: dict[int, list[tuple[int, list[int]]]] = {agent.pk: [] for agent in agents}
    errors: list[BaseException] = []

    def work(agent: User) -> None:
        try:
            barrier.wait(timeout=30)
            while True:
                result = take_next_callback(agent=agent, now=NOW)
                if isinstance(result, Nothing):
                    if "其他坐席领取" in result.reason:
                        continue
                    return
                got[agent.pk].append((result.customer_id, result.callback_ids))
        except BaseException as error:  # reported below: a thread's failure must fail the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    handed = [pk for pops in got.values() for _, ids in pops for pk in ids]
    assert len(handed) == len(set(handed)), "a callback was handed out twice"
    assert set(handed) == expected
    holders = dict(Callback.objects.filter(pk__in=expected).values_list("pk", "agent_id"))
    for agent_pk, pops in got.items():
        for _, ids in pops:
            assert {holders[pk] for pk in ids} == {agent_pk}
    customers = [customer_id for pops in got.values() for customer_id, _ in pops]
    assert len(customers) == len(set(customers)), "a customer was split between two pops"
    assert CallbackHistory.objects.filter(to_state=State.IN_PROGRESS).count() == len(expected)
