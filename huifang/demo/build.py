"""Build (and tear down) the demo brokerage: `build_demo(customers=..., seed=...)`.

The organisation goes through the org services; customers, phones and events are loaded set-based
(bulk.RowWriter) in chunks inside one transaction, so a million customers take minutes and bounded memory."""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from huifang.callbacks.models import Callback, CallbackHistory
from huifang.campaigns.models import Project
from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.demo.bulk import RowWriter
from huifang.demo.customers import CustomerGenerator
from huifang.demo.org import DEMO_BRANCH_CODES, DemoLogin, build_org, user_specs
from huifang.org.choices import Role
from huifang.org.models import Branch, Department, Team, User
from huifang.org.services import sync_role_groups

DEFAULT_SEED = 20260101
DEFAULT_CUSTOMERS = 10_000

CUSTOMER_COLUMNS = ["id", "customer_no", "name", "branch_id", "manager_id", "tier", "open_date", "status",
                    "risk_rating", "assets", "email", "tags", "attributes", "id_type", "id_no_encrypted",
                    "id_no_masked", "id_no_hash", "products", "created_at", "updated_at"]
PHONE_COLUMNS = ["customer_id", "kind", "number", "last4", "validity", "source", "is_primary", "created_at",
                 "updated_at"]
EVENT_COLUMNS = ["customer_id", "type", "occurred_at", "data", "source", "external_id", "created_at"]


class DemoDataError(Exception):
    """The demo cannot be built or reset in this database; the message says why (Chinese)."""


@dataclass
class DemoSummary:
    branches: int
    users: int
    customers: int
    phones: int
    events: int
    seconds: float
    password: str
    logins: list[DemoLogin] = field(default_factory=list)


def existing_logins() -> list[DemoLogin]:
    """The demo users present in the database, in the demo's order (for printing the logins again)."""
    labels = dict(Role.choices)
    specs = {spec[0]: spec[1] for spec in user_specs()}
    users = User.objects.filter(username__in=specs, is_active=True).select_related("branch")
    by_name = {user.username: user for user in users}
    return [
        DemoLogin(username=name, name=by_name[name].name, role=str(labels[role]),
                  branch=by_name[name].branch.name if by_name[name].branch else "")
        for name, role in specs.items() if name in by_name
    ]


def has_organisation() -> bool:
    """Whether any branch exists: the database holds an organisation, the demo's or a real one."""
    return Branch.objects.exists()


def build_demo(
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    as_of: dt.date | None = None,
    password: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Build the demo brokerage: HQ and five branches, departments, teams, users of every role, `customers`
    customers with phones, and a year of business events up to `as_of` (default: today in Shanghai).

    Precondition: no branch exists (see `reset_demo`); raises DemoDataError otherwise, or when a demo user
    name is taken. Side effects: everything is written in one transaction; role groups are synchronised; one
    audit entry per user created. Same seed and `as_of`: same rows."""
    started = time.monotonic()
    as_of = as_of or timezone.localdate()
    password = password or settings.DEMO_PASSWORD
    report = progress or (lambda message: None)
    if has_organisation():
        raise DemoDataError("数据库中已有营业部数据，不能再生成演示数据；如需重建演示数据，请使用 --reset")
    taken = sorted(User.objects.filter(username__in=[spec[0] for spec in user_specs()])
                   .values_list("username", flat=True))
    if taken:
        raise DemoDataError(f"演示用户名已被占用：{'、'.join(taken)}")
    writer = RowWriter()
    with transaction.atomic(), writer.loading():
        sync_role_groups()
        org = build_org(seed=seed, password=password)
        report(f"组织机构：{len(org.branches) + 1} 个机构，{len(org.logins)} 个用户")
        first_id = (Customer.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        generator = CustomerGenerator(
            seed=seed, as_of=as_of, count=customers, first_id=first_id,
            branches=[(branch.pk, org.specs[branch.pk]) for branch in org.branches],
            managers=org.managers, stamp=writer.format_timestamp,
        )
        totals = [0, 0, 0]
        for chunk in generator.chunks():
            totals[0] += writer.write(Customer._meta.db_table, CUSTOMER_COLUMNS, chunk.customers)
            totals[1] += writer.write(ContactPoint._meta.db_table, PHONE_COLUMNS, chunk.phones)
            totals[2] += writer.write(CustomerEvent._meta.db_table, EVENT_COLUMNS, chunk.events)
            report(f"客户 {totals[0]:,} / {customers:,}，电话 {totals[1]:,}，事件 {totals[2]:,}")
        # Ids were given explicitly: move PostgreSQL's identity sequences past them (no-op on SQLite).
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [Customer, ContactPoint,
                                                                            CustomerEvent]):
                cursor.execute(statement)
    return DemoSummary(
        branches=len(org.branches) + 1, users=len(org.logins), customers=totals[0], phones=totals[1],
        events=totals[2], seconds=time.monotonic() - started, password=password, logins=org.logins,
    )


def reset_demo() -> None:
    """Delete what the demo made: its branches' customers (with phones and events), users, teams, departments
    and the branches themselves. The audit log is append-only and keeps its entries (their user references
    carry no database constraint).

    Precondition: every branch in the database is a demo branch; raises DemoDataError otherwise, so that a
    real organisation is never wiped. Side effect: one transaction of deletes."""
    others = list(Branch.objects.exclude(code__in=DEMO_BRANCH_CODES).values_list("name", flat=True)[:5])
    if others:
        raise DemoDataError(f"数据库中有非演示数据的营业部（{'、'.join(others)}），拒绝重置")
    quote = connection.ops.quote_name
    branch_ids = list(Branch.objects.filter(code__in=DEMO_BRANCH_CODES).values_list("pk", flat=True))
    user_ids = list(User.objects.filter(branch_id__in=branch_ids).values_list("pk", flat=True))
    customer_table = quote(Customer._meta.db_table)
    in_branches = ", ".join(["%s"] * len(branch_ids)) or "NULL"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Plain DELETEs: the ORM would load a million customers to cascade by hand. Callbacks first (they
            # protect their customers), with their history.
            callbacks = quote(Callback._meta.db_table)
            cursor.execute(
                f"DELETE FROM {quote(CallbackHistory._meta.db_table)} WHERE {quote('callback_id')} IN "
                f"(SELECT {quote('id')} FROM {callbacks} WHERE {quote('branch_id')} IN ({in_branches}))",
                branch_ids)
            cursor.execute(f"DELETE FROM {callbacks} WHERE {quote('branch_id')} IN ({in_branches})", branch_ids)
            Project.objects.filter(branch_id__in=branch_ids).delete()
            for model in (CustomerEvent, ContactPoint):
                cursor.execute(
                    f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote('customer_id')} IN "
                    f"(SELECT {quote('id')} FROM {customer_table} WHERE {quote('branch_id')} IN ({in_branches}))",
                    branch_ids,
                )
            cursor.execute(f"DELETE FROM {customer_table} WHERE {quote('branch_id')} IN ({in_branches})",
                           branch_ids)
            Team.objects.filter(lead_id__in=user_ids).update(lead=None)
            LogEntry.objects.filter(user_id__in=user_ids).delete()
            User.groups.through.objects.filter(user_id__in=user_ids).delete()
            User.user_permissions.through.objects.filter(user_id__in=user_ids).delete()
            # Not User.objects.delete(): audit entries PROTECT their actor in the ORM, and they must stay.
            for start in range(0, len(user_ids), 500):
                batch = user_ids[start:start + 500]
                cursor.execute(
                    f"DELETE FROM {quote(User._meta.db_table)} WHERE {quote('id')} IN "
                    f"({', '.join(['%s'] * len(batch))})",
                    batch,
                )
            Team.objects.filter(branch_id__in=branch_ids).delete()
            Department.objects.filter(branch_id__in=branch_ids).delete()
            Branch.objects.filter(pk__in=branch_ids).delete()
    except IntegrityError as error:
        raise DemoDataError(f"演示数据仍被其他数据引用，无法删除：{error}") from error
