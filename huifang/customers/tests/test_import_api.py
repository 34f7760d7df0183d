"""The batch API: same validation and result as the file import; each item whole or not at all; an API client
limited to one branch neither reads nor writes another branch's customers; events idempotent on
(source, external_id)."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from huifang.customers.imports.services import import_file
from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.org.models import Branch
from huifang.org.services import create_api_client

GOOD_ID = "330106195511180131"


def api_client(*branches: Branch, scopes: list[str] | None = None, name: str = "crm") -> Client:
    _, token = create_api_client(name=name, branches=list(branches), all_branches=not branches,
                                 scopes=scopes or ["customers:read", "customers:write", "events:write"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def push(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def item(**extra: Any) -> dict[str, Any]:
    base = {"customer_no": "0031010000001", "name": "张伟", "branch": "3101", "mobile": "13912345678",
            "open_date": "2024-01-05"}
    return {**base, **extra}


def snapshot() -> list[tuple[Any, ...]]:
    customers = Customer.objects.order_by("customer_no").values_list(
        "customer_no", "name", "branch__code", "manager_id", "tier", "open_date", "status", "risk_rating", "assets",
        "email", "id_type", "id_no_masked", "id_no_hash")
    phones = ContactPoint.objects.order_by("customer__customer_no", "number").values_list(
        "customer__customer_no", "kind", "number", "last4", "validity", "is_primary")
    return [*customers, *phones]


def test_a_batch_creates_then_leaves_unchanged(branch_a: Branch) -> None:
    client = api_client()
    body = {"customers": [item(id_type="身份证", id_no=GOOD_ID, risk_level="C3", assets="1000.5"),
                          item(customer_no="0031010000002", name="李娜", mobile="139 1234 5679")]}
    first = push(client, "/api/v1/customers/batch", body)
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0, "errors": []}
    second = push(client, "/api/v1/customers/batch", body).json()
    assert (second["created"], second["unchanged"]) == (0, 2)
    customer = Customer.objects.get(customer_no="0031010000001")
    assert customer.id_no_masked == "330***********0131" and str(customer.assets) == "1000.50"
    assert ContactPoint.objects.get(customer__customer_no="0031010000002").number == "13912345679"


def test_each_refused_item_is_named_by_index_and_field_and_nothing_of_it_is_written(branch_a: Branch) -> None:
    body = {"customers": [
        item(),
        item(customer_no="0031010000002", mobile="12345", email="不是邮箱"),
        item(customer_no="0031010000003", open_date="2024-02-30"),
        item(customer_no="0031010000004", colour="红"),
    ]}
    answer = push(api_client(), "/api/v1/customers/batch", body).json()
    assert (answer["created"], answer["rejected"]) == (1, 3)
    errors = {(e["index"], e["field"]) for e in answer["errors"]}
    assert errors == {(1, "mobile"), (1, "email"), (2, "open_date"), (3, "")}
    assert "未知字段：colour" in answer["errors"][-1]["message"]
    assert list(Customer.objects.values_list("customer_no", flat=True)) == ["0031010000001"]


def test_the_api_and_the_file_import_give_the_same_result(branch_a: Branch, tmp_path: Path,
                                                          django_db_blocker: Any) -> None:
    rows = [item(risk_level="稳健型", id_no=GOOD_ID, status="正常", tier="金卡", assets="12,345.60"),
            item(customer_no="0031010000002", name=" 李 娜 ", mobile="+86 139-1234-5679", landline="021-62345678")]
    push(api_client(), "/api/v1/customers/batch", {"customers": rows})
    through_api = snapshot()
    Customer.objects.all().delete()
    header = "客户编号,客户姓名,营业部,手机号码,固定电话,开户日期,风险等级,证件号码,客户状态,客户等级,资产\n"
    lines = [",".join(['"' + str(r.get(k, "")) + '"' for k in ("customer_no", "name", "branch", "mobile", "landline",
                                                              "open_date", "risk_level", "id_no", "status", "tier",
                                                              "assets")]) for r in rows]
    path = tmp_path / "same.csv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    result = import_file(path=path, kind="customers", actor=None, allowed_branch_ids=None, source="api:crm")
    assert result.counts()["created"] == 2, result.errors
    assert snapshot() == through_api


def test_a_client_of_one_branch_can_neither_read_nor_write_another_branchs_customers(
        branch_a: Branch, branch_b: Branch) -> None:
    push(api_client(name="hq"), "/api/v1/customers/batch", {"customers": [item()]})
    client_b = api_client(branch_b, name="crm-b")
    assert client_b.get("/api/v1/customers/0031010000001").status_code == 404
    answer = push(client_b, "/api/v1/customers/batch", {"customers": [
        item(name="改名"),  # branch A's customer
        item(customer_no="0031010000002", name="新客户"),  # into branch A
        item(customer_no="0044010000001", name="赵强", branch="4401"),  # its own branch: fine
    ]}).json()
    assert (answer["created"], answer["rejected"]) == (1, 2)
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [(0, "branch"), (1, "branch")]
    assert Customer.objects.get(customer_no="0031010000001").name == "张伟"
    assert not Customer.objects.filter(customer_no="0031010000002").exists()


def test_a_client_without_the_write_scope_is_refused(branch_a: Branch) -> None:
    response = push(api_client(scopes=["customers:read"]), "/api/v1/customers/batch", {"customers": [item()]})
    assert response.status_code == 403 and response.json()["code"] == "scope_missing"
    assert not Customer.objects.exists()


def test_more_than_ten_thousand_items_are_refused_whole(branch_a: Branch) -> None:
    response = push(api_client(), "/api/v1/customers/batch", {"customers": [item()] * 10_001})
    assert response.status_code == 413 and "10000" in response.json()["message"]
    assert not Customer.objects.exists()


def test_events_are_idempotent_on_source_and_external_id(branch_a: Branch, branch_b: Branch) -> None:
    client = api_client()
    push(client, "/api/v1/customers/batch", {"customers": [item()]})
    event = {"customer_no": "0031010000001", "type": "transfer_out", "occurred_at": "2026-11-30T15:05:00+08:00",
             "data": {"amount": 650000}, "source": "counter", "external_id": "T-1"}
    first = push(client, "/api/v1/events/batch", {"events": [event]}).json()
    assert (first["created"], first["rejected"]) == (1, 0), first
    again = push(client, "/api/v1/events/batch", {"events": [event]}).json()
    assert (again["created"], again["unchanged"]) == (0, 1)
    corrected = push(client, "/api/v1/events/batch", {"events": [{**event, "data": {"amount": 700000}}]}).json()
    assert corrected["updated"] == 1
    stored = CustomerEvent.objects.get(external_id="T-1")
    assert stored.data == {"amount": "700000.00"}
    assert stored.occurred_at == dt.datetime(2026, 11, 30, 7, 5, tzinfo=dt.UTC)


def test_signing_and_payment_times_are_stored_as_instants(branch_a: Branch) -> None:
    client = api_client()
    push(client, "/api/v1/customers/batch", {"customers": [item()]})
    event = {"customer_no": "0031010000001", "type": "private_fund_signed", "occurred_at": "2026-11-30T10:00:00",
             "data": {"signed_at": "2026-11-30 10:00", "paid_at": "20261201093000"}, "source": "counter",
             "external_id": "PF-1"}
    answer = push(client, "/api/v1/events/batch", {"events": [event]}).json()
    assert answer["created"] == 1, answer
    stored = CustomerEvent.objects.get(external_id="PF-1").data
    assert stored == {"signed_at": "2026-11-30T10:00:00+08:00", "paid_at": "2026-12-01T09:30:00+08:00"}
    bad = push(client, "/api/v1/events/batch", {"events": [{**event, "external_id": "PF-2",
                                                            "data": {"paid_at": "明天"}}]}).json()
    assert bad["rejected"] == 1 and bad["errors"][0]["field"] == "paid_at"
    assert "到账时间" in bad["errors"][0]["message"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"customer_no": "0099999999999"}, "customer_no", "客户不存在"),
    ({"type": "lottery"}, "type", "无法识别的事件类型"),
    ({"occurred_at": "yesterday"}, "occurred_at", "发生时间"),
    ({"external_id": ""}, "external_id", "外部编号为空"),
    ({"data": {"ip": "999.1.1.1"}}, "ip", "IP地址格式不正确"),
])
def test_bad_events_are_refused_with_their_field(branch_a: Branch, change: dict[str, Any], field: str,
                                                 message: str) -> None:
    client = api_client()
    push(client, "/api/v1/customers/batch", {"customers": [item()]})
    event = {"customer_no": "0031010000001", "type": "login", "occurred_at": "2026-11-30T09:00:00+08:00",
             "data": {"ip": "58.32.1.9"}, "source": "counter", "external_id": "L-1", **change}
    answer = push(client, "/api/v1/events/batch", {"events": [event]}).json()
    assert answer["rejected"] == 1 and answer["errors"][0]["field"] == field
    assert message in answer["errors"][0]["message"]
    assert not CustomerEvent.objects.exists()


def test_a_client_of_another_branch_cannot_add_events_to_a_customer_it_cannot_see(
        branch_a: Branch, branch_b: Branch) -> None:
    push(api_client(name="hq"), "/api/v1/customers/batch", {"customers": [item()]})
    event = {"customer_no": "0031010000001", "type": "login", "occurred_at": "2026-11-30T09:00:00+08:00",
             "data": {}, "source": "counter", "external_id": "L-1"}
    answer = push(api_client(branch_b, name="crm-b"), "/api/v1/events/batch", {"events": [event]}).json()
    assert answer["rejected"] == 1 and answer["errors"][0]["message"] == "客户不存在：0031010000001"


def test_an_events_file_imports_once(branch_a: Branch, tmp_path: Path) -> None:
    push(api_client(), "/api/v1/customers/batch", {"customers": [item()]})
    path = tmp_path / "事件.csv"
    path.write_bytes(("客户编号,事件类型,发生时间,金额,IP地址\n"
                      "0031010000001,转出资金,2026-11-30 15:00:00,\"650,000.00\",\n"
                      "0031010000001,登录,20261130,,58.32.1.9\n"
                      "0031010000001,中彩票,20261130,,\n").encode("gbk"))
    first = import_file(path=path, kind="events", actor=None, allowed_branch_ids=None)
    assert first.counts() == {"read": 3, "created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert first.errors[0].column == "事件类型"
    again = import_file(path=path, kind="events", actor=None, allowed_branch_ids=None)
    assert again.counts()["unchanged"] == 2
    transfer = CustomerEvent.objects.get(type="transfer_out")
    assert transfer.data == {"amount": "650000.00"} and transfer.source == "import"
