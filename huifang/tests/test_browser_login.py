"""A real Chromium logs in as each role and sees a Chinese home page that fits the role."""

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from huifang.conftest import PASSWORD
from huifang.org.choices import Role
from huifang.org.models import Branch, User

pytestmark = pytest.mark.browser


def _log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


@pytest.mark.parametrize(
    ("role", "at_hq", "expected"),
    [
        (Role.AGENT, False, "我的小组"),
        (Role.BRANCH_OPERATOR, False, "各营业部概况"),
        (Role.HQ_SUPERVISOR, True, "最新审计记录"),
        (Role.AUDITOR, True, "查询审计日志"),
        (Role.ADMIN, True, "管理后台"),
    ],
)
def test_each_role_logs_in_and_sees_its_chinese_home_page(
    live_server: Any, page: Page, hq: Branch, branch_a: Branch, team_a: Any,
    make_user: Callable[..., User], role: str, at_hq: bool, expected: str,
) -> None:
    make_user(hq if at_hq else branch_a, role, username="someone", name="王小明", team=None if at_hq else team_a)
    _log_in(page, live_server.url, "someone")
    page.wait_for_url(f"{live_server.url}/")
    body = page.inner_text("body")
    assert "您好，王小明" in body
    assert expected in body
    assert str(dict(Role.choices)[role]) in body
    page.screenshot(path=f"/tmp/huifang-home-{role}.png", full_page=True)


def test_wrong_password_shows_a_chinese_error_and_lock_out_follows(
    live_server: Any, page: Page, settings: Any, agent_a: User
) -> None:
    _log_in(page, live_server.url, "agent_a", "not-the-password")
    assert "请输入一个正确的" in page.inner_text("body")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(page, live_server.url, "agent_a", "not-the-password")
    _log_in(page, live_server.url, "agent_a")
    assert "账号已被暂时锁定" in page.inner_text("body")
