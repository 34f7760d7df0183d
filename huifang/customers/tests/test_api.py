import json
from collections.abc import Callable
from typing import Any

from django.test import Client

from huifang.audit.models import AuditEntry
from huifang.customers.models import Customer
from huifang.customers.tests.conftest import LANDLINE_A, MOBILE_A, MOBILE_B, make_customer
from huifang.org.models import User

Login = Callable[[User], Client]
BASE = "/api/v1/customers"


def _json(response: Any) -> Any:
    return json.loads(response.content)


def test_list_answers_own_branch_only_with_masked_phones(login: Login, agent_a: User, customer_a: Customer,
                                                         customer_b: Customer) -> None:
    response = login(agent_a).get(BASE)
    assert response.status_code == 200
    body = _json(response)
    assert body["count"] == 1
    [item] = body["items"]
    assert item["customer_no"] == "0031010000001"
    assert item["branch_code"] == "3101"
    assert [phone["number_masked"] for phone in item["phones"]] == ["139****5678", "021-****5678"]
    assert item["email_masked"] == "z***@example.com"
    assert MOBILE_A not in response.content.decode() and LANDLINE_A not in response.content.decode()


def test_list_for_hq_holds_both_branches(login: Login, hq_supervisor: User, customer_a: Customer,
                                         customer_b: Customer) -> None:
    body = _json(login(hq_supervisor).get(BASE))
    assert [item["customer_no"] for item in body["items"]] == ["0031010000001", "0044010000001"]


def test_list_filters_by_q_and_pages_by_limit_offset(login: Login, hq_supervisor: User, customer_a: Customer,
                                                     customer_b: Customer) -> None:
    client = login(hq_supervisor)
    assert [i["name"] for i in _json(client.get(BASE, {"q": "李"}))["items"]] == ["李娜"]
    page = _json(client.get(BASE, {"limit": 1, "offset": 1}))
    assert page["count"] == 2
    assert [i["customer_no"] for i in page["items"]] == ["0044010000001"]


def test_list_rejects_a_limit_above_the_maximum(login: Login, agent_a: User) -> None:
    assert login(agent_a).get(BASE, {"limit": 1000}).status_code == 422


def test_api_requires_login(client: Client, customer_a: Customer) -> None:
    response = client.get(BASE)
    assert response.status_code == 401
    assert "未登录" in _json(response)["detail"]


def test_get_by_customer_number_answers_details_and_events(login: Login, agent_a: User,
                                                           customer_a: Customer) -> None:
    response = login(agent_a).get(f"{BASE}/0031010000001")
    assert response.status_code == 200
    body = _json(response)
    assert body["name"] == "张伟"
    assert body["tier"] == "gold"
    assert [event["type"] for event in body["events"]] == ["transfer_out", "account_opened"]
    assert body["events"][0]["data"] == {"amount": "650000.00"}
    assert MOBILE_A not in response.content.decode()


def test_customer_number_keeps_its_leading_zeros(login: Login, agent_a: User) -> None:
    make_customer(agent_a.branch, "000123", "王芳")  # type: ignore[arg-type]
    client = login(agent_a)
    assert _json(client.get(f"{BASE}/000123"))["name"] == "王芳"
    assert client.get(f"{BASE}/123").status_code == 404


def test_agent_of_other_branch_gets_404_by_customer_number(login: Login, agent_b: User,
                                                           customer_a: Customer) -> None:
    response = login(agent_b).get(f"{BASE}/0031010000001")
    assert response.status_code == 404
    assert _json(response)["detail"] == "客户 0031010000001 不存在"


def test_hq_gets_customers_of_both_branches(login: Login, hq_supervisor: User, customer_a: Customer,
                                            customer_b: Customer) -> None:
    client = login(hq_supervisor)
    assert client.get(f"{BASE}/0031010000001").status_code == 200
    assert client.get(f"{BASE}/0044010000001").status_code == 200


def test_malformed_customer_number_is_400_with_reason(login: Login, agent_a: User) -> None:
    response = login(agent_a).get(f"{BASE}/12ab")
    assert response.status_code == 400
    assert "客户编号格式不正确" in _json(response)["detail"]


def test_reveal_answers_clear_number_and_audits_it(login: Login, operator_a: User, customer_a: Customer) -> None:
    phone = customer_a.contact_points.get(kind="landline")
    response = login(operator_a).post(f"{BASE}/0031010000001/phones/{phone.pk}/reveal")
    assert response.status_code == 200
    assert _json(response) == {"id": phone.pk, "kind": "landline", "number": LANDLINE_A}
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor_name == "operator_a"
    assert entry.changes["field"] == "number"
    assert entry.object_id == str(phone.pk)


def test_reveal_by_agent_of_other_branch_is_404_and_not_audited(login: Login, agent_b: User,
                                                                 customer_a: Customer) -> None:
    phone = customer_a.contact_points.get(kind="mobile")
    response = login(agent_b).post(f"{BASE}/0031010000001/phones/{phone.pk}/reveal")
    assert response.status_code == 404
    assert MOBILE_A not in response.content.decode()
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_reveal_of_unknown_phone_is_404_with_reason(login: Login, agent_a: User, customer_a: Customer) -> None:
    response = login(agent_a).post(f"{BASE}/0031010000001/phones/999999/reveal")
    assert response.status_code == 404
    assert _json(response)["detail"] == "该客户没有这个号码"


def test_reveal_of_phone_of_another_customer_is_404(login: Login, hq_supervisor: User, customer_a: Customer,
                                                    customer_b: Customer) -> None:
    phone_b = customer_b.contact_points.get()
    response = login(hq_supervisor).post(f"{BASE}/0031010000001/phones/{phone_b.pk}/reveal")
    assert response.status_code == 404
    assert MOBILE_B not in response.content.decode()


def test_reveal_with_non_numeric_phone_id_is_422(login: Login, agent_a: User, customer_a: Customer) -> None:
    assert login(agent_a).post(f"{BASE}/0031010000001/phones/abc/reveal").status_code == 422
