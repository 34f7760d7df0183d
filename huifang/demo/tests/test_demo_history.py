"""The demo's past: weeks of calls with outcomes on working days, callbacks closed by their last outcome, and
roll-ups that equal a count made from the raw rows."""

import datetime as dt
from collections import Counter
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from huifang.calendars.queries import is_working_day
from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, CallStat, OutcomeStat
from huifang.demo.history import DAYS

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a Friday evening in Beijing; the history covers the 45 days before 2026-11-20
NOW = dt.datetime(2026, 11, 20, 19, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()


def _demo(time_machine: Any, **options: Any) -> str:
    time_machine.move_to(NOW, tick=False)
    out = StringIO()
    call_command("demo_data", customers=400, seed=7, stdout=out, **options)
    return out.getvalue()


def _independent_counts() -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """The roll-ups' figures counted one raw row at a time in Python."""
    outcomes: Counter[tuple[Any, ...]] = Counter()
    for link in CallCallback.objects.select_related("call", "callback", "outcome"):
        assert link.outcome is not None and link.registered_at is not None
        key = (link.registered_at.astimezone(SHANGHAI).date(), link.call.branch_id, link.call.agent_id,
               link.callback.callback_type_id, link.outcome_id)
        outcomes[(*key, "attempts")] += 1
        outcomes[(*key, "connected")] += int(link.outcome.connected)
        outcomes[(*key, "successes")] += int(link.outcome.code == "success")
    calls: Counter[tuple[Any, ...]] = Counter()
    for call in Call.objects.all():
        assert call.ended_at is not None
        day_key = (call.dialed_at.astimezone(SHANGHAI).date(), call.branch_id, call.agent_id)
        calls[(*day_key, "calls")] += 1
        calls[(*day_key, "answered")] += int(call.answered_at is not None)
        calls[(*day_key, "talk_seconds")] += call.duration_seconds
        calls[(*day_key, "handle_seconds")] += int((call.ended_at - call.dialed_at).total_seconds())
    return +outcomes, +calls


def _stored_counts() -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    outcomes: Counter[tuple[Any, ...]] = Counter()
    for row in OutcomeStat.objects.all():
        key = (row.day, row.branch_id, row.agent_id, row.callback_type_id, row.outcome_id)
        for name in ("attempts", "connected", "successes"):
            outcomes[(*key, name)] += getattr(row, name)
    calls: Counter[tuple[Any, ...]] = Counter()
    for stat in CallStat.objects.all():
        day_key = (stat.day, stat.branch_id, stat.agent_id)
        for name in ("calls", "answered", "talk_seconds", "handle_seconds"):
            calls[(*day_key, name)] += getattr(stat, name)
    return +outcomes, +calls


def _calls_snapshot() -> list[tuple[Any, ...]]:
    return list(CallCallback.objects.order_by("call__serial").values_list(
        "call__serial", "call__agent__username", "call__customer__customer_no", "call__dialed_at",
        "call__ended_at", "callback__callback_type__code", "callback__state", "outcome__code", "registered_at"))


@pytest.mark.django_db
def test_the_demo_has_weeks_of_calls_whose_roll_ups_equal_the_raw_count(time_machine: Any) -> None:
    text = _demo(time_machine)
    assert "历史数据" in text
    links = CallCallback.objects.count()
    assert links > 1000 and Call.objects.count() == links
    assert _stored_counts() == _independent_counts()
    assert rollups.differences() == []
    days = {call.dialed_at.astimezone(SHANGHAI).date() for call in Call.objects.all()}
    assert all(is_working_day(day) for day in days)
    assert min(days) >= TODAY - dt.timedelta(days=DAYS) and max(days) < TODAY
    assert len(days) >= 25
    codes = Counter(CallCallback.objects.values_list("outcome__code", flat=True))
    assert 0.45 < codes["success"] / links < 0.65
    assert {"no_answer", "busy", "refused", "appointment"} <= set(codes)
    # reports for the month read the same totals the raw rows give
    month = rollups.outcome_totals(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))[0]
    in_month = CallCallback.objects.filter(registered_at__date__gte=dt.date(2026, 11, 1),
                                           registered_at__date__lte=dt.date(2026, 11, 30))
    assert month["attempts"] == in_month.count()
    assert month["successes"] == in_month.filter(outcome__code="success").count()


@pytest.mark.django_db
def test_callbacks_of_the_history_are_closed_by_their_last_outcome(time_machine: Any) -> None:
    _demo(time_machine)
    called = Callback.objects.filter(served_by_calls__isnull=False).distinct()
    assert called.count() > 500
    for callback in called.prefetch_related("served_by_calls__outcome", "served_by_calls__call"):
        served = sorted(callback.served_by_calls.all(), key=lambda link: link.call.dialed_at)
        last = served[-1]
        assert last.outcome is not None
        assert callback.attempts == len(served)
        assert callback.result == last.outcome.code
        assert callback.customer.manager_id != last.call.agent_id  # recusal
        if last.outcome.code == "success":
            assert callback.state == "done" and callback.closed_at == last.registered_at
        elif callback.state in ("assigned", "new"):
            # still to be worked: from the next working day after today (today's first calls are the demo's)
            assert callback.not_before is not None and callback.not_before.date() > TODAY
            assert (callback.state == "new") == (last.outcome.code == "appointment")
            assert callback.agent_id == (None if callback.state == "new" else last.call.agent_id)
        else:
            assert callback.state == "failed" and callback.closed_at == last.registered_at
    assert called.filter(state="done").count() > called.filter(state="failed").count()


@pytest.mark.django_db
def test_the_history_is_the_same_for_the_same_seed_and_a_reset_rebuilds_it(time_machine: Any) -> None:
    _demo(time_machine)
    first = _calls_snapshot()
    _demo(time_machine, reset=True)
    assert _calls_snapshot() == first
    assert rollups.differences() == []


@pytest.mark.django_db
def test_no_history_when_asked(time_machine: Any) -> None:
    text = _demo(time_machine, no_history=True)
    assert "历史数据" not in text
    assert not Call.objects.exists() and not OutcomeStat.objects.exists()


@pytest.mark.django_db
def test_a_number_found_empty_or_suspended_is_marked_invalid_and_on_the_correction_list_once(
        time_machine: Any) -> None:
    from huifang.calls.models import ContactCorrection
    from huifang.customers.models import ContactPoint

    _demo(time_machine)
    # 空号 and 停机: the outcomes whose policy marks the number invalid
    empty = CallCallback.objects.filter(outcome__policy="mark_invalid_then_next_phone").select_related("call")
    phones = {link.call.phone_id for link in empty}
    assert phones, "the history has no 空号"
    corrections = list(ContactCorrection.objects.filter(kind="invalid"))
    assert sorted(c.phone_id for c in corrections) == sorted(phones)  # one each, while open
    first: dict[Any, CallCallback] = {}
    for link in sorted(empty, key=lambda link: link.registered_at):
        first.setdefault(link.call.phone_id, link)
    for correction in corrections:
        assert correction.found_by_call_id == first[correction.phone_id].call_id
        assert correction.found_at == first[correction.phone_id].registered_at
    assert set(ContactPoint.objects.filter(pk__in=phones).values_list("validity", flat=True)) == {"invalid"}
