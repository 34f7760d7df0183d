"""A real Chromium: an HQ supervisor opens the monthly report, sees its chart drawn by ECharts, steps to the month
before without a page load (htmx), and the figures follow."""

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import Page

from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, OutcomeCode
from huifang.campaigns.models import CallbackType
from huifang.conftest import PASSWORD
from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.tests.browser import log_in

pytestmark = pytest.mark.browser
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _outcome(branch: Branch, agent: User, n: int, at: dt.datetime, code: str) -> None:
    customer = Customer.objects.create(customer_no=f"{branch.code}{n:09d}", name="客户", branch=branch)
    callback = Callback.objects.create(customer=customer, callback_type=CallbackType.objects.get(code="new_account"),
                                       period_key="t", branch=branch, due_date=at.date(), created_at=at,
                                       updated_at=at)
    call = Call.objects.create(serial=f"B{n:08d}", agent=agent, customer=customer, phone_masked="138****0000",
                               branch=branch, state="ended", dialed_at=at, answered_at=at,
                               ended_at=at + dt.timedelta(seconds=60), duration_seconds=50)
    CallCallback.objects.create(call=call, callback=callback, outcome=OutcomeCode.objects.get(code=code),
                                registered_by=agent, registered_at=at + dt.timedelta(seconds=70))


def test_the_monthly_report_draws_its_chart_and_steps_back_a_month(
        django_db_serialized_rollback: None, shipped_data: None, live_server: Any, page: Page, hq_supervisor: User,
        branch_a: Branch, agent_a: User) -> None:
    for n in range(7):  # October: 7 successes
        _outcome(branch_a, agent_a, n, dt.datetime(2026, 10, 5, 10, tzinfo=SHANGHAI), "success")
    for n in range(7, 10):  # September: 3
        _outcome(branch_a, agent_a, n, dt.datetime(2026, 9, 8, 10, tzinfo=SHANGHAI), "success")
    rollups.rebuild()
    log_in(page, live_server.url, "hq_supervisor", PASSWORD)
    page.click("nav.mainnav >> text=报表")
    page.wait_for_url(f"{live_server.url}/reports/")
    page.click("#report-list >> text=回访日报")
    page.wait_for_selector("#report-body")
    page.fill("input[name=period]", "2026-10")
    page.click(".report-picker button[type=submit]")
    page.wait_for_selector("[data-period='2026-10']")
    # ECharts drew into the element: a canvas, marked drawn by reports.js
    page.wait_for_selector("#chart-0[data-drawn='true'] canvas")
    assert "成功回访数" in page.inner_text("#report-body")
    assert page.locator(".figure-card .figure").first.inner_text() == "7"  # 外呼次数
    page.click("a[rel=prev]")
    page.wait_for_selector("[data-period='2026-09']")
    page.wait_for_selector("#chart-0[data-drawn='true'] canvas")
    assert page.url.endswith("period=2026-09")
    body = page.inner_text("#report-body")
    assert "2026年9月" in body
    # the total row of the table by branch: 3 attempts, 3 successes
    total = page.locator(".report-table").nth(2).locator("tr.total").inner_text().split()
    assert total[:4] == ["合计", "3", "3", "3"]
