"""The agent's workbench (坐席工作台): next, all of the customer, one call for all, questionnaires, outcomes,
确认完成, release, the event stream; who may use it."""

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.callbacks.responses import start_callback_response
from huifang.callbacks.services import CallbackError, create_callback
from huifang.calls.models import Call
from huifang.calls.tests.conftest import FakeExchange
from huifang.campaigns.models import CallbackType
from huifang.customers.models import ContactPoint, Customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.surveys import services as surveys
from huifang.surveys.choices import ResponseStatus

SH = ZoneInfo("Asia/Shanghai")
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def working_hours() -> Iterator[None]:
    """A Monday morning, inside every type's calling hours."""
    with time_machine.travel(dt.datetime(2026, 1, 5, 10, 0, tzinfo=SH), tick=True):
        yield


def assign(customer: Customer, agent: User, code: str = "risk_aml") -> Callback:
    return create_callback(customer=customer, callback_type=CallbackType.objects.get(code=code), origin="api",
                           agent=agent, due=dt.date(2026, 1, 31), period=f"wb-{code}", today=dt.date(2026, 1, 5),
                           reason=f"测试原因 {code}")


@pytest.fixture
def two_callbacks(customer_a: Customer, agent_a: User) -> list[Callback]:
    return [assign(customer_a, agent_a, "risk_aml"), assign(customer_a, agent_a, "large_transfer")]


@pytest.fixture
def agent_client(login: Callable[[User], Client], agent_a: User) -> Client:
    return login(agent_a)


def post(client: Client, name: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return client.post(reverse(f"calls:{name}", kwargs=kwargs or None), data or {}, headers=HTMX)


def answer_all(client: Client, callback: Callback) -> None:
    """Answer every question on the callback's path through the workbench, then finish the questionnaire."""
    callback.refresh_from_db()
    response = callback.response
    assert response is not None
    for _ in range(30):
        response.refresh_from_db()
        if not response.current_question:
            break
        question = surveys.definition_of(response.version).question(response.current_question)
        assert question is not None
        value: Any = {"yes_no": "yes", "text": "好的", "number": "1", "date": "2026-01-05"}.get(question.kind)
        if question.kind in ("single", "multiple"):
            value = question.options[0].code
        elif question.kind in ("rating", "nps"):
            value = str(question.scale_max)
        answered = post(client, "workbench_answer", {"question": question.code, "value": value},
                        callback_id=callback.pk)
        assert answered.status_code == 200, answered.content.decode()
    finished = post(client, "workbench_finish", callback_id=callback.pk)
    assert finished.status_code == 200
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETE


def test_next_without_work_says_why(agent_client: Client) -> None:
    page = post(agent_client, "workbench_next")
    assert page.status_code == 200
    assert "没有分配给您的回访任务" in page.content.decode()


def test_next_outside_calling_hours_says_so(agent_client: Client, two_callbacks: list[Callback]) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 5, 8, 30, tzinfo=SH)):
        page = post(agent_client, "workbench_next")
    assert "均未到可呼叫时间" in page.content.decode()
    assert not Callback.objects.filter(state=State.IN_PROGRESS).exists()


def test_next_opens_the_customer_with_all_of_their_callbacks(agent_client: Client, two_callbacks: list[Callback],
                                                             customer_a: Customer) -> None:
    page = post(agent_client, "workbench_next")
    html = page.content.decode()
    assert customer_a.name in html
    for callback in two_callbacks:
        callback.refresh_from_db()
        assert callback.state == State.IN_PROGRESS
        assert f'id="callback-{callback.pk}"' in html
        assert callback.reason in html
        # each its own questionnaire, started for it
        assert callback.response is not None and callback.response.status == ResponseStatus.IN_PROGRESS
        assert f'id="questionnaire-{callback.pk}"' in html
    # phones masked, the best one chosen
    assert "13800001111" not in html and "138****1111" in html
    primary = ContactPoint.objects.get(number="13800001111")
    assert re.search(rf'value="{primary.pk}"\s+checked', html)
    # the full page shows the same panel and the nav link
    full = agent_client.get(reverse("calls:workbench")).content.decode()
    assert f'id="callback-{two_callbacks[1].pk}"' in full
    assert 'href="/calls/workbench/">工作台</a>' in full
    # holding them, the agent cannot take another customer
    again = post(agent_client, "workbench_next")
    assert "请先完成或放回当前客户的回访任务" in again.content.decode()


def test_dial_makes_one_call_whose_serial_shows_on_every_callback(
        agent_client: Client, two_callbacks: list[Callback], fake_exchange: FakeExchange) -> None:
    post(agent_client, "workbench_next")
    page = post(agent_client, "workbench_dial")
    assert page.status_code == 200
    call = Call.objects.get()
    assert set(call.callbacks.values_list("pk", flat=True)) == {c.pk for c in two_callbacks}
    assert fake_exchange.dialed[0]["number"] == "13800001111"
    html = page.content.decode()
    assert html.count(f'data-role="serial">{call.serial}<') == 2
    assert "已结束" in html and 'id="recording-player"' in html
    assert reverse("calls:recording", kwargs={"serial": call.serial}) in html
    status = agent_client.get(reverse("calls:workbench_call", kwargs={"serial": call.serial}), headers=HTMX)
    assert call.serial in status.content.decode()


def test_dial_on_the_chosen_phone(agent_client: Client, two_callbacks: list[Callback],
                                  fake_exchange: FakeExchange) -> None:
    post(agent_client, "workbench_next")
    other = ContactPoint.objects.get(number="13900002222")
    post(agent_client, "workbench_dial", {"phone": other.pk})
    assert fake_exchange.dialed[0]["number"] == "13900002222"


def test_outcome_then_confirm_needs_the_questionnaire_complete(
        agent_client: Client, two_callbacks: list[Callback], fake_exchange: FakeExchange) -> None:
    first, second = two_callbacks
    post(agent_client, "workbench_next")
    post(agent_client, "workbench_dial")
    early = post(agent_client, "workbench_confirm", callback_id=first.pk)
    assert early.status_code == 422 and "问卷尚未完成" in early.content.decode()
    registered = post(agent_client, "workbench_outcome", {"outcome": "success", "note": "客户配合"},
                      callback_id=first.pk)
    assert registered.status_code == 200
    assert "本次通话结果：<strong>成功回访</strong>" in registered.content.decode()
    still = post(agent_client, "workbench_confirm", callback_id=first.pk)
    assert still.status_code == 422 and "问卷尚未完成" in still.content.decode()
    answer_all(agent_client, first)
    done = post(agent_client, "workbench_confirm", callback_id=first.pk)
    assert done.status_code == 200 and "已完成" in done.content.decode()
    assert "HX-Trigger" not in done  # the other callback is still held: the panel stays as it is
    first.refresh_from_db()
    assert first.state == State.DONE
    # the other callback of the same call is untouched
    second.refresh_from_db()
    assert second.state == State.IN_PROGRESS


def test_an_appointment_for_anyone_needs_a_future_time(
        agent_client: Client, two_callbacks: list[Callback], fake_exchange: FakeExchange) -> None:
    first = two_callbacks[0]
    post(agent_client, "workbench_next")
    post(agent_client, "workbench_dial")
    refused = post(agent_client, "workbench_outcome", {"outcome": "appointment"}, callback_id=first.pk)
    assert refused.status_code == 422 and "预约下次需要一个将来的时间" in refused.content.decode()
    booked = post(agent_client, "workbench_outcome",
                  {"outcome": "appointment", "appointment_at": "2026-01-06T15:30", "for_anyone": "1"},
                  callback_id=first.pk)
    assert booked.status_code == 200
    first.refresh_from_db()
    assert first.state == State.NEW and first.agent_id is None
    assert first.appointment_at == dt.datetime(2026, 1, 6, 15, 30, tzinfo=SH)
    # the panel still shows it, with its new state
    assert "待分配" in agent_client.get(reverse("calls:workbench"), headers=HTMX).content.decode()


def test_outcome_before_dialing_is_refused(agent_client: Client, two_callbacks: list[Callback]) -> None:
    post(agent_client, "workbench_next")
    refused = post(agent_client, "workbench_outcome", {"outcome": "success"}, callback_id=two_callbacks[0].pk)
    assert refused.status_code == 422 and "请先拨号" in refused.content.decode()


def test_release_hands_every_held_callback_back(agent_client: Client, two_callbacks: list[Callback],
                                                agent_a: User) -> None:
    post(agent_client, "workbench_next")
    page = post(agent_client, "workbench_release")
    assert 'id="next-button"' in page.content.decode()
    for callback in two_callbacks:
        callback.refresh_from_db()
        assert (callback.state, callback.agent_id) == (State.ASSIGNED, agent_a.pk)


def test_hang_up_of_an_ended_call_only_shows_it(agent_client: Client, two_callbacks: list[Callback],
                                                fake_exchange: FakeExchange) -> None:
    post(agent_client, "workbench_next")
    post(agent_client, "workbench_dial")
    call = Call.objects.get()
    page = post(agent_client, "workbench_hangup", serial=call.serial)
    assert page.status_code == 200 and "已结束" in page.content.decode()


def test_another_branchs_callback_never_shows(agent_client: Client, branch_b: Branch, agent_b: User) -> None:
    customer_b = Customer.objects.create(customer_no="0044010000009", name="广州客户", branch=branch_b)
    ContactPoint.objects.create(customer=customer_b, kind="mobile", number="13700003333", is_primary=True)
    pooled = create_callback(customer=customer_b, callback_type=CallbackType.objects.get(code="risk_aml"),
                             origin="api", due=dt.date(2026, 1, 31), period="wb-b", today=dt.date(2026, 1, 5))
    page = post(agent_client, "workbench_next")
    assert "广州客户" not in page.content.decode()
    assert "没有分配给您的回访任务" in page.content.decode()
    # acting on it by its id: not found
    assert post(agent_client, "workbench_answer", {"question": "Q1", "value": "yes"},
                callback_id=pooled.pk).status_code == 404
    assert post(agent_client, "workbench_confirm", callback_id=pooled.pk).status_code == 404
    pooled.refresh_from_db()
    assert pooled.state == State.NEW


def test_another_agents_call_is_not_found(agent_client: Client, two_callbacks: list[Callback],
                                          fake_exchange: FakeExchange, make_user: Callable[..., User],
                                          branch_a: Branch, login: Callable[[User], Client]) -> None:
    post(agent_client, "workbench_next")
    post(agent_client, "workbench_dial")
    call = Call.objects.get()
    other = Client()
    other.force_login(make_user(branch_a, Role.AGENT))
    assert other.get(reverse("calls:workbench_call", kwargs={"serial": call.serial})).status_code == 404
    assert other.post(reverse("calls:workbench_hangup", kwargs={"serial": call.serial})).status_code == 404


def test_a_user_without_an_agent_number_gets_403(client: Client, make_user: Callable[..., User],
                                                 branch_a: Branch, operator_a: User) -> None:
    client.force_login(make_user(branch_a, Role.AGENT, agent_no=None))
    assert client.get(reverse("calls:workbench")).status_code == 403
    assert client.post(reverse("calls:workbench_next")).status_code == 403
    assert client.get(reverse("calls:workbench_events")).status_code == 403
    # an operator has an agent number in the test cast but not calls.add_call
    client.force_login(operator_a)
    assert client.get(reverse("calls:workbench")).status_code == 403
    assert "工作台</a>" not in client.get(reverse("home")).content.decode()


def test_the_event_stream_sends_the_count_and_the_call(agent_client: Client, two_callbacks: list[Callback],
                                                       settings: Any) -> None:
    settings.WORKBENCH_EVENTS_INTERVAL = 0.01
    settings.WORKBENCH_EVENTS_LIFETIME = 0.03
    response: Any = agent_client.get(reverse("calls:workbench_events"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response.is_async

    async def read() -> list[bytes]:
        return [bytes(chunk) async for chunk in response.streaming_content]

    body = b"".join(async_to_sync(read)()).decode()
    assert body.startswith("retry: ")
    assert "event: status\ndata: " in body
    assert '"available":2' in body and "有 2 个可回访任务" in body
    assert '"call":null' in body


def test_start_callback_response_reuses_an_open_one_and_needs_the_holder(
        two_callbacks: list[Callback], agent_a: User, agent_b: User) -> None:
    callback = two_callbacks[0]
    with pytest.raises(CallbackError):
        start_callback_response(callback=callback, by=agent_a)  # assigned, not yet held
    Callback.objects.filter(pk=callback.pk).update(state=State.IN_PROGRESS)
    callback.refresh_from_db()
    first = start_callback_response(callback=callback, by=agent_a)
    assert start_callback_response(callback=callback, by=agent_a) == first
    with pytest.raises(CallbackError):
        start_callback_response(callback=callback, by=agent_b)
    surveys.finish_response(actor=agent_a, response=first)  # incomplete: a new one starts
    assert start_callback_response(callback=callback, by=agent_a) != first
