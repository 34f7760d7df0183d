"""callbacks.attempts: an attempt's writes on the callback, and confirming 已完成."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from huifang.callbacks.attempts import confirm_done, record_attempt
from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.services import CallbackError, change_state, create_callback
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.models import Branch, User


@pytest.fixture
def held(branch_a: Branch, agent_a: User) -> Callback:
    customer = Customer.objects.create(customer_no="0031010000008", name="孙七", branch=branch_a)
    callback = create_callback(customer=customer, callback_type=CallbackType.objects.get(code="risk_aml"),
                               origin="api", agent=agent_a, due=dt.date(2026, 12, 31), period="t",
                               today=dt.date(2026, 1, 5))
    return change_state(callback=callback, to=State.IN_PROGRESS, by=agent_a, agent=agent_a)


def test_a_retry_counts_the_attempt_and_waits(held: Callback, agent_a: User) -> None:
    later = timezone.now() + dt.timedelta(hours=1)
    updated = record_attempt(callback=held, by=agent_a, result_code="no_answer", next_state=State.ASSIGNED,
                             retry_at=later, reason="无人接听")
    assert (updated.attempts, updated.result, updated.state, updated.not_before, updated.agent_id) == (
        1, "no_answer", State.ASSIGNED, later, agent_a.pk)
    assert CallbackHistory.objects.filter(callback=held, to_state=State.ASSIGNED, reason="无人接听").exists()


def test_only_the_holder_records_an_attempt(held: Callback, make_user: Any, branch_a: Branch) -> None:
    with pytest.raises(CallbackError, match="不在您的处理中"):
        record_attempt(callback=held, by=make_user(branch_a, "agent"), result_code="busy",
                       next_state=State.ASSIGNED, reason="占线")


def test_confirm_done_needs_an_ending_outcome_or_the_questionnaire(held: Callback, agent_a: User) -> None:
    Callback.objects.filter(pk=held.pk).update(questionnaire_version=None)
    held.refresh_from_db()
    with pytest.raises(CallbackError):
        confirm_done(callback=held, by=agent_a)
    done = confirm_done(callback=held, by=agent_a, outcome_ends_it=True)
    assert done.state == State.DONE and done.closed_at is not None
