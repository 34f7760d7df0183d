from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from huifang.audit.models import AuditEntry
from huifang.customers.models import ContactPoint, Customer
from huifang.customers.tests.conftest import LANDLINE_A, MOBILE_A, MOBILE_B, make_customer
from huifang.org.models import User

Login = Callable[[User], Client]


def test_list_shows_own_branch_customers_with_masked_phones(login: Login, agent_a: User, customer_a: Customer,
                                                            customer_b: Customer) -> None:
    response = login(agent_a).get("/customers/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "0031010000001" in page and "张伟" in page
    assert "0044010000001" not in page and "李娜" not in page
    assert "139****5678" in page
    assert MOBILE_A not in page


def test_hq_supervisor_sees_customers_of_both_branches(login: Login, hq_supervisor: User, customer_a: Customer,
                                                        customer_b: Customer) -> None:
    page = login(hq_supervisor).get("/customers/").content.decode()
    assert "0031010000001" in page and "0044010000001" in page


def test_list_searches_by_number_prefix_and_by_name(login: Login, hq_supervisor: User, customer_a: Customer,
                                                    customer_b: Customer) -> None:
    client = login(hq_supervisor)
    by_number = client.get("/customers/", {"q": "00440"}).content.decode()
    assert "李娜" in by_number and "张伟" not in by_number
    by_name = client.get("/customers/", {"q": "张"}).content.decode()
    assert "张伟" in by_name and "李娜" not in by_name


def test_search_does_not_reach_into_another_branch(login: Login, agent_a: User, customer_b: Customer) -> None:
    page = login(agent_a).get("/customers/", {"q": "0044010000001"}).content.decode()
    assert "李娜" not in page


def test_htmx_search_answers_the_rows_only(login: Login, agent_a: User, customer_a: Customer) -> None:
    page = login(agent_a).get("/customers/", {"q": "张"}, headers={"HX-Request": "true"}).content.decode()
    assert "张伟" in page
    assert "<html" not in page


def test_list_paginates(login: Login, operator_a: User, branch_a: object) -> None:
    for n in range(55):
        make_customer(operator_a.branch, f"{n:06d}", f"客户{n}")  # type: ignore[arg-type]
    client = login(operator_a)
    first = client.get("/customers/").content.decode()
    second = client.get("/customers/", {"page": 2}).content.decode()
    assert "000049" in first and "000050" not in first
    assert "000050" in second and "000054" in second


def test_list_query_count_does_not_grow_with_customers(login: Login, agent_a: User, customer_a: Customer) -> None:
    client = login(agent_a)
    client.get("/customers/")
    with CaptureQueriesContext(connection) as one_customer:
        client.get("/customers/")
    for n in range(20):
        customer = make_customer(agent_a.branch, f"9{n:05d}", f"客户{n}")  # type: ignore[arg-type]
        ContactPoint.objects.create(customer=customer, kind="mobile", number=f"1391234{n:04d}")
    with CaptureQueriesContext(connection) as many_customers:
        response = client.get("/customers/")
    assert response.content.decode().count("139****") == 21
    assert len(many_customers) == len(one_customer)


def test_pages_require_login(client: Client, customer_a: Customer) -> None:
    assert client.get("/customers/").status_code == 302
    assert client.get("/customers/0031010000001/").status_code == 302
    phone = customer_a.contact_points.first()
    assert phone is not None
    assert client.post(f"/customers/0031010000001/phones/{phone.pk}/reveal/").status_code == 302


def test_detail_shows_masked_phones_and_events(login: Login, agent_a: User, customer_a: Customer) -> None:
    response = login(agent_a).get("/customers/0031010000001/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "139****5678" in page and "021-****5678" in page
    assert MOBILE_A not in page and LANDLINE_A not in page
    assert "z***@example.com" in page and "zhangwei@example.com" not in page
    assert "650000.00" in page
    assert "显示号码" in page


def test_agent_of_other_branch_gets_404_on_detail(login: Login, agent_b: User, customer_a: Customer) -> None:
    assert login(agent_b).get("/customers/0031010000001/").status_code == 404


def test_hq_supervisor_opens_customers_of_both_branches(login: Login, hq_supervisor: User, customer_a: Customer,
                                                        customer_b: Customer) -> None:
    client = login(hq_supervisor)
    assert client.get("/customers/0031010000001/").status_code == 200
    assert client.get("/customers/0044010000001/").status_code == 200


def test_unknown_customer_number_is_404(login: Login, agent_a: User) -> None:
    assert login(agent_a).get("/customers/0031019999999/").status_code == 404


def test_malformed_customer_number_is_400(login: Login, agent_a: User) -> None:
    assert login(agent_a).get("/customers/abc123/").status_code == 400


def test_reveal_answers_the_clear_number_and_audits_it(login: Login, agent_a: User, customer_a: Customer) -> None:
    phone = customer_a.contact_points.get(kind="mobile")
    response = login(agent_a).post(f"/customers/0031010000001/phones/{phone.pk}/reveal/",
                                   headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert MOBILE_A in response.content.decode()
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor == agent_a
    assert entry.changes["field"] == "number"
    assert entry.object_type == "customers.contactpoint"
    assert entry.object_id == str(phone.pk)
    assert entry.branch_code == "3101"
    # The audit entry names the phone masked, never in clear.
    assert MOBILE_A not in entry.object_repr


def test_reveal_needs_post(login: Login, agent_a: User, customer_a: Customer) -> None:
    phone = customer_a.contact_points.get(kind="mobile")
    response = login(agent_a).get(f"/customers/0031010000001/phones/{phone.pk}/reveal/")
    assert response.status_code == 405
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_agent_of_other_branch_cannot_reveal(login: Login, agent_b: User, customer_a: Customer) -> None:
    phone = customer_a.contact_points.get(kind="mobile")
    response = login(agent_b).post(f"/customers/0031010000001/phones/{phone.pk}/reveal/")
    assert response.status_code == 404
    assert MOBILE_A not in response.content.decode()
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_reveal_of_another_customers_phone_is_404(login: Login, hq_supervisor: User, customer_a: Customer,
                                                  customer_b: Customer) -> None:
    phone_b = customer_b.contact_points.get()
    response = login(hq_supervisor).post(f"/customers/0031010000001/phones/{phone_b.pk}/reveal/")
    assert response.status_code == 404
    assert MOBILE_B not in response.content.decode()


def test_reveal_of_unknown_phone_is_404(login: Login, agent_a: User, customer_a: Customer) -> None:
    assert login(agent_a).post("/customers/0031010000001/phones/999999/reveal/").status_code == 404
