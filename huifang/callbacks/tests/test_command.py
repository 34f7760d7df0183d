"""`huifang rules run` and `huifang rules explain`: a Chinese table or the API's JSON; exit status 2 for a bad
date, a missing rule or customer."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huifang.callbacks.models import Callback, RuleRun
from huifang.callbacks.tests.test_api import RUN_AS_OF, covered_calendar, customer_a, customer_b, transfers
from huifang.campaigns.models import Rule
from huifang.customers.models import Customer

__all__ = ["covered_calendar", "customer_a", "customer_b", "transfers"]


def rules(*arguments: str) -> str:
    out = StringIO()
    call_command("rules", *arguments, stdout=out)
    return out.getvalue()


def test_json_is_the_api_answer(transfers: None) -> None:
    answer = json.loads(rules("run", "--as-of", RUN_AS_OF.isoformat(), "--json"))
    run = RuleRun.objects.get()
    assert answer == {"run_id": run.pk, "as_of": "2026-06-03", "dry_run": False, "created": 2, "errors": [],
                      "counts": [{"type": "large_transfer", "branch": "3101", "count": 1},
                                 {"type": "large_transfer", "branch": "4401", "count": 1}]}
    assert (run.trigger, run.started_by) == ("manual", None)
    assert Callback.objects.count() == 2


def test_the_table_names_types_and_branches_in_chinese(transfers: None) -> None:
    out = rules("run", "--as-of", "2026-06-03")
    assert "生成 2 条回访任务" in out
    assert "回访类型" in out and "营业部" in out
    assert "上海浦东营业部（3101）" in out and "广州天河营业部（4401）" in out
    assert "（large_transfer）" in out


def test_a_dry_run_creates_nothing_and_running_twice_creates_nothing_new(transfers: None) -> None:
    dry = json.loads(rules("run", "--as-of", "2026-06-03", "--dry-run", "--json"))
    assert (dry["dry_run"], dry["created"]) == (True, 2)
    assert "将生成 2 条" in rules("run", "--as-of", "2026-06-03", "--dry-run")
    assert not Callback.objects.exists()
    assert json.loads(rules("run", "--as-of", "2026-06-03", "--json"))["created"] == 2
    again = json.loads(rules("run", "--as-of", "2026-06-03", "--json"))
    assert (again["created"], again["counts"]) == (0, [])
    assert Callback.objects.count() == 2


def test_rules_that_cannot_run_are_listed(transfers: None) -> None:
    out = rules("run", "--as-of", "2031-06-03")
    assert "生成 0 条回访任务" in out
    assert "规则 " in out and "日历" in out


@pytest.mark.parametrize("arguments", [
    ["run", "--as-of", "2026-02-30"],
    ["run", "--as-of", "20260603"],
    ["explain", "--rule", "1", "--customer", "0031010000001", "--as-of", "昨天"],
    ["explain", "--rule", "x", "--customer", "0031010000001"],
    ["explain", "--rule", "987654", "--customer", "0031010000001"],
    ["explain", "--rule", "1", "--customer", "0031019999999"],
])
def test_bad_arguments_exit_2_and_run_nothing(customer_a: Customer, arguments: list[str]) -> None:
    with pytest.raises(CommandError) as raised:
        rules(*arguments)
    assert raised.value.returncode == 2
    assert not RuleRun.objects.exists()


def test_explain_prints_each_condition_and_whether_it_holds(transfers: None) -> None:
    rule = Rule.objects.get(callback_type__code="large_transfer")
    holds = rules("explain", "--rule", str(rule.pk), "--customer", "0031010000001", "--as-of", "2026-06-03")
    assert f"规则 {rule.pk}" in holds and "0031010000001" in holds
    assert "不满足" not in holds and "成立" in holds
    assert "全部条件" in holds
    # a day later the transfer is outside the rule's one-day window
    later = rules("explain", "--rule", str(rule.pk), "--customer", "0031010000001", "--as-of", "2026-06-10")
    assert "不满足" in later
    assert not Callback.objects.exists()


def test_explain_a_rule_that_cannot_be_compiled_exits_1(customer_a: Customer) -> None:
    rule = Rule.objects.get(callback_type__code="large_transfer")
    with pytest.raises(CommandError) as raised:
        rules("explain", "--rule", str(rule.pk), "--customer", "0031010000001", "--as-of", "2031-06-03")
    assert raised.value.returncode == 1
