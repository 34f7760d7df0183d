from django.test import Client
from django.utils import timezone

from huifang.audit.models import AuditEntry
from huifang.audit.services import record_action
from huifang.org.models import User


def test_auditor_searches_the_log_by_user_and_action(login, auditor: User, agent_a: User) -> None:
    record_action(actor=agent_a, action="export", object_type="customers.customer", summary="导出客户名单")
    record_action(actor=auditor, action="login", summary="登录成功")
    response = login(auditor).get("/audit/", {"actor": "agent_a", "action": "export"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "导出客户名单" in page
    assert "登录成功" not in page


def test_htmx_search_returns_only_the_rows(login, hq_supervisor: User) -> None:
    record_action(actor=hq_supervisor, action="update", summary="修改营业部")
    response = login(hq_supervisor).get("/audit/", {"text": "营业部"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "修改营业部" in response.content.decode()


def test_a_reversed_period_is_refused_with_a_message(login, auditor: User) -> None:
    response = login(auditor).get("/audit/", {"since": "2026-05-01", "until": "2026-04-01"})
    assert "起始日期晚于截止日期" in response.content.decode()


def test_a_malformed_date_is_refused_with_a_message(login, auditor: User) -> None:
    response = login(auditor).get("/audit/", {"since": "2026-13-45"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_agents_and_branch_operators_cannot_open_the_audit_log(login, agent_a: User, operator_a: User) -> None:
    assert login(agent_a).get("/audit/").status_code == 403
    assert login(operator_a).get("/audit/").status_code == 403


def test_api_search_answers_hq_and_refuses_agents(client: Client, hq_supervisor: User, agent_a: User) -> None:
    record_action(actor=agent_a, action="export", summary="导出")
    client.force_login(hq_supervisor)
    response = client.get("/api/v1/audit/entries", {"action": "export", "since": timezone.localdate().isoformat()})
    assert response.status_code == 200
    assert [e["summary"] for e in response.json()] == ["导出"]
    client.force_login(agent_a)
    assert client.get("/api/v1/audit/entries").status_code == 403


def test_the_api_offers_no_way_to_change_an_entry(client: Client, auditor: User) -> None:
    entry = record_action(actor=auditor, action="login")
    client.force_login(auditor)
    for method in (client.put, client.patch, client.delete):
        assert method(f"/api/v1/audit/entries/{entry.pk}").status_code in (404, 405)
    assert AuditEntry.objects.count() >= 1
