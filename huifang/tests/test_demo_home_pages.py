"""Every demo login reaches a Chinese home page that fits its role."""

from datetime import date

import pytest
from django.test import Client

from huifang.demo.build import build_demo
from huifang.org.models import User

# user name of the demo -> text only that role's home page shows
EXPECTED = {
    "admin": "管理后台",
    "supervisor": "各营业部概况",
    "auditor": "最新审计记录",
    "hq_agent": "我的小组",
    "qa": "我负责质检的回访专员",
    "risk": "最新风险标记",
    "compliance": "我的部门",
    "op3101": "各营业部概况",
    "lead3101": "我的小组",
    "agent3101a": "我的小组",
    "cm3101a": "我的客户",
}


@pytest.fixture
def demo(db: None) -> None:
    build_demo(customers=300, as_of=date(2026, 11, 20))


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_demo_login_sees_a_chinese_home_page_for_its_role(demo: None, username: str) -> None:
    client = Client()
    client.force_login(User.objects.get(username=username))
    page = client.get("/").content.decode()
    assert "您好，" in page
    assert EXPECTED[username] in page


def test_client_manager_sees_only_own_customers_on_home_page(demo: None) -> None:
    manager = User.objects.get(username="cm3101a")
    client = Client()
    client.force_login(manager)
    page = client.get("/").content.decode()
    others = User.objects.get(username="cm3101b").managed_customers.values_list("customer_no", flat=True)[:20]
    assert all(number not in page for number in others)
