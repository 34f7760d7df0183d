"""Rule runs over the shipped catalogue: the callbacks each default rule creates, their due dates across the 2026
National Day break, cooling-off, de-duplication, quotas, dry runs and explain."""

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.services import change_state, expire_callbacks, explain_rule, run_rules
from huifang.campaigns.models import Rule
from huifang.customers.models import Customer, CustomerEvent
from huifang.customers.tests.conftest import make_customer as make_plain_customer
from huifang.org.models import Branch, User

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.date(2026, 9, 30)  # a Wednesday; 1–7 October are holidays, Saturday 10 October a make-up working day


def make_customer(branch: Branch, customer_no: str, name: str, **fields: Any) -> Customer:
    """A customer opened 2025-03-14 (the shared factory), with `fields` set afterwards."""
    customer = make_plain_customer(branch, customer_no, name, manager=fields.pop("manager", None))
    for key, value in fields.items():
        setattr(customer, key, value)
    if fields:
        customer.save()
    return customer


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SH)


def event(customer: Customer, type_: str, when: dt.datetime, **data: Any) -> CustomerEvent:
    return CustomerEvent.objects.create(customer=customer, type=type_, occurred_at=when, data=data, source="test")


def callbacks_of(code: str) -> list[Callback]:
    return list(Callback.objects.filter(callback_type__code=code).select_related("customer").order_by("customer_id"))


def only(code: str, *types: str) -> Any:
    """The rules of some types only, so that one scenario is not mixed with the sample rules."""
    return Rule.objects.filter(callback_type__code__in=[code, *types])


@pytest.fixture
def manager_a(branch_a: Branch, make_user: Any) -> User:
    return make_user(branch_a, "client_manager", username="cm_a")


def test_large_transfer_sums_the_day_and_is_due_in_two_trading_days(branch_a: Branch) -> None:
    big = make_customer(branch_a, "0031010000101", "王大额")
    small = make_customer(branch_a, "0031010000102", "李小额")
    event(big, "transfer_out", at(AS_OF, 9), amount="300000.00")
    event(big, "transfer_out", at(AS_OF, 14), amount="250000.00")
    event(small, "transfer_out", at(AS_OF, 11), amount="499999.99")

    report = run_rules(as_of=AS_OF, rules=only("large_transfer"))

    (callback,) = callbacks_of("large_transfer")
    assert callback.customer == big and report.total == 1
    # Trading days after Wednesday 30 September: 8 and 9 October (the holidays and the weekend do not count).
    assert callback.due_date == dt.date(2026, 10, 9)
    # Checked after the close, called the next trading day.
    assert callback.not_before == at(dt.date(2026, 10, 8), 9)
    assert callback.period_key == "2026-09-30"
    assert callback.state == State.NEW and callback.branch == branch_a
    assert callback.questionnaire_version is not None


def test_a_transfer_after_midnight_local_time_belongs_to_the_next_day(branch_a: Branch) -> None:
    customer = make_customer(branch_a, "0031010000103", "赵夜间")
    # 00:30 in Shanghai on 30 September is 16:30 UTC on the 29th: the local day is what counts.
    event(customer, "transfer_out", at(AS_OF, 0, 30), amount="600000.00")
    event(customer, "transfer_out", at(AS_OF - dt.timedelta(days=1), 23, 30), amount="100000.00")
    run_rules(as_of=AS_OF, rules=only("large_transfer"))
    (callback,) = callbacks_of("large_transfer")
    assert callback.period_key == "2026-09-30"


def test_running_twice_creates_nothing_new(branch_a: Branch, manager_a: User) -> None:
    customer = make_customer(branch_a, "0031010000104", "孙两次", manager=manager_a)
    event(customer, "transfer_out", at(AS_OF), amount="800000.00")
    customer.open_date = dt.date(2026, 9, 15)
    customer.save()
    first = run_rules(as_of=AS_OF)
    count = Callback.objects.count()
    second = run_rules(as_of=AS_OF)
    assert first.total == count > 0
    assert second.total == 0 and Callback.objects.count() == count
    # Every callback has its creation in the history, once.
    assert CallbackHistory.objects.filter(from_state="", to_state=State.NEW).count() == count


def test_new_account_is_due_on_the_fifth_working_day_of_next_month(branch_a: Branch) -> None:
    opened = make_customer(branch_a, "0031010000105", "周新开")
    opened.open_date = dt.date(2026, 9, 15)
    opened.save()
    old = make_customer(branch_a, "0031010000106", "吴老户")  # opened 2025-03-14: outside the window
    closed = make_customer(branch_a, "0031010000107", "郑已销", status="closed")
    closed.open_date = dt.date(2026, 9, 20)
    closed.save()
    del old
    run_rules(as_of=AS_OF, rules=only("new_account"))
    (callback,) = callbacks_of("new_account")
    assert callback.customer == opened
    # October 2026's working days: 8, 9, 10 (make-up Saturday), 12, 13.
    assert callback.due_date == dt.date(2026, 10, 13)
    assert callback.period_key == "once"


def test_private_fund_callback_waits_24_hours_after_signing_and_payment(branch_a: Branch) -> None:
    customer = make_customer(branch_a, "0031010000108", "钱私募")
    event(customer, "private_fund_signed", at(dt.date(2026, 9, 28), 10), product_name="汇方量化1号",
          signed_at="2026-09-28T10:00:00+08:00", paid_at="2026-09-29T14:00:00+08:00")
    run_rules(as_of=AS_OF, rules=Rule.objects.filter(callback_type__code="product_buyer", kind="event"))
    (callback,) = callbacks_of("product_buyer")
    assert callback.not_before == at(dt.date(2026, 9, 30), 14)
    assert callback.event is not None and callback.period_key == "2026-Q3"


def test_cooling_off_counts_from_the_event_when_the_data_has_no_times(branch_a: Branch) -> None:
    customer = make_customer(branch_a, "0031010000109", "冯无时")
    event(customer, "private_fund_signed", at(dt.date(2026, 9, 29), 16))
    run_rules(as_of=AS_OF, rules=Rule.objects.filter(callback_type__code="product_buyer", kind="event"))
    (callback,) = callbacks_of("product_buyer")
    assert callback.not_before == at(dt.date(2026, 9, 30), 16)


def test_each_manager_change_is_its_own_callback(branch_a: Branch) -> None:
    customer = make_customer(branch_a, "0031010000110", "陈两变")
    event(customer, "manager_changed", at(dt.date(2026, 9, 25)), old_manager="A", new_manager="B")
    event(customer, "manager_changed", at(dt.date(2026, 9, 28)), old_manager="B", new_manager="C")
    run_rules(as_of=AS_OF, rules=only("manager_changed"))
    found = callbacks_of("manager_changed")
    assert len(found) == 2 and {c.period_key[0] for c in found} == {"E"}
    # 10 working days after 28 September: 29, 30 Sep, 8, 9, 10, 12, 13, 14, 15, 16 Oct.
    assert max(c.due_date for c in found) == dt.date(2026, 10, 16)


def test_manager_sample_takes_three_per_manager_and_tops_up_after_a_cancel(branch_a: Branch, manager_a: User,
                                                                           make_user: Any) -> None:
    few = make_user(branch_a, "client_manager", username="cm_few")
    many = [make_customer(branch_a, f"00310100002{i:02d}", f"客户{i}", manager=manager_a,
                          assets=Decimal(bound)) for i, bound in enumerate([10, 200_000, 600_000, 2_000_000, 30, 40])]
    make_customer(branch_a, "0031010000290", "客户少1", manager=few)
    recent = make_customer(branch_a, "0031010000291", "新客户", manager=few)
    recent.open_date = AS_OF - dt.timedelta(days=30)  # opened less than 3 months ago: not in the population
    recent.save()
    make_customer(branch_a, "0031010000292", "无经理")

    run_rules(as_of=AS_OF, rules=only("manager_customers"))
    per_manager = dict(Callback.objects.values_list("customer__manager__username").annotate(n=Count("id")))
    assert per_manager == {"cm_a": 3, "cm_few": 1}
    picked = Callback.objects.filter(customer__manager=manager_a)
    # Spread over the asset bands: three different bands among the three picks.
    assert len({c.customer.assets >= 100_000 for c in picked} | {c.customer.assets >= 500_000 for c in picked}) >= 2
    assert {c.due_date for c in picked} == {dt.date(2026, 9, 30)} and picked[0].period_key == "2026-09"

    assert run_rules(as_of=AS_OF, rules=only("manager_customers")).total == 0
    change_state(callback=picked[0], to=State.CANCELLED, reason="客户已失联")
    again = run_rules(as_of=AS_OF, rules=only("manager_customers"))
    assert again.total == 1
    assert Callback.objects.filter(customer__manager=manager_a, state=State.NEW).count() == 3
    del many


def test_fund_buyers_sample_takes_at_least_thirty_or_all(branch_a: Branch, branch_b: Branch) -> None:
    for i in range(35):
        customer = make_customer(branch_a, f"00310100003{i:02d}", f"基金{i}")
        event(customer, "product_purchased", at(dt.date(2026, 8, 1) + dt.timedelta(days=i)), product="基金")
    for i in range(4):
        customer = make_customer(branch_b, f"00440100003{i:02d}", f"理财{i}")
        event(customer, "product_purchased", at(dt.date(2026, 9, 1)), product="理财")
    old = make_customer(branch_b, "0044010000399", "上季度")
    event(old, "product_purchased", at(dt.date(2026, 6, 20)), product="基金")  # bought last quarter

    run_rules(as_of=AS_OF, rules=Rule.objects.filter(callback_type__code="product_buyer", kind="sample"))
    counts = dict(Callback.objects.values_list("branch__code").annotate(n=Count("id")))
    assert counts == {branch_a.code: 30, branch_b.code: 4}
    assert set(Callback.objects.values_list("period_key", flat=True)) == {"2026-Q3"}


def test_same_ip_takes_every_account_of_an_address_used_by_three(branch_a: Branch, branch_b: Branch) -> None:
    shared = [make_customer(branch_a if i < 2 else branch_b, f"00310100004{i:02d}", f"同IP{i}") for i in range(3)]
    pair = [make_customer(branch_a, f"00310100005{i:02d}", f"两户{i}") for i in range(2)]
    for customer in shared:
        event(customer, "login", at(dt.date(2026, 9, 20)), ip="58.32.1.9")
    for customer in pair:
        event(customer, "login", at(dt.date(2026, 9, 21)), ip="58.32.1.10")
    run_rules(as_of=AS_OF, rules=only("same_ip"))
    found = callbacks_of("same_ip")
    assert [c.customer for c in found] == shared
    # each lands at its own customer's branch; due within 2 trading days
    assert {c.branch for c in found} == {branch_a, branch_b}
    assert {c.due_date for c in found} == {dt.date(2026, 10, 9)}


def test_lost_customer_needs_the_change_and_the_current_status(branch_a: Branch) -> None:
    gone = make_customer(branch_a, "0031010000601", "已销户", status="closed")
    event(gone, "account_closed", at(dt.date(2026, 9, 28)), old_status="normal", new_status="closed")
    back = make_customer(branch_a, "0031010000602", "又回来")  # closed, then reopened: normal again
    event(back, "account_closed", at(dt.date(2026, 9, 27)), old_status="normal", new_status="closed")
    run_rules(as_of=AS_OF, rules=only("lost_customer"))
    assert [c.customer for c in callbacks_of("lost_customer")] == [gone]


def test_dry_run_counts_per_branch_and_creates_nothing(branch_a: Branch, branch_b: Branch) -> None:
    for branch, number in ((branch_a, "0031010000701"), (branch_a, "0031010000702"), (branch_b, "0044010000701")):
        event(make_customer(branch, number, "大额"), "transfer_out", at(AS_OF), amount="900000.00")
    report = run_rules(as_of=AS_OF, dry_run=True, rules=only("large_transfer"))
    assert Callback.objects.count() == 0 and CallbackHistory.objects.count() == 0
    (outcome,) = report.outcomes
    assert outcome.by_branch == {branch_a.pk: 2, branch_b.pk: 1}
    assert report.run.dry_run and report.run.created_count == 0
    assert run_rules(as_of=AS_OF, rules=only("large_transfer")).total == 3


def test_explain_names_the_condition_that_fails(branch_a: Branch) -> None:
    customer = make_customer(branch_a, "0031010000801", "差一点")
    event(customer, "transfer_out", at(AS_OF), amount="450000.00")
    rule = Rule.objects.get(callback_type__code="large_transfer")
    steps = explain_rule(rule=rule, customer=customer, as_of=AS_OF)
    assert [s["holds"] for s in steps] == [True, False, False]
    assert "合计" in steps[1]["condition"]
    event(customer, "transfer_out", at(AS_OF, 15), amount="60000.00")
    assert all(s["holds"] for s in explain_rule(rule=rule, customer=customer, as_of=AS_OF))


def test_a_year_the_calendar_lacks_is_reported_and_the_other_days_still_run(branch_a: Branch) -> None:
    late = make_customer(branch_a, "0031010000901", "十二月开户")
    late.open_date = dt.date(2026, 12, 10)  # due in January 2027: the table does not cover 2027
    late.save()
    early = make_customer(branch_a, "0031010000902", "十一月开户")
    early.open_date = dt.date(2026, 11, 10)
    early.save()
    report = run_rules(as_of=dt.date(2026, 12, 15), rules=only("new_account"))
    assert [c.customer for c in callbacks_of("new_account")] == [early]
    assert "2027" in report.outcomes[0].error
    assert report.run.errors and "2027" in report.run.errors[0]["message"]


def test_callbacks_expire_at_the_end_of_their_period(branch_a: Branch) -> None:
    customer = make_customer(branch_a, "0031010001001", "过期")
    event(customer, "transfer_out", at(AS_OF), amount="700000.00")
    run_rules(as_of=AS_OF, rules=only("large_transfer"))
    (callback,) = callbacks_of("large_transfer")
    assert callback.expires_on == dt.date(2026, 12, 31)
    assert expire_callbacks(today=dt.date(2026, 12, 31)) == 0
    assert expire_callbacks(today=dt.date(2027, 1, 1)) == 1
    callback.refresh_from_db()
    assert callback.state == State.EXPIRED and callback.closed_at is not None
    assert CallbackHistory.objects.filter(callback=callback, to_state=State.EXPIRED, from_state=State.NEW).exists()
