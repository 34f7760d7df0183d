import datetime as dt
import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from huifang.audit.models import AuditEntry
from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.demo.build import DemoDataError, build_demo, reset_demo
from huifang.demo.customers import LANDLINE_FIRST_DIGITS, MOBILE_PREFIXES
from huifang.lib.phones import parse_phone
from huifang.org.choices import Role
from huifang.org.models import Branch, User

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEMO_PASSWORD = "demo-password-2026"


def _snapshot() -> dict[str, Any]:
    return {
        "customers": list(Customer.objects.order_by("customer_no").values_list(
            "customer_no", "name", "branch__code", "manager__username", "tier", "open_date", "status", "assets")),
        "phones": list(ContactPoint.objects.order_by("customer__customer_no", "number").values_list(
            "customer__customer_no", "kind", "number", "is_primary")),
        "events": list(CustomerEvent.objects.order_by("external_id").values_list(
            "customer__customer_no", "type", "occurred_at", "data")),
        "users": list(User.objects.order_by("username").values_list("username", "name", "agent_no",
                                                                    "branch__code")),
    }


@pytest.mark.django_db(transaction=True)
def test_two_builds_with_the_same_seed_give_the_same_data() -> None:
    build_demo(customers=300, seed=7, as_of=AS_OF)
    first = _snapshot()
    reset_demo()
    build_demo(customers=300, seed=7, as_of=AS_OF)
    assert _snapshot() == first
    assert len(first["customers"]) == 300


@pytest.mark.django_db
def test_another_seed_gives_other_customers() -> None:
    build_demo(customers=50, seed=7, as_of=AS_OF)
    names = list(Customer.objects.order_by("customer_no").values_list("name", flat=True))
    reset_demo()
    build_demo(customers=50, seed=8, as_of=AS_OF)
    assert list(Customer.objects.order_by("customer_no").values_list("name", flat=True)) != names


@pytest.mark.django_db
def test_build_has_headquarters_five_branches_and_every_role() -> None:
    summary = build_demo(customers=300, seed=7, as_of=AS_OF)
    assert Branch.objects.filter(is_headquarters=True).get().code == "0000"
    assert Branch.objects.filter(is_headquarters=False).count() == 5
    held = set(User.objects.values_list("groups__name", flat=True))
    assert held == set(Role.values)
    assert User.objects.get(username="admin").has_role(Role.ADMIN)
    assert summary.users == User.objects.count() >= 30
    for branch in Branch.objects.filter(is_headquarters=False):
        users = User.objects.filter(branch=branch)
        assert users.filter(groups__name=Role.AGENT).count() >= 2
        assert users.filter(groups__name=Role.CLIENT_MANAGER).count() >= 2
        assert users.filter(groups__name=Role.BRANCH_OPERATOR).exists()


@pytest.mark.django_db
def test_demo_users_log_in_with_the_demo_password() -> None:
    build_demo(customers=10, seed=7, as_of=AS_OF)
    agent = User.objects.get(username="agent3101a")
    assert agent.check_password("demo-password-2026")
    assert not agent.check_password("wrong-password")
    assert agent.is_active


@pytest.mark.django_db
def test_customers_are_plausible() -> None:
    build_demo(customers=300, seed=7, as_of=AS_OF)
    customers = list(Customer.objects.select_related("branch", "manager"))
    assert len(customers) == 300
    assert len({c.customer_no for c in customers}) == 300
    for customer in customers:
        assert customer.customer_no.startswith("0" + customer.branch.code)
        assert 2 <= len(customer.name) <= 4
        assert AS_OF - dt.timedelta(days=3 * 365) < customer.open_date <= AS_OF
        if customer.manager is not None:
            assert customer.manager.branch_id == customer.branch_id
            assert customer.manager.has_role(Role.CLIENT_MANAGER)
    statuses = [c.status for c in customers]
    assert statuses.count("normal") > len(customers) * 0.7
    assert {"dormant", "closed"} <= set(statuses)
    assert len({c.tier for c in customers}) >= 3
    assert len({c.risk_rating for c in customers}) == 5


@pytest.mark.django_db
def test_every_demo_phone_passes_the_phone_validator() -> None:
    build_demo(customers=300, seed=7, as_of=AS_OF)
    phones = list(ContactPoint.objects.all())
    assert {phone.kind for phone in phones} == {"mobile", "landline"}
    for phone in phones:
        parsed = parse_phone(phone.number)
        assert parsed.number == phone.number
        assert parsed.kind == phone.kind
    # Exactly one primary phone per customer.
    assert ContactPoint.objects.filter(is_primary=True).count() == 300


def test_every_mobile_prefix_and_landline_digit_generates_valid_numbers() -> None:
    rng = random.Random(1)
    for prefix in MOBILE_PREFIXES:
        for _ in range(50):
            assert parse_phone(prefix + f"{rng.randrange(100_000_000):08d}").kind == "mobile"
    for area in ("021", "010", "0755", "020", "0571"):
        for digit in LANDLINE_FIRST_DIGITS:
            for _ in range(20):
                assert parse_phone(f"{area}-{digit}{rng.randrange(10_000_000):07d}").kind == "landline"


@pytest.mark.django_db
def test_a_year_of_events_of_several_types() -> None:
    build_demo(customers=1000, seed=7, as_of=AS_OF)
    types = set(CustomerEvent.objects.values_list("type", flat=True))
    assert {"account_opened", "transfer_out", "product_purchased", "login", "info_changed"} <= types
    assert len(types) >= 8
    year_ago = AS_OF - dt.timedelta(days=366)
    for event in CustomerEvent.objects.select_related("customer"):
        local = event.occurred_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
        assert year_ago <= local.date() <= AS_OF
        assert local.date() >= event.customer.open_date
    opened_in_year = Customer.objects.filter(open_date__gt=AS_OF - dt.timedelta(days=365))
    assert CustomerEvent.objects.filter(type="account_opened").count() == opened_in_year.count()
    amounts = [float(data["amount"]) for data in
               CustomerEvent.objects.filter(type="transfer_out").values_list("data", flat=True)]
    assert any(amount > 500_000 for amount in amounts)
    assert any(amount < 500_000 for amount in amounts)


@pytest.mark.django_db
def test_some_login_addresses_are_shared_by_several_accounts() -> None:
    build_demo(customers=5000, seed=7, as_of=AS_OF)
    accounts_by_ip: dict[str, set[int]] = {}
    for customer_id, data in CustomerEvent.objects.filter(type="login").values_list("customer_id", "data"):
        accounts_by_ip.setdefault(data["ip"], set()).add(customer_id)
    assert any(len(accounts) >= 3 for accounts in accounts_by_ip.values())


@pytest.mark.django_db
def test_build_refuses_when_an_organisation_exists(hq: Branch) -> None:
    with pytest.raises(DemoDataError, match="已有营业部"):
        build_demo(customers=10, seed=7, as_of=AS_OF)


@pytest.mark.django_db
def test_reset_refuses_to_delete_a_real_organisation() -> None:
    Branch.objects.create(code="9901", name="真实营业部")
    with pytest.raises(DemoDataError, match="非演示数据"):
        reset_demo()
    assert Branch.objects.filter(code="9901").exists()


@pytest.mark.django_db
def test_reset_keeps_the_audit_log() -> None:
    build_demo(customers=20, seed=7, as_of=AS_OF)
    entries = AuditEntry.objects.count()
    assert entries > 0
    reset_demo()
    assert not Branch.objects.exists() and not Customer.objects.exists() and not User.objects.exists()
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_command_prints_the_logins_with_chinese_roles_and_password() -> None:
    out = StringIO()
    call_command("demo_data", customers=30, seed=7, stdout=out)
    text = out.getvalue()
    assert "30 位客户" in text
    for expected in ("用户名", "admin", "agent3101a", "上海浦东营业部", "demo-password-2026"):
        assert expected in text
    with_role = next(line for line in text.splitlines() if line.startswith("agent3101a "))
    assert "回访专员" in with_role


@pytest.mark.django_db
def test_command_if_empty_skips_when_branches_exist(hq: Branch) -> None:
    out = StringIO()
    call_command("demo_data", customers=30, if_empty=True, stdout=out)
    assert "跳过" in out.getvalue()
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_command_without_reset_refuses_an_existing_demo() -> None:
    call_command("demo_data", customers=10, stdout=StringIO())
    with pytest.raises(CommandError, match="--reset"):
        call_command("demo_data", customers=10, stdout=StringIO())


@pytest.mark.django_db
def test_command_reset_rebuilds_the_demo() -> None:
    call_command("demo_data", customers=10, stdout=StringIO())
    call_command("demo_data", customers=25, reset=True, stdout=StringIO())
    assert Customer.objects.count() == 25
    assert Branch.objects.count() == 6


def test_each_demo_agent_first_gets_a_customer_with_several_callbacks(shipped_data: None) -> None:
    """The demo's bulk load writes outside a test transaction (transactional test): the shipped catalogue and
    calendar are loaded again first."""
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from huifang.callbacks.models import Callback
    from huifang.callbacks.queue import Taken, take_next_callback
    from huifang.org.models import User

    # within the calling hours (09:00–20:30), today: the demo's rules and appointments are of today
    ten = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(ten, tick=False):
        out = StringIO()
        call_command("demo_data", customers=3000, seed=7, stdout=out)
        booked = Callback.objects.filter(appointment_agent__isnull=False)
        assert booked.exists() and "一次通话完成他的全部回访" in out.getvalue()
        for agent in User.objects.filter(pk__in=booked.values("appointment_agent")):
            taken = take_next_callback(agent=agent, now=ten + dt.timedelta(minutes=1))
            assert isinstance(taken, Taken) and len(taken.callback_ids) >= 2, agent
