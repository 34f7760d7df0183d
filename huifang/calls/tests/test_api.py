"""The calls API: dial, read a call, register an outcome; happy path, permission, bad input, other branches."""

from collections.abc import Callable
from typing import Any

from django.test import Client

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.calls.models import Call
from huifang.calls.tests.conftest import FakeExchange
from huifang.customers.models import ContactPoint, Customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User


def test_dial_read_and_register_in_one_loop(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                                            fake_exchange: FakeExchange, login: Callable[[User], Client]) -> None:
    first, second = hold(customer_a, "risk_aml"), hold(customer_a, "satisfaction")
    client = login(agent_a)
    dialed = client.post("/api/v1/calls", {"customer_no": customer_a.customer_no,
                                           "callback_ids": [first.pk, second.pk]}, content_type="application/json")
    assert dialed.status_code == 201, dialed.content
    call = dialed.json()
    assert call["phone_masked"] == "138****1111" and "13800001111" not in dialed.content.decode()
    assert {row["callback_id"] for row in call["callbacks"]} == {first.pk, second.pk}
    serial = call["serial"]
    registered = client.post(f"/api/v1/callbacks/{first.pk}/outcome", {"outcome": "refused", "call_serial": serial},
                             content_type="application/json")
    assert registered.status_code == 200, registered.content
    assert registered.json()["state"] == State.FAILED
    read = client.get(f"/api/v1/calls/{serial}").json()
    outcomes = {row["callback_id"]: row["outcome"] for row in read["callbacks"]}
    assert outcomes == {first.pk: "refused", second.pk: None}
    assert read["recording"]["sha256"] and read["recording"]["url"].endswith("/recording/")
    again = client.post(f"/api/v1/callbacks/{first.pk}/outcome", {"outcome": "success", "call_serial": serial},
                        content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "outcome_refused"


def test_bad_input_answers_422(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                               fake_exchange: FakeExchange, login: Callable[[User], Client]) -> None:
    client = login(agent_a)
    callback = hold(customer_a)
    empty = client.post("/api/v1/calls", {"customer_no": customer_a.customer_no, "callback_ids": []},
                        content_type="application/json")
    assert empty.status_code == 422
    call = client.post("/api/v1/calls", {"customer_no": customer_a.customer_no, "callback_ids": [callback.pk]},
                       content_type="application/json").json()
    unknown = client.post(f"/api/v1/callbacks/{callback.pk}/outcome", {"outcome": "maybe",
                                                                       "call_serial": call["serial"]},
                          content_type="application/json")
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_input"


def test_a_phone_of_another_customer_is_refused(agent_a: User, customer_a: Customer, branch_a: Branch,
                                                hold: Callable[..., Callback], fake_exchange: FakeExchange,
                                                login: Callable[[User], Client]) -> None:
    other = Customer.objects.create(customer_no="0031010000099", name="赵六", branch=branch_a)
    foreign = ContactPoint.objects.create(customer=other, kind="mobile", number="13700003333")
    response = login(agent_a).post("/api/v1/calls", {"customer_no": customer_a.customer_no,
                                                     "callback_ids": [hold(customer_a).pk], "phone_id": foreign.pk},
                                   content_type="application/json")
    assert response.status_code == 409 and fake_exchange.dialed == []


def test_only_agents_dial(operator_a: User, customer_a: Customer, hold: Callable[..., Callback],
                          fake_exchange: FakeExchange, login: Callable[[User], Client]) -> None:
    response = login(operator_a).post("/api/v1/calls", {"customer_no": customer_a.customer_no,
                                                        "callback_ids": [hold(customer_a).pk]},
                                      content_type="application/json")
    assert response.status_code == 403 and not Call.objects.exists()


def test_another_branch_gets_404_for_customer_callback_and_call(agent_a: User, customer_a: Customer,
                                                                branch_b: Branch, make_user: Any,
                                                                hold: Callable[..., Callback],
                                                                fake_exchange: FakeExchange,
                                                                login: Callable[[User], Client]) -> None:
    callback = hold(customer_a)
    serial = login(agent_a).post("/api/v1/calls", {"customer_no": customer_a.customer_no,
                                                   "callback_ids": [callback.pk]},
                                 content_type="application/json").json()["serial"]
    client = login(make_user(branch_b, Role.AGENT))
    assert client.post("/api/v1/calls", {"customer_no": customer_a.customer_no, "callback_ids": [callback.pk]},
                       content_type="application/json").status_code == 404
    assert client.get(f"/api/v1/calls/{serial}").status_code == 404
    assert client.post(f"/api/v1/callbacks/{callback.pk}/outcome", {"outcome": "refused", "call_serial": serial},
                       content_type="application/json").status_code == 404
    callback.refresh_from_db()
    assert callback.state == State.IN_PROGRESS
