"""Satisfaction analysis (满意度分析): for the generated month's responses, answered at random (satisfaction
ratings, other questions, skips), every figure — by customer segment, agent, branch and business line — equals a
computation made here from the raw answers and the questionnaires' JSON; a branch sees only its own."""

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest

from huifang.callbacks.models import Callback
from huifang.campaigns.models import CallbackType
from huifang.org.models import User
from huifang.org.queries import NotFound
from huifang.reports.periods import Period, parse_period
from huifang.reports.registry import build_report
from huifang.reports.satisfaction import TIER_TEXT
from huifang.reports.tests.test_kpis import SHANGHAI, Month, generated_month
from huifang.surveys.models import Answer, Response

__all__ = ["generated_month"]

MONTH = parse_period("2026-10")
QUARTER = parse_period("2026-Q4")


@pytest.fixture
def answered(generated_month: Month) -> Month:
    """Every response of the month answered: each rating question at random or skipped, each yes/no question."""
    rng = random.Random(7)
    at = dt.datetime(2026, 10, 1, tzinfo=SHANGHAI)
    for response in generated_month.responses:
        for question in response.version.definition:
            value: int | str | None
            if question["kind"] == "rating":
                scale = question.get("scale", {})
                value = None if rng.random() < 0.15 else rng.randint(scale.get("min", 1), scale.get("max", 5))
            elif question["kind"] == "yes_no":
                value = rng.choice(["yes", "no"])
            else:
                continue
            Answer.objects.create(response=response, question_code=question["code"], value=value, answered_at=at)
    return generated_month


def _expected(user: User, period: Period) -> dict[str, dict[Any, tuple[int, float, int]]]:
    """(responses, mean score, satisfied) per dimension, from the raw rows and the definitions' JSON."""
    low, high = period.bounds()
    types = dict(CallbackType.objects.values_list("code", "id"))
    groups: dict[str, dict[Any, list[tuple[float, bool]]]] = defaultdict(lambda: defaultdict(list))
    for response in Response.objects.select_related("customer", "version__questionnaire"):
        if not (low <= response.started_at < high):
            continue
        if not ((user.branch is not None and user.branch.is_headquarters)
                or response.customer.branch_id == user.branch_id):
            continue
        scales = {q["code"]: (q["scale"]["min"], q["scale"]["max"]) for q in response.version.definition
                  if q["kind"] == "rating" and "满意" in q["text"]}
        points = []
        for answer in Answer.objects.filter(response=response):
            if answer.question_code in scales and answer.value is not None:
                lo, hi = scales[answer.question_code]
                points.append(((answer.value - lo) / (hi - lo) * 100, answer.value >= hi - 1, answer.value))
        if not points:
            continue
        score = sum(p[0] for p in points) / len(points)
        lo_hi = [scales[a.question_code] for a in Answer.objects.filter(response=response)
                 if a.question_code in scales and a.value is not None]
        satisfied = sum(p[2] for p in points) / len(points) >= sum(hi - 1 for _lo, hi in lo_hi) / len(lo_hi)
        callback = Callback.objects.filter(response=response).order_by("id").first()
        agent = response.started_by_id or (callback.agent_id if callback else None)
        line = callback.callback_type_id if callback else types.get(
            (response.version.questionnaire.callback_types or [None])[0])
        for dimension, key in (("tier", response.customer.tier), ("agent", agent),
                               ("branch", response.customer.branch_id), ("line", line), ("all", None)):
            groups[dimension][key].append((score, satisfied))
    return {dimension: {key: (len(items), sum(s for s, _ in items) / len(items), sum(1 for _, ok in items if ok))
                        for key, items in per.items()} for dimension, per in groups.items()}


def _table(rows: list[list[Any]]) -> dict[str, tuple[int, str, int]]:
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _names(expected: dict[Any, tuple[int, float, int]], names: dict[Any, str]) -> dict[str, tuple[int, str, int]]:
    return {names.get(key, "未知"): (n, f"{mean:.1f}", ok) for key, (n, mean, ok) in expected.items()}


@pytest.mark.django_db
@pytest.mark.parametrize("period", [MONTH, QUARTER], ids=["month", "quarter"])
def test_every_satisfaction_figure_equals_the_computation_from_the_raw_answers(
        period: Period, answered: Month, hq_supervisor: User) -> None:
    report = build_report("satisfaction", user=hq_supervisor, period=period)
    expected = _expected(hq_supervisor, period)
    by_tier, by_agent, by_branch, by_line, questions = report.tables
    assert _table(by_tier.rows) == _names(expected["tier"], TIER_TEXT)
    agents = {u.pk: f"{u.name}（{u.agent_no}）" for u in User.objects.all()}
    assert _table(by_agent.rows) == _names(expected["agent"], agents)
    assert _table(by_branch.rows) == _names(expected["branch"], {b.pk: b.name for b in (answered.branch_a,
                                                                                         answered.branch_b)})
    assert _table(by_line.rows) == _names(expected["line"], dict(CallbackType.objects.values_list("id", "name")))
    [(count, mean, satisfied)] = expected["all"].values()
    figures = {figure.label: figure.value for figure in report.figures}
    assert figures == {"答卷数": f"{count:,}", "满意度得分": f"{mean:.1f}", "满意率": f"{satisfied / count:.1%}"}
    assert by_tier.total == ["合计", count, f"{mean:.1f}", satisfied, f"{satisfied / count:.1%}"]
    assert 10 < count < len(answered.responses) and 0 < satisfied < count
    assert all("满意" in row[2] for row in questions.rows) and questions.rows
    assert len(report.charts) == 3


@pytest.mark.django_db
def test_a_branch_sees_the_satisfaction_of_its_own_customers_only(answered: Month, operator_a: User) -> None:
    report = build_report("satisfaction", user=operator_a, period=QUARTER)
    assert [row[0] for row in report.tables[2].rows] == [answered.branch_a.name]
    [(count, _mean, _ok)] = _expected(operator_a, QUARTER)["all"].values()
    assert report.tables[0].total is not None and report.tables[0].total[1] == count
    with pytest.raises(NotFound):
        build_report("satisfaction", user=operator_a, period=QUARTER, branch_id=answered.branch_b.pk)


@pytest.mark.django_db
def test_no_answers_give_an_empty_analysis_not_an_error(hq_supervisor: User) -> None:
    report = build_report("satisfaction", user=hq_supervisor, period=MONTH)
    assert report.figures[0].value == "0" and report.figures[1].value == "—"
    assert all(table.rows == [] for table in report.tables)
