"""The API's description and the `huifang` console command."""

import shutil
import subprocess
import sys
from pathlib import Path

from django.test import Client

from huifang.org.models import User


def test_openapi_document_is_served_and_lists_the_endpoints(client: Client, agent_a: User) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/org/users/{user_id}" in document["paths"]


def test_api_without_a_session_answers_401_in_chinese(client: Client) -> None:
    response = client.get("/api/v1/org/me")
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "message": "未登录或会话已过期",
                               "detail": "未登录或会话已过期"}


def test_api_me_answers_the_logged_in_user(client: Client, agent_a: User) -> None:
    client.force_login(agent_a)
    body = client.get("/api/v1/org/me").json()
    assert (body["username"], body["branch_code"], body["roles"]) == ("agent_a", "3101", ["agent"])


def _huifang() -> str:
    found = Path(sys.executable).with_name("huifang")
    return str(found) if found.exists() else (shutil.which("huifang") or "huifang")


def test_huifang_command_offers_every_management_command_under_one_name() -> None:
    result = subprocess.run([_huifang(), "help"], capture_output=True, text=True, timeout=60, check=True)
    for command in ("migrate", "demo_data", "serve", "worker", "scheduler", "calendar"):
        assert command in result.stdout


def test_huifang_command_accepts_dashes_in_command_names() -> None:
    result = subprocess.run([_huifang(), "demo-data", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--customers" in result.stdout
