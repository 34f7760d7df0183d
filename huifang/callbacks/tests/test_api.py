"""The callbacks API: lists by stable codes in cursor pages, one callback with its history, single callbacks and
risk referrals, rule runs; branch isolation, permissions and scopes, Chinese messages naming the bad field."""

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from huifang.calendars.models import CoveredYear
from huifang.callbacks.models import Callback, CallbackHistory, RuleRun
from huifang.callbacks.services import create_callback, run_rules
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer, CustomerEvent
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.org.services import create_api_client

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: "today" of the tests that create callbacks one by one
AS_OF = dt.date(2026, 12, 2)
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
#: the rule runs': a Wednesday, a trading day, whose deadlines the calendar covers (December's reach into 2027);
#: the large transfers happened on the Tuesday before
RUN_AS_OF = dt.date(2026, 6, 3)


# --- shared helpers and fixtures (test_command.py and test_jobs.py import them) --------------------------------

@pytest.fixture(autouse=True)
def covered_calendar(db: Any) -> None:
    """The holiday table as its migration leaves it (2004–2026), re-applied if a transactional test emptied it."""
    if not CoveredYear.objects.filter(year=2026).exists():
        import importlib

        seed = importlib.import_module("huifang.calendars.migrations.0002_seed_holidays_2004_2026")
        seed.seed_holidays(apps, None)


@pytest.fixture
def at_noon(time_machine: Any) -> Iterator[None]:
    """Today is AS_OF (the service's "today" for due dates and periods)."""
    time_machine.move_to(NOW, tick=False)
    yield


def make_customer(branch: Branch, customer_no: str, name: str) -> Customer:
    return Customer.objects.create(customer_no=customer_no, name=name, branch=branch,
                                   open_date=dt.date(2024, 3, 14), assets=Decimal("800000.00"))


def large_transfer(customer: Customer, amount: str = "600000.00", day: dt.date = dt.date(2026, 6, 2)) -> None:
    CustomerEvent.objects.create(customer=customer, type="transfer_out", source="counter",
                                 occurred_at=dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI),
                                 data={"amount": amount}, external_id=f"T-{customer.customer_no}-{day}")


@pytest.fixture
def customer_a(branch_a: Branch) -> Customer:
    return make_customer(branch_a, "0031010000001", "张伟")


@pytest.fixture
def customer_b(branch_b: Branch) -> Customer:
    return make_customer(branch_b, "0044010000001", "李娜")


@pytest.fixture
def transfers(customer_a: Customer, customer_b: Customer) -> None:
    """A large transfer out yesterday in each branch: the large_transfer rule picks both."""
    large_transfer(customer_a)
    large_transfer(customer_b)


def api_client(*branches: Branch, scopes: list[str], name: str = "crm") -> Client:
    _, token = create_api_client(name=name, branches=list(branches), all_branches=not branches, scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def callback_of(customer: Customer, type_code: str = "other", **extra: Any) -> Callback:
    return create_callback(customer=customer, callback_type=CallbackType.objects.get(code=type_code),
                           origin="api", reason="测试", today=AS_OF, **extra)


# --- GET /api/v1/callbacks -----------------------------------------------------------------------------------

def test_the_list_gives_stable_codes_and_the_agreed_fields(hq_supervisor: User, transfers: None) -> None:
    run_rules(as_of=RUN_AS_OF)
    answer = logged_in(hq_supervisor).get("/api/v1/callbacks")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["next_cursor"] is None
    items = {item["customer_no"]: item for item in body["items"]}
    assert set(items) == {"0031010000001", "0044010000001"}
    item = items["0031010000001"]
    assert {k: item[k] for k in ("type", "state", "branch", "agent_no", "project", "origin", "attempts",
                                 "result")} == {
        "type": "large_transfer", "state": "new", "branch": "3101", "agent_no": None, "project": None,
        "origin": "rule", "attempts": 0, "result": ""}
    assert item["period_key"] and item["due_date"] > "2026-06-03"
    assert {"id", "not_before", "priority", "created_at", "updated_at"} <= set(item)


def test_branch_b_sees_nothing_of_branch_a(agent_b: User, operator_a: User, transfers: None) -> None:
    run_rules(as_of=RUN_AS_OF)
    seen_by_b = logged_in(agent_b).get("/api/v1/callbacks").json()["items"]
    assert [item["customer_no"] for item in seen_by_b] == ["0044010000001"]
    # filtering by the other branch's code shows nothing rather than its callbacks
    assert logged_in(agent_b).get("/api/v1/callbacks?branch=3101").json()["items"] == []
    assert logged_in(agent_b).get("/api/v1/callbacks?customer_no=0031010000001").json()["items"] == []
    seen_by_a = logged_in(operator_a).get("/api/v1/callbacks").json()["items"]
    assert [item["customer_no"] for item in seen_by_a] == ["0031010000001"]


def test_an_api_client_sees_only_its_branches(branch_b: Branch, transfers: None) -> None:
    run_rules(as_of=RUN_AS_OF)
    items = api_client(branch_b, scopes=["callbacks:read"]).get("/api/v1/callbacks").json()["items"]
    assert [item["branch"] for item in items] == ["4401"]


def test_filters(hq_supervisor: User, customer_a: Customer, customer_b: Customer, at_noon: None) -> None:
    other = callback_of(customer_a, "other", due=dt.date(2026, 12, 10))
    callback_of(customer_a, "satisfaction", due=dt.date(2026, 12, 20))
    callback_of(customer_b, "other", due=dt.date(2026, 12, 31))
    client = logged_in(hq_supervisor)

    def ids(query: str) -> list[int]:
        answer = client.get(f"/api/v1/callbacks?{query}")
        assert answer.status_code == 200, answer.content
        return [item["id"] for item in answer.json()["items"]]

    by_no = {c.pk: c.customer.customer_no for c in Callback.objects.select_related("customer")}
    assert [by_no[i] for i in ids("customer_no=0044010000001")] == ["0044010000001"]
    assert ids("type=other&branch=3101") == [other.pk]
    assert len(ids("state=new")) == 3 and ids("state=done") == []
    assert ids("due_before=2026-12-10") == [other.pk]
    assert len(ids("due_after=2026-12-11")) == 2
    assert len(ids("updated_since=2026-12-02T09:00:00%2B08:00")) == 3
    assert ids("updated_since=2026-12-02T11:00:00%2B08:00") == []


@pytest.mark.parametrize(("query", "field"), [
    ("state=nonesuch", "state"),
    ("type=nonesuch", "type"),
    ("branch=9999", "branch"),
    ("due_before=2026-13-01", "due_before"),
    ("due_after=20261201", "due_after"),
    ("updated_since=yesterday", "updated_since"),
    ("customer_no=abc", "customer_no"),
    ("limit=501", "limit"),
    ("limit=0", "limit"),
    ("cursor=not-a-cursor", "cursor"),
])
def test_a_bad_filter_answers_422_naming_the_field(hq_supervisor: User, query: str, field: str) -> None:
    answer = logged_in(hq_supervisor).get(f"/api/v1/callbacks?{query}")
    assert answer.status_code == 422, answer.content
    assert answer.json()["message"].startswith(f"{field}：")


def test_cursor_pages_over_id_reach_every_callback_once(hq_supervisor: User, branch_a: Branch,
                                                        at_noon: None) -> None:
    for n in range(7):
        callback_of(make_customer(branch_a, f"00310100001{n:02d}", f"客户{n}"))
    client = logged_in(hq_supervisor)
    seen: list[int] = []
    url = "/api/v1/callbacks?limit=3"
    pages = 0
    while True:
        body = client.get(url).json()
        pages += 1
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        url = f"/api/v1/callbacks?limit=3&cursor={body['next_cursor']}"
    assert pages == 3
    assert seen == sorted(Callback.objects.values_list("id", flat=True))


def test_cursor_pages_over_updated_at_follow_changes(hq_supervisor: User, branch_a: Branch,
                                                     time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    callbacks = [callback_of(make_customer(branch_a, f"00310100002{n:02d}", f"客户{n}")) for n in range(5)]
    # the first one changes later: it comes last when paging by updated_at
    Callback.objects.filter(pk=callbacks[0].pk).update(updated_at=NOW + dt.timedelta(hours=1))
    client = logged_in(hq_supervisor)
    since = "2026-12-02T00:00:00%2B08:00"
    first = client.get(f"/api/v1/callbacks?updated_since={since}&limit=3").json()
    assert [item["id"] for item in first["items"]] == [c.pk for c in callbacks[1:4]]
    second = client.get(f"/api/v1/callbacks?updated_since={since}&limit=3&cursor={first['next_cursor']}").json()
    assert [item["id"] for item in second["items"]] == [callbacks[4].pk, callbacks[0].pk]
    assert second["next_cursor"] is None
    # a cursor of one kind of paging is refused by the other
    assert client.get(f"/api/v1/callbacks?cursor={first['next_cursor']}").status_code == 422


def test_the_list_costs_the_same_queries_for_one_callback_or_many(
        hq_supervisor: User, branch_a: Branch, make_user: Callable[..., User], at_noon: None,
        django_assert_num_queries: Any) -> None:
    agent = make_user(branch_a, Role.AGENT, agent_no="A0042")
    client = logged_in(hq_supervisor)
    callback_of(make_customer(branch_a, "0031010000300", "客户"), agent=agent)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/callbacks").json()["items"]) == 1
    for n in range(10):
        callback_of(make_customer(branch_a, f"00310100003{n + 1:02d}", f"客户{n}"), agent=agent)
    with django_assert_num_queries(len(one)):
        items = client.get("/api/v1/callbacks").json()["items"]
    assert len(items) == 11 and {item["agent_no"] for item in items} == {"A0042"}


def test_an_api_client_without_the_read_scope_is_refused(branch_a: Branch) -> None:
    answer = api_client(branch_a, scopes=["customers:read"]).get("/api/v1/callbacks")
    assert answer.status_code == 403
    assert answer.json()["code"] == "scope_missing"


def test_a_user_without_the_view_permission_is_refused(make_user: Callable[..., User], branch_a: Branch) -> None:
    qa = make_user(branch_a, Role.QA_INSPECTOR)
    answer = logged_in(qa).get("/api/v1/callbacks")
    assert answer.status_code == 403 and "无权" in answer.json()["message"]


# --- GET /api/v1/callbacks/{id} ------------------------------------------------------------------------------

def test_one_callback_with_its_history(hq_supervisor: User, operator_a: User, agent_b: User,
                                       customer_a: Customer, make_user: Callable[..., User], at_noon: None) -> None:
    agent = make_user(customer_a.branch, Role.AGENT, agent_no="A0007")
    callback = create_callback(customer=customer_a, callback_type=CallbackType.objects.get(code="other"),
                               origin="api", reason="客户来电要求", by=operator_a, agent=agent)
    answer = logged_in(hq_supervisor).get(f"/api/v1/callbacks/{callback.pk}")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["id"], body["agent_no"], body["state"], body["reason"]) == (callback.pk, "A0007", "assigned",
                                                                             "客户来电要求")
    assert [(h["by"], h["from"], h["to"]) for h in body["history"]] == [
        ("operator_a", "", "new"), ("operator_a", "new", "assigned")]
    assert body["history"][0]["reason"] == "客户来电要求"
    assert logged_in(agent_b).get(f"/api/v1/callbacks/{callback.pk}").status_code == 404
    missing = logged_in(agent_b).get("/api/v1/callbacks/987654")
    assert missing.status_code == 404
    assert missing.json() == logged_in(agent_b).get(f"/api/v1/callbacks/{callback.pk}").json()


# --- POST /api/v1/callbacks ----------------------------------------------------------------------------------

def test_an_operator_creates_a_callback_for_a_customer_of_the_branch(operator_a: User, customer_a: Customer,
                                                                     at_noon: None) -> None:
    answer = post(logged_in(operator_a), "/api/v1/callbacks",
                  {"customer_no": "0031010000001", "type": "satisfaction", "reason": "满意度调查",
                   "due_date": "2026-12-20", "origin": "api"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["type"], body["origin"], body["branch"], body["due_date"], body["state"]) == (
        "satisfaction", "api", "3101", "2026-12-20", "new")
    callback = Callback.objects.get(pk=body["id"])
    assert callback.created_by == operator_a and callback.customer == customer_a
    assert [(h["from"], h["to"]) for h in body["history"]] == [("", "new")]


def test_a_duplicate_in_the_period_answers_409_with_the_reason(operator_a: User, customer_a: Customer,
                                                               at_noon: None) -> None:
    client = logged_in(operator_a)
    body = {"customer_no": "0031010000001", "type": "satisfaction", "reason": "满意度调查"}
    assert post(client, "/api/v1/callbacks", body).status_code == 201
    again = post(client, "/api/v1/callbacks", body)
    assert again.status_code == 409
    assert "客户 0031010000001 本期" in again.json()["message"]
    assert Callback.objects.count() == 1


def test_an_api_client_with_the_write_scope_creates_in_its_branch_only(branch_a: Branch, customer_a: Customer,
                                                                       customer_b: Customer, at_noon: None) -> None:
    client = api_client(branch_a, scopes=["callbacks:write"])
    created = post(client, "/api/v1/callbacks", {"customer_no": "0031010000001", "type": "other"})
    assert created.status_code == 201, created.content
    assert Callback.objects.get().created_by is None
    assert post(client, "/api/v1/callbacks", {"customer_no": "0044010000001", "type": "other"}).status_code == 404
    assert Callback.objects.count() == 1


def test_creating_is_refused_without_the_permission_or_scope(agent_a: User, branch_a: Branch, customer_a: Customer,
                                                             at_noon: None) -> None:
    body = {"customer_no": "0031010000001", "type": "other"}
    assert post(logged_in(agent_a), "/api/v1/callbacks", body).status_code == 403
    refused = post(api_client(branch_a, scopes=["callbacks:read"]), "/api/v1/callbacks", body)
    assert refused.status_code == 403 and refused.json()["code"] == "scope_missing"
    assert not Callback.objects.exists()


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"customer_no": "0031010000001", "type": "nonesuch"}, 422, "type"),
    ({"customer_no": "abc", "type": "other"}, 400, "customer_no"),
    ({"customer_no": "0031010000001", "type": "other", "due_date": "2026-11-30"}, 422, "due_date"),
])
def test_bad_input_names_the_field(operator_a: User, customer_a: Customer, at_noon: None, body: dict[str, Any],
                                   status: int, field: str) -> None:
    answer = post(logged_in(operator_a), "/api/v1/callbacks", body)
    assert answer.status_code == status, answer.content
    assert answer.json()["message"].startswith(f"{field}：")
    assert not Callback.objects.exists()


# --- POST /api/v1/callbacks/risk-referral ----------------------------------------------------------------------

@pytest.fixture
def risk_officer(hq: Branch, make_user: Callable[..., User]) -> User:
    return make_user(hq, Role.RISK_OFFICER, username="risk_officer")


def test_a_risk_officer_refers_any_branch_customer_and_it_lands_at_the_branch(
        risk_officer: User, agent_b: User, customer_a: Customer, at_noon: None) -> None:
    answer = post(logged_in(risk_officer), "/api/v1/callbacks/risk-referral",
                  {"customer_no": "0031010000001", "reason": "疑似洗钱交易，请核实"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["type"], body["origin"], body["branch"]) == ("risk_aml", "risk_referral", "3101")
    callback = Callback.objects.get(pk=body["id"])
    assert callback.branch == customer_a.branch and callback.reason == "疑似洗钱交易，请核实"
    assert CallbackHistory.objects.get(callback=callback).reason == "疑似洗钱交易，请核实"
    assert logged_in(agent_b).get(f"/api/v1/callbacks/{callback.pk}").status_code == 404
    again = post(logged_in(risk_officer), "/api/v1/callbacks/risk-referral",
                 {"customer_no": "0031010000001", "reason": "再次转介"})
    assert again.status_code == 409 and "本期" in again.json()["message"]


def test_a_branch_user_refers_only_customers_of_the_branch(operator_a: User, customer_a: Customer,
                                                            customer_b: Customer, at_noon: None) -> None:
    client = logged_in(operator_a)
    body = {"customer_no": "0044010000001", "reason": "异常交易"}
    assert post(client, "/api/v1/callbacks/risk-referral", body).status_code == 404
    assert post(client, "/api/v1/callbacks/risk-referral", {**body, "customer_no": "0031010000001"}
                ).status_code == 201
    assert list(Callback.objects.values_list("customer__customer_no", flat=True)) == ["0031010000001"]


def test_a_referral_needs_a_reason_and_the_permission(risk_officer: User, agent_a: User, customer_a: Customer,
                                                      at_noon: None) -> None:
    blank = post(logged_in(risk_officer), "/api/v1/callbacks/risk-referral",
                 {"customer_no": "0031010000001", "reason": "  "})
    assert blank.status_code == 422 and blank.json()["message"].startswith("reason：")
    missing = post(logged_in(risk_officer), "/api/v1/callbacks/risk-referral", {"customer_no": "0031010000001"})
    assert missing.status_code == 422
    assert post(logged_in(agent_a), "/api/v1/callbacks/risk-referral",
                {"customer_no": "0031010000001", "reason": "异常"}).status_code == 403
    assert not Callback.objects.exists()


# --- POST /api/v1/rules/run ----------------------------------------------------------------------------------

def test_a_run_answers_its_counts_per_type_and_branch(hq_supervisor: User, transfers: None) -> None:
    answer = post(logged_in(hq_supervisor), "/api/v1/rules/run", {"as_of": "2026-06-03", "dry_run": False})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["as_of"], body["dry_run"], body["created"], body["errors"]) == ("2026-06-03", False, 2, [])
    assert body["counts"] == [{"type": "large_transfer", "branch": "3101", "count": 1},
                              {"type": "large_transfer", "branch": "4401", "count": 1}]
    run = RuleRun.objects.get(pk=body["run_id"])
    assert (run.trigger, run.started_by, run.created_count) == ("api", hq_supervisor, 2)
    assert Callback.objects.filter(run=run).count() == 2


def test_a_dry_run_creates_nothing_and_running_twice_creates_nothing_new(admin_user: User,
                                                                         transfers: None) -> None:
    client = logged_in(admin_user)
    dry = post(client, "/api/v1/rules/run", {"as_of": "2026-06-03", "dry_run": True}).json()
    assert (dry["dry_run"], dry["created"]) == (True, 2)
    assert not Callback.objects.exists()
    first = post(client, "/api/v1/rules/run", {"as_of": "2026-06-03"}).json()
    assert first["created"] == 2
    second = post(client, "/api/v1/rules/run", {"as_of": "2026-06-03"}).json()
    assert (second["created"], second["counts"]) == (0, [])
    assert Callback.objects.count() == 2
    assert post(client, "/api/v1/rules/run", {"as_of": "2026-06-03", "dry_run": True}).json()["created"] == 0


def test_a_year_the_calendar_does_not_cover_is_reported_per_rule(hq_supervisor: User, transfers: None) -> None:
    body = post(logged_in(hq_supervisor), "/api/v1/rules/run", {"as_of": "2031-06-02"}).json()
    assert body["created"] == 0
    assert body["errors"] and all({"rule", "name", "message"} <= set(e) for e in body["errors"])


def test_an_api_client_with_the_run_scope_runs_the_rules(branch_a: Branch, transfers: None) -> None:
    answer = post(api_client(scopes=["rules:run"]), "/api/v1/rules/run", {"as_of": "2026-06-03"})
    assert answer.status_code == 200, answer.content
    assert RuleRun.objects.get().started_by is None


def test_running_is_refused_to_others(operator_a: User, agent_a: User, branch_a: Branch, transfers: None) -> None:
    for client in (logged_in(agent_a), logged_in(operator_a)):
        assert post(client, "/api/v1/rules/run", {"as_of": "2026-06-03"}).status_code == 403
    refused = post(api_client(branch_a, scopes=["callbacks:write", "callbacks:read"]), "/api/v1/rules/run",
                   {"as_of": "2026-06-03"})
    assert refused.status_code == 403 and refused.json()["code"] == "scope_missing"
    assert not RuleRun.objects.exists() and not Callback.objects.exists()


def test_a_bad_date_answers_422_naming_the_field(hq_supervisor: User) -> None:
    answer = post(logged_in(hq_supervisor), "/api/v1/rules/run", {"as_of": "2026-02-30"})
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("as_of：")
    assert not RuleRun.objects.exists()
