"""The shared cast of every test: headquarters and two branches, and a user of each role that matters.

Branch isolation tests use `agent_a` / `operator_a` (branch A) against objects of branch B, and `hq_supervisor`
to show HQ sees both."""

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import Client

from huifang.audit.purge import disable_audit_purge, enable_audit_purge
from huifang.calendars.queries import invalidate_calendar_cache
from huifang.org.choices import Role
from huifang.org.models import Branch, Team, User
from huifang.org.services import create_user

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 is slow on purpose; tests that are not about hashing use a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def audit_log_flushable_between_transactional_tests() -> Any:
    """A transactional test (live server, browser) ends by emptying every table, the append-only audit log
    included: purging (huifang/audit/purge.py) is switched on for exactly that flush, nothing else."""
    original = BaseDatabaseOperations.execute_sql_flush

    def flush_with_purge(self: BaseDatabaseOperations, sql_list: Iterable[str]) -> None:
        enable_audit_purge(self.connection)
        try:
            original(self, sql_list)
        finally:
            disable_audit_purge(self.connection)

    BaseDatabaseOperations.execute_sql_flush = flush_with_purge  # type: ignore[method-assign]
    yield
    BaseDatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def fresh_calendar_cache() -> Any:
    """Each test reads the holiday table it set up, never a copy cached by an earlier test."""
    invalidate_calendar_cache()
    yield
    invalidate_calendar_cache()


@pytest.fixture
def hq(db: Any) -> Branch:
    return Branch.objects.create(code="0000", name="总部", is_headquarters=True, city="上海")


@pytest.fixture
def branch_a(db: Any) -> Branch:
    return Branch.objects.create(code="3101", name="上海浦东营业部", city="上海")


@pytest.fixture
def branch_b(db: Any) -> Branch:
    return Branch.objects.create(code="4401", name="广州天河营业部", city="广州")


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(branch: Branch, *roles: str, username: str | None = None, team: Team | None = None,
             **extra: Any) -> User:
        n = next(counter)
        return create_user(
            username=username or f"user{n}",
            password=PASSWORD,
            name=extra.pop("name", f"测试用户{n}"),
            branch=branch,
            roles=list(roles),
            agent_no=extra.pop("agent_no", f"T{n:04d}"),
            extension=extra.pop("extension", f"8{n:03d}"),
            team=team,
            **extra,
        )

    return make


@pytest.fixture
def hq_supervisor(hq: Branch, make_user: Callable[..., User]) -> User:
    return make_user(hq, Role.HQ_SUPERVISOR, username="hq_supervisor")


@pytest.fixture
def admin_user(hq: Branch, make_user: Callable[..., User]) -> User:
    return make_user(hq, Role.ADMIN, username="sysadmin")


@pytest.fixture
def auditor(hq: Branch, make_user: Callable[..., User]) -> User:
    return make_user(hq, Role.AUDITOR, username="auditor")


@pytest.fixture
def operator_a(branch_a: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_a, Role.BRANCH_OPERATOR, username="operator_a")


@pytest.fixture
def team_a(branch_a: Branch) -> Team:
    return Team.objects.create(branch=branch_a, name="浦东一组")


@pytest.fixture
def agent_a(branch_a: Branch, team_a: Team, make_user: Callable[..., User]) -> User:
    return make_user(branch_a, Role.AGENT, username="agent_a", team=team_a)


@pytest.fixture
def agent_b(branch_b: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_b, Role.AGENT, username="agent_b")


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    """Log a user in on the test client (through the real login, so axes and the audit log see it)."""

    def do(user: User) -> Client:
        client.force_login(user)
        return client

    return do


#: the data migrations whose rows the browser tests need, as (module, function): each is idempotent
SHIPPED_DATA = [
    ("huifang.calendars.migrations.0002_seed_holidays_2004_2026", "seed_holidays"),
    ("huifang.surveys.migrations.0002_load_standard_questionnaires", "load_standard_questionnaires"),
    ("huifang.campaigns.migrations.0002_load_standard_callback_types", "load_standard_callback_types"),
    ("huifang.calls.migrations.0002_add_outcome_codes", "add_outcome_codes"),
]


@pytest.fixture
def shipped_data(transactional_db: Any) -> None:
    """The rows the data migrations ship (holidays, standard questionnaires, the callback catalogue, outcome
    codes), loaded again for a transactional test (live server): the flush after an earlier transactional test
    empties every table, and serialized rollback alone did not bring them back in every test order."""
    import importlib

    from django.apps import apps
    from django.db import connection

    from huifang.org.services import sync_role_groups

    sync_role_groups()
    for module, function in SHIPPED_DATA:
        getattr(importlib.import_module(module), function)(apps, connection.schema_editor)
    invalidate_calendar_cache()


@pytest.fixture(scope="module")
def browser() -> Any:
    """Debian's Chromium through Playwright, one per test module (huifang/tests/browser.py)."""
    from huifang.tests.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Any:
    """A fresh page in a Chinese-locale browser context, closed after the test."""
    context = browser.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()
