"""The customer view (客户360) and the audited reveal of the ID number, on the page and in the API."""

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from huifang.audit.models import AuditEntry
from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.customers.schemas import ErrorOut
from huifang.customers.services import NoIdNumber, reveal_id_number
from huifang.customers.tests.conftest import SHANGHAI
from huifang.lib.fieldcrypt import field_cipher
from huifang.lib.masking import mask_id_number
from huifang.org.models import User

Login = Callable[[User], Client]
ID_NO = "31011519900307123X"
MASKED = "310***********123X"
PAGE = "/customers/0031010000001/"
PAGE_REVEAL = "/customers/0031010000001/id-number/reveal/"
API = "/api/v1/customers/0031010000001"
API_REVEAL = "/api/v1/customers/0031010000001/id-number/reveal"


def give_id_number(customer: Customer, number: str = ID_NO, id_type: str = "id_card") -> None:
    cipher = field_cipher()
    customer.id_type = id_type
    customer.id_no_encrypted = cipher.encrypt(number)
    customer.id_no_masked = mask_id_number(number)
    customer.id_no_hash = cipher.lookup_hash(number)
    customer.save()


@pytest.fixture
def customer_with_id(customer_a: Customer) -> Customer:
    give_id_number(customer_a)
    customer_a.products = ["易方达蓝筹精选", "510300"]
    customer_a.attributes = {"职业": "工程师", "学历": "本科"}
    customer_a.save()
    return customer_a


def _json(response: Any) -> Any:
    return json.loads(response.content)


# The page


def test_page_shows_the_masked_id_number_and_never_the_clear_one(login: Login, agent_a: User,
                                                                  customer_with_id: Customer) -> None:
    page = login(agent_a).get(PAGE).content.decode()
    assert "证件类型" in page and "居民身份证" in page
    assert MASKED in page
    assert ID_NO not in page
    assert "显示证件号码" in page
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_page_shows_products_tags_and_attributes(login: Login, agent_a: User, customer_with_id: Customer) -> None:
    page = login(agent_a).get(PAGE).content.decode()
    assert "易方达蓝筹精选" in page and "510300" in page
    assert "高净值" in page
    assert "职业" in page and "工程师" in page and "学历" in page and "本科" in page


def test_page_of_a_customer_without_id_number_says_so_and_offers_no_reveal(login: Login, agent_a: User,
                                                                           customer_a: Customer) -> None:
    page = login(agent_a).get(PAGE).content.decode()
    assert "未登记" in page
    assert "显示证件号码" not in page


def test_phone_validity_is_a_badge_and_changed_or_invalid_stand_out(login: Login, agent_a: User,
                                                                    customer_a: Customer) -> None:
    ContactPoint.objects.create(customer=customer_a, kind="mobile", number="13800001111", validity="changed")
    ContactPoint.objects.create(customer=customer_a, kind="mobile", number="13800002222", validity="invalid")
    page = login(agent_a).get(PAGE).content.decode()
    assert 'class="badge validity-changed">已变更<' in page
    assert 'class="badge validity-invalid">无效<' in page
    assert 'class="badge validity-valid">有效<' in page
    assert "主号码" in page
    assert "138****1111" in page and "13800001111" not in page


def test_events_are_newest_first_with_their_data_labelled(login: Login, agent_a: User,
                                                          customer_a: Customer) -> None:
    CustomerEvent.objects.create(customer=customer_a, type="manager_changed", source="crm",
                                 occurred_at=dt.datetime(2025, 7, 1, 9, 0, tzinfo=SHANGHAI),
                                 data={"old_manager": "王五", "new_manager": "赵六",
                                       "fields": ["手机号码", "地址"], "old_status": "normal",
                                       "new_status": "dormant", "ip": "10.1.2.3", "custom_key": "x"})
    page = login(agent_a).get(PAGE).content.decode()
    assert page.index("2025-07-01 09:00") < page.index("2025-06-01 15:30") < page.index("2025-03-14 10:00")
    assert "原客户经理" in page and "王五" in page and "新客户经理" in page and "赵六" in page
    assert "变更项目" in page and "手机号码、地址" in page
    assert "原状态" in page and "正常" in page and "新状态" in page and "休眠" in page
    assert "IP地址" in page and "10.1.2.3" in page
    assert "custom_key" in page
    assert "金额" in page and "650000.00" in page


def test_later_modules_sections_are_there_and_empty(login: Login, agent_a: User, customer_a: Customer) -> None:
    page = login(agent_a).get(PAGE).content.decode()
    sections = [("回访记录", "暂无回访记录。"), ("通话记录", "暂无通话记录。"), ("问题反馈", "暂无问题反馈。")]
    for heading, empty in sections:
        assert heading in page and empty in page


def test_page_reveal_answers_the_clear_number_and_audits_it_once(login: Login, agent_a: User,
                                                                 customer_with_id: Customer) -> None:
    response = login(agent_a).post(PAGE_REVEAL, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert ID_NO in response.content.decode()
    [entry] = AuditEntry.objects.filter(action="reveal")
    assert entry.actor == agent_a
    assert entry.changes["field"] == "id_no"
    assert entry.object_type == "customers.customer"
    assert entry.object_id == str(customer_with_id.pk)
    assert entry.branch_code == "3101"
    assert ID_NO not in entry.object_repr + entry.summary


def test_page_reveal_of_a_customer_without_id_number_is_400_and_not_audited(login: Login, agent_a: User,
                                                                             customer_a: Customer) -> None:
    response = login(agent_a).post(PAGE_REVEAL)
    assert response.status_code == 400
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_page_reveal_needs_post_and_login(client: Client, login: Login, agent_a: User,
                                          customer_with_id: Customer) -> None:
    assert client.post(PAGE_REVEAL).status_code == 302
    assert login(agent_a).get(PAGE_REVEAL).status_code == 405
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_agent_of_other_branch_gets_404_on_page_reveal(login: Login, agent_b: User,
                                                       customer_with_id: Customer) -> None:
    response = login(agent_b).post(PAGE_REVEAL)
    assert response.status_code == 404
    assert ID_NO not in response.content.decode()
    assert not AuditEntry.objects.filter(action="reveal").exists()


# The API


def test_api_detail_has_id_type_masked_id_number_and_products(login: Login, agent_a: User,
                                                              customer_with_id: Customer) -> None:
    response = login(agent_a).get(API)
    body = _json(response)
    assert body["id_type"] == "id_card"
    assert body["id_no_masked"] == MASKED
    assert body["products"] == ["易方达蓝筹精选", "510300"]
    assert ID_NO not in response.content.decode()


def test_api_detail_of_a_customer_without_id_number_has_empty_fields(login: Login, agent_a: User,
                                                                     customer_a: Customer) -> None:
    body = _json(login(agent_a).get(API))
    assert (body["id_type"], body["id_no_masked"], body["products"]) == ("", "", [])


def test_api_reveal_answers_the_clear_number_and_audits_it_once(login: Login, operator_a: User,
                                                                customer_with_id: Customer) -> None:
    response = login(operator_a).post(API_REVEAL)
    assert response.status_code == 200
    assert _json(response) == {"customer_no": "0031010000001", "id_type": "id_card", "id_no": ID_NO}
    [entry] = AuditEntry.objects.filter(action="reveal")
    assert entry.actor_name == "operator_a"
    assert entry.changes["field"] == "id_no"
    assert entry.object_id == str(customer_with_id.pk)


def test_api_reveal_of_a_customer_without_id_number_is_a_400_json_error(login: Login, agent_a: User,
                                                                        customer_a: Customer) -> None:
    response = login(agent_a).post(API_REVEAL)
    assert response.status_code == 400
    assert _json(response) == {"code": "no_id_number", "message": "该客户没有登记证件号码",
                               "detail": "该客户没有登记证件号码"}
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_api_reveal_by_user_of_other_branch_is_404_and_not_audited(login: Login, agent_b: User,
                                                                   customer_with_id: Customer) -> None:
    response = login(agent_b).post(API_REVEAL)
    assert response.status_code == 404
    assert _json(response)["code"] == "not_found"
    assert ID_NO not in response.content.decode()
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_the_error_schema_declares_what_the_error_handler_sends() -> None:
    assert set(ErrorOut.model_json_schema()["required"]) == {"code", "message", "detail"}


# The service


def test_service_raises_for_a_customer_without_id_number(agent_a: User, customer_a: Customer) -> None:
    with pytest.raises(NoIdNumber, match="该客户没有登记证件号码"):
        reveal_id_number(actor=agent_a, customer=customer_a)
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_service_records_the_reason(agent_a: User, customer_with_id: Customer) -> None:
    assert reveal_id_number(actor=agent_a, customer=customer_with_id, reason="核实身份") == ID_NO
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.changes == {"field": "id_no", "reason": "核实身份"}
