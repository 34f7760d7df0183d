"""Answer distributions per question over a period, and the rotation hint for questions whose answers stay at
the best option."""

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.surveys import services
from huifang.surveys.models import QuestionnaireVersion
from huifang.surveys.statistics import question_statistics, rotation_hints

QUESTIONS: list[dict[str, Any]] = [
    {"code": "Q1", "kind": "yes_no", "text": "是否本人", "must_pass": True},
    {"code": "Q2", "kind": "rating", "text": "服务态度", "scale": {"min": 1, "max": 5}},
    {"code": "Q3", "kind": "multiple", "text": "常用渠道", "requirement": "optional",
     "options": [{"code": "APP", "label": "手机APP"}, {"code": "WEB", "label": "网上交易"},
                 {"code": "TEL", "label": "电话委托"}]},
]


@pytest.fixture
def version(hq_supervisor: User) -> QuestionnaireVersion:
    draft = services.create_questionnaire(actor=hq_supervisor, code="stats_q", name="统计问卷", questions=QUESTIONS)
    return services.publish_version(actor=hq_supervisor, version=draft)


def answer_many(version: QuestionnaireVersion, branch: Branch, ratings: list[int]) -> None:
    for n, rating in enumerate(ratings):
        customer = Customer.objects.create(customer_no=f"00310100{n:05d}", name=f"客户{n}", branch=branch,
                                           open_date=dt.date(2025, 1, 6))
        response = services.start_response(actor=None, version=version, customer=customer)
        services.save_answer(actor=None, response=response, question_code="Q1", value="yes")
        services.save_answer(actor=None, response=response, question_code="Q2", value=rating)
        if n % 2:
            services.save_answer(actor=None, response=response, question_code="Q3", value=["APP", "TEL"])
        else:
            services.save_answer(actor=None, response=response, question_code="Q3", value=None)


def test_the_distribution_counts_each_value_skips_and_the_average(version: QuestionnaireVersion,
                                                                  branch_a: Branch) -> None:
    answer_many(version, branch_a, [5, 5, 4, 1])
    now = timezone.now()
    stats = {s.code: s for s in question_statistics(version=version, start=now - dt.timedelta(days=1),
                                                    end=now + dt.timedelta(days=1))}
    assert stats["Q2"].counts == {"5": 2, "4": 1, "1": 1} and stats["Q2"].average == 3.75
    assert (stats["Q3"].answered, stats["Q3"].skipped, stats["Q3"].counts) == (2, 2, {"APP": 2, "TEL": 2})
    assert stats["Q1"].labels == {"yes": "是", "no": "否"}


def test_the_period_bounds_the_responses_counted(version: QuestionnaireVersion, branch_a: Branch) -> None:
    answer_many(version, branch_a, [5])
    later = timezone.now() + dt.timedelta(days=1)
    assert all(s.answered == 0 for s in question_statistics(version=version, start=later,
                                                            end=later + dt.timedelta(days=1)))


def test_a_question_always_answered_best_is_flagged_for_rotation(version: QuestionnaireVersion,
                                                                 branch_a: Branch) -> None:
    answer_many(version, branch_a, [5] * 9 + [4])
    now = timezone.now()
    window = {"since": now - dt.timedelta(days=1), "until": now + dt.timedelta(days=1)}
    hints = rotation_hints(**window, min_answers=10, share=0.9)
    assert [(h.questionnaire, h.question, h.share, h.answered) for h in hints] == [("stats_q", "Q2", 0.9, 10)]
    assert rotation_hints(**window, min_answers=11, share=0.9) == []
    assert rotation_hints(**window, min_answers=10, share=0.95) == []


def test_the_command_prints_the_hints(version: QuestionnaireVersion, branch_a: Branch, settings: Any) -> None:
    settings.SURVEY_ROTATION_MIN_ANSWERS = 3
    answer_many(version, branch_a, [5, 5, 5])
    out = StringIO()
    call_command("surveys", "rotation-hints", stdout=out)
    assert "stats_q 第 1 版 Q2“服务态度”：3 个回答中 100% 为“5”" in out.getvalue()


def test_the_statistics_page_shows_the_distribution_and_marks_rotation(
        version: QuestionnaireVersion, branch_a: Branch, hq_supervisor: User, settings: Any) -> None:
    from django.test import Client
    from django.urls import reverse

    settings.SURVEY_ROTATION_MIN_ANSWERS = 3
    answer_many(version, branch_a, [5, 5, 5])
    client = Client()
    client.force_login(hq_supervisor)
    page = client.get(reverse("surveys:statistics", args=[version.questionnaire_id])).content.decode()
    q2 = page[page.index('id="stats-Q2"'):page.index('id="stats-Q3"')]
    assert "100%" in q2 and ("轮换" in q2 or "rotate" in q2)
    assert client.get(reverse("surveys:statistics", args=[version.questionnaire_id]) + "?from=x").status_code == 400


def test_the_statistics_count_only_the_customers_a_branch_sees(
        version: QuestionnaireVersion, branch_a: Branch, operator_a: User, make_user: Any) -> None:
    from django.test import Client
    from django.urls import reverse

    from huifang.org.choices import Role

    answer_many(version, branch_a, [5, 4])
    branch_b = Branch.objects.create(code="4401", name="广州天河营业部")
    operator_b = make_user(branch_b, Role.BRANCH_OPERATOR, username="operator_b")
    client = Client()
    client.force_login(operator_b)
    page = client.get(reverse("surveys:statistics", args=[version.questionnaire_id])).content.decode()
    assert "0 answered" in page or "0 人回答" in page


def test_the_hq_supervisors_home_page_lists_the_questions_to_rotate(
        version: QuestionnaireVersion, branch_a: Branch, hq_supervisor: User, settings: Any) -> None:
    from django.test import Client

    settings.SURVEY_ROTATION_MIN_ANSWERS = 3
    answer_many(version, branch_a, [5, 5, 5])
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(hq_supervisor)
    page = client.get("/").content.decode()
    assert "需要轮换的题目（最近 90 天）" in page
    assert "Q2 服务态度" in page and "100%" in page
