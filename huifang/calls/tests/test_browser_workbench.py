"""A real Chromium on the whole workbench loop: an agent logs in, takes the next customer, who has two callbacks,
dials once (the simulated exchange answers), answers both questionnaires, registers 成功回访 for both, confirms
both 已完成, hangs up and plays the recording; the call serial is on both callbacks."""

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import OperationalError, connection
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page

from huifang.callbacks.models import Callback
from huifang.callbacks.services import create_callback
from huifang.calls import services
from huifang.calls.models import Call, CallRecording
from huifang.campaigns.models import CallbackType
from huifang.conftest import PASSWORD
from huifang.customers.models import ContactPoint, Customer
from huifang.integrations.telephony.base import CallEvent
from huifang.integrations.telephony.simulated import SimulatedExchange
from huifang.org.models import Branch, User

pytestmark = [
    pytest.mark.browser,
    # the live server is WSGI: it serves the event stream only once it ends (uvicorn streams it)
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators"),
]
TIMEOUT = 15_000


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    yield page
    context.close()


@pytest.fixture
def calling_hours() -> Iterator[dt.date]:
    """Today at 10:00 local when now is outside every type's calling hours (today keeps the session cookie
    valid in the browser, which has its own clock)."""
    local = timezone.localtime()
    if dt.time(9, 30) <= local.time() <= dt.time(20, 0):
        yield local.date()
        return
    with time_machine.travel(local.replace(hour=10, minute=0, second=0, microsecond=0), tick=True):
        yield local.date()


@pytest.fixture
def simulated_exchange(tmp_path: Path, settings: Any) -> Iterator[SimulatedExchange]:
    """The demo's exchange, answering at once after a short ring, its events on its own thread."""
    settings.VAR_DIR = tmp_path / "var"
    exchange = SimulatedExchange(sink=_patient_delivery, recordings_dir=tmp_path / "incoming", script=["answered"],
                                 ring_seconds=0.4, speech="tones", seed=7)
    services.use_exchange(exchange)
    yield exchange
    services.use_exchange(None)


def _patient_delivery(event: CallEvent) -> None:
    """services._deliver, retried while the test database is locked: the in-memory SQLite of the test run is
    shared between threads with table locks that fail at once instead of waiting (a deployment's file database
    waits), and the exchange's events come on its own thread while the live server's thread writes."""
    try:
        for _ in range(200):
            try:
                services.handle_call_event(event)
                return
            except OperationalError as error:
                if "locked" not in str(error):
                    raise
                time.sleep(0.05)
    finally:
        connection.close()


def answer_questionnaire(section: Locator) -> None:
    """Answer every question the section's questionnaire asks (the first choice, or a short text), then finish."""
    for _ in range(20):
        current = section.locator(".current-question")
        if current.count() == 0:
            break
        code = current.get_attribute("data-question")
        form = current.locator("form.question-form")
        choice = form.locator("input[type=radio], input[type=checkbox]")
        if choice.count():
            choice.first.check()
        elif form.locator("textarea").count():
            form.locator("textarea").fill("好的")
        else:
            form.locator("input[name=value]").fill("1")
        form.locator("button[type=submit]").click()
        section.locator(f'.answers tr[data-question="{code}"]').wait_for()
    section.locator("form.finish-form button").click()
    section.locator('[data-role="response-status"]', has_text="已完成").wait_for()


def test_an_agent_works_two_callbacks_of_one_customer_in_one_call(
        django_db_serialized_rollback: None, shipped_data: None, live_server: Any, page: Page, branch_a: Branch,
        agent_a: User,
        calling_hours: dt.date, simulated_exchange: SimulatedExchange, settings: Any) -> None:
    # the callback types, questionnaires and outcome codes come from data migrations (serialized rollback)
    settings.WORKBENCH_EVENTS_INTERVAL = 0.5
    settings.WORKBENCH_EVENTS_LIFETIME = 2
    customer = Customer.objects.create(customer_no="0031010000021", name="赵敏", branch=branch_a,
                                       products=["沪深300指数基金"])
    ContactPoint.objects.create(customer=customer, kind="mobile", number="13800001234", is_primary=True)
    callbacks = [create_callback(customer=customer, callback_type=CallbackType.objects.get(code=code),
                                 origin="api", agent=agent_a, due=calling_hours + dt.timedelta(days=10),
                                 period=f"browser-{code}", today=calling_hours, reason=f"浏览器测试 {code}")
                 for code in ("risk_aml", "large_transfer")]

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "agent_a")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav.mainnav >> text=工作台")
    page.wait_for_url(f"{live_server.url}/calls/workbench/")
    page.locator("#available-badge", has_text="有 2 个可回访任务").wait_for()

    page.click("#next-button")
    sections = [page.locator(f"#callback-{callback.pk}") for callback in callbacks]
    for section in sections:
        section.wait_for()
    assert "赵敏" in page.inner_text("#wb-customer")
    assert "138****1234" in page.inner_text("#wb-call")

    page.click("#dial-button")
    page.locator("#call-state", has_text="已接通").wait_for()
    serial = Call.objects.get().serial
    for section in sections:
        assert section.locator('[data-role="serial"]').inner_text() == serial

    # a refusal (422) is shown where the agent acted: 确认完成 before the questionnaire is complete
    sections[0].locator("form.confirm-form button").click()
    sections[0].get_by_text("问卷尚未完成").first.wait_for()
    for section in sections:
        answer_questionnaire(section)
    for section in sections:
        section.locator("form.outcome-form select[name=outcome]").select_option("success")
        section.locator("form.outcome-form button[type=submit]").click()
        section.locator('[data-role="outcome"]', has_text="成功回访").wait_for()
    for section in sections:
        section.locator("form.confirm-form button").click()
        section.locator('[data-role="state"]', has_text="已完成").wait_for()
    # nothing held any more: the panel offers the next customer
    page.locator("#next-button").wait_for()
    assert page.locator("#release-button").count() == 0

    page.click("#hangup-button")
    page.locator("#call-state", has_text="已结束").wait_for()
    player = page.locator("#recording-player")
    player.wait_for()
    page.wait_for_function("document.getElementById('recording-player').readyState >= 1", timeout=TIMEOUT)
    src = player.get_attribute("src")
    status = page.evaluate("src => fetch(src, {headers: {Range: 'bytes=0-99'}}).then(r => r.status)", src)
    assert status == 206

    for section in sections:
        assert section.locator('[data-role="serial"]').inner_text() == serial
        assert section.locator('[data-role="state"]').inner_text() == "已完成"
    page.wait_for_timeout(2500)  # the event stream's news (stale or not) never takes the call back
    assert page.inner_text("#call-state") == "已结束"
    assert {c.state for c in Callback.objects.filter(pk__in=[c.pk for c in callbacks])} == {"done"}
    call = Call.objects.get()
    assert call.state == "ended" and set(call.callbacks.values_list("pk", flat=True)) == {c.pk for c in callbacks}
    assert CallRecording.objects.filter(call=call).exists()
    page.screenshot(path="/tmp/huifang-workbench.png", full_page=True)
    # leave no request of this page running into the next test's database
    page.goto("about:blank")
    time.sleep(settings.WORKBENCH_EVENTS_LIFETIME + 0.5)
