from datetime import timedelta
from typing import Any

import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from huifang.audit.models import AuditEntry
from huifang.conftest import PASSWORD
from huifang.org.models import User


def test_login_page_is_in_chinese(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert "登录回访平台" in response.content.decode()


def test_login_page_is_available_in_english(client: Client) -> None:
    response = client.get("/login/", headers={"accept-language": "en"})
    assert "Log in to the callback platform" in response.content.decode()


def test_anonymous_visitor_is_sent_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_good_login_reaches_home_and_is_audited(client: Client, agent_a: User) -> None:
    response = client.post("/login/", {"username": "agent_a", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "您好" in response.content.decode()
    entry = AuditEntry.objects.get(action="login")
    assert entry.actor_id == agent_a.pk
    assert entry.ip_address == "127.0.0.1"


def test_passwords_are_hashed_with_argon2(settings: Any, agent_a: User) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    agent_a.set_password(PASSWORD)
    agent_a.save()
    assert agent_a.password.startswith("argon2$argon2id$")
    assert agent_a.check_password(PASSWORD)


def test_repeated_bad_logins_lock_the_account_even_for_the_right_password(client: Client, agent_a: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/login/", {"username": "agent_a", "password": "wrong-password"})
        assert response.status_code in (200, 429)
    response = client.post("/login/", {"username": "agent_a", "password": PASSWORD})
    assert response.status_code == 429
    assert "账号已被暂时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session
    failures = AuditEntry.objects.filter(action="login_failed", object_repr="agent_a")
    assert failures.count() >= settings.AXES_FAILURE_LIMIT


def test_lock_out_of_one_user_does_not_lock_colleagues_behind_the_same_address(
    client: Client, agent_a: User, operator_a: User
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post("/login/", {"username": "agent_a", "password": "wrong-password"})
    response = client.post("/login/", {"username": "operator_a", "password": PASSWORD})
    assert response.status_code == 302


def test_idle_session_expires(client: Client, agent_a: User) -> None:
    client.post("/login/", {"username": "agent_a", "password": PASSWORD})
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_activity_keeps_the_session_alive(client: Client, agent_a: User) -> None:
    client.post("/login/", {"username": "agent_a", "password": PASSWORD})
    half = timedelta(seconds=settings.SESSION_COOKIE_AGE // 2 + 30)
    with time_machine.travel(timezone.now() + half):
        assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + half * 2):
        assert client.get("/").status_code == 200


def test_logout_ends_the_session(client: Client, agent_a: User) -> None:
    client.post("/login/", {"username": "agent_a", "password": PASSWORD})
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_administrator_lifts_a_lock_out_in_the_administration_pages(
    client: Client, agent_a: User, admin_user: User
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "agent_a", "password": "wrong-password"})
    attempt = AccessAttempt.objects.get(username="agent_a")
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/manage/axes/accessattempt/").status_code == 200
    response = admin.post(f"/manage/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert client.post("/login/", {"username": "agent_a", "password": PASSWORD}).status_code == 302
