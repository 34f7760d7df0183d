"""A real Chromium: an HQ supervisor opens the rules page, runs a dry run and sees what would be created."""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page

from huifang.callbacks.models import Callback, RuleRun
from huifang.conftest import PASSWORD
from huifang.customers.models import CustomerEvent
from huifang.customers.tests.conftest import make_customer
from huifang.org.models import Branch, User

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")


def test_a_dry_run_from_the_rules_page_counts_and_creates_nothing(
        django_db_serialized_rollback: None, shipped_data: None, live_server: Any, page: Page, hq_supervisor: User,
        branch_a: Branch) -> None:
    # the catalogue and the calendar come from data migrations: serialized rollback keeps them for this test
    customer = make_customer(branch_a, "0031010000001", "张伟")
    CustomerEvent.objects.create(customer=customer, type="risk_flagged", source="test", data={},
                                 occurred_at=dt.datetime(2026, 9, 30, 11, tzinfo=SH))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "hq_supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav.mainnav >> text=触发规则")
    page.wait_for_url(f"{live_server.url}/callbacks/rules/")
    page.fill("#run-form input[name=as_of]", "2026-09-30")
    page.check("#run-form input[name=dry_run]")
    page.click("#run-form button[type=submit]")
    page.wait_for_selector("#run-report")
    report = page.inner_text("#run-report")
    assert "将生成 1 条" in report
    assert "上海浦东营业部" in report and "风控平台(反洗钱)回访" in report
    assert not Callback.objects.exists()
    assert RuleRun.objects.get().dry_run
    page.screenshot(path="/tmp/huifang-rules-dry-run.png", full_page=True)
