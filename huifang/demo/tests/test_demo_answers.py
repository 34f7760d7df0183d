"""The questionnaire answers of the demo's past: each successful callback of the history has a finished response
to its questionnaire, valid by the surveys app's own rules and exactly what its services write when an agent
answers, so that a fresh demo shows the satisfaction analysis and the questionnaire completion rate."""

import datetime as dt
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from huifang.callbacks.attempts import questionnaire_complete
from huifang.callbacks.models import Callback
from huifang.demo.history import remove_history
from huifang.demo.org import DEMO_BRANCH_CODES
from huifang.org.models import Branch, User
from huifang.reports.kpis import KPI_BY_CODE
from huifang.reports.periods import period_containing
from huifang.reports.registry import build_report
from huifang.surveys import rules, services
from huifang.surveys.models import Answer, Response

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a Thursday morning in Beijing: the 45 days of history cover the whole of November 2026
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
LAST_MONTH = period_containing("month", NOW.date()).previous()


def _demo(time_machine: Any, **options: Any) -> str:
    time_machine.move_to(NOW, tick=False)
    out = StringIO()
    call_command("demo_data", customers=400, seed=7, stdout=out, **options)
    return out.getvalue()


def _supervisor() -> User:
    return User.objects.get(username="supervisor")


def _answers_snapshot() -> list[tuple[Any, ...]]:
    """Every answer with what identifies its callback and response without ids."""
    return list(Answer.objects.order_by("response__customer__customer_no", "response__started_at",
                                        "answered_at").values_list(
        "response__customer__customer_no", "response__version__questionnaire__code", "response__status",
        "response__started_by__username", "response__started_at", "response__finished_at", "question_code",
        "value", "other_text", "skipped_reason", "answered_at"))


@pytest.mark.django_db
def test_the_last_months_satisfaction_has_every_branch_with_scores_between_0_and_100(time_machine: Any) -> None:
    _demo(time_machine)
    report = build_report("satisfaction", user=_supervisor(), period=LAST_MONTH, branch_id=None)
    tables = {table.title: table for table in report.tables}
    branches = set(Branch.objects.filter(code__in=DEMO_BRANCH_CODES, is_headquarters=False)
                   .values_list("name", flat=True))
    by_branch = tables["按营业部"]
    assert {row[0] for row in by_branch.rows} == branches and len(branches) == 5
    for table in (by_branch, tables["按客户等级"], tables["按回访人员"], tables["按业务线"]):
        assert table.rows and table.total is not None
        for row in [*table.rows, table.total]:
            assert row[1] > 0 and 0 <= float(row[2]) <= 100 and 0 <= row[3] <= row[1]
    assert by_branch.total is not None
    responses, satisfied = by_branch.total[1], by_branch.total[3]
    # mostly satisfied, not all
    assert responses > 500 and 0.6 < satisfied / responses < 0.95
    # every demo agent, not all alike
    agents = User.objects.filter(groups__name="agent", agent_no__isnull=False, branch__code__in=DEMO_BRANCH_CODES)
    assert len(tables["按回访人员"].rows) == agents.count() > 5
    assert len({row[2] for row in tables["按回访人员"].rows}) > 1
    assert all(row[4] > 0 for row in tables["满意度题目"].rows)


@pytest.mark.django_db
def test_the_questionnaire_completion_rate_of_the_last_month_is_above_zero(time_machine: Any) -> None:
    _demo(time_machine)
    complete, reached, value = KPI_BY_CODE["questionnaire_completion"].compute(_supervisor(), LAST_MONTH, None)
    assert value is not None and 0 < value < 1  # refused and not-the-owner callbacks were reached, not answered
    assert complete > 500
    # counted one raw row at a time: due in the month, with a questionnaire, reached at least once
    reached_rows = [callback for callback in Callback.objects.select_related("response").prefetch_related(
        "served_by_calls__outcome") if LAST_MONTH.start <= callback.due_date <= LAST_MONTH.end
        and callback.state != "cancelled" and callback.questionnaire_version_id is not None
        and any(link.outcome is not None and link.outcome.connected for link in callback.served_by_calls.all())]
    assert reached == len(reached_rows)
    # complete as the callbacks app decides it for one callback: its own response, else another complete one
    # of the customer to the same version started after the callback was created
    assert complete == sum(1 for callback in reached_rows if questionnaire_complete(callback))
    assert complete >= sum(1 for callback in reached_rows
                           if callback.response is not None and callback.response.status == "complete")
    figures = {figure.label: figure.value for figure in
               build_report("kpis", user=_supervisor(), period=LAST_MONTH, branch_id=None).figures}
    assert figures["问卷完成率"] == f"{complete / reached:.1%}"


@pytest.mark.django_db
def test_every_successful_callback_has_a_finished_response_valid_by_the_questionnaire_rules(
        time_machine: Any) -> None:
    _demo(time_machine)
    successful = Callback.objects.filter(state="done", result="success", served_by_calls__isnull=False).distinct()
    assert successful.count() > 1000
    assert not successful.filter(response__isnull=True).exists()
    assert Response.objects.count() == successful.count()
    for callback in successful.select_related("response__version").prefetch_related(
            "response__answers", "served_by_calls__call", "served_by_calls__outcome"):
        response = callback.response
        assert response is not None and response.status == "complete" and response.current_question == ""
        assert response.version_id == callback.questionnaire_version_id and response.version.state == "published"
        assert response.customer_id == callback.customer_id and response.started_by_id == callback.agent_id
        assert response.channel == "phone" and response.event_id == callback.event_id
        # answered during the successful call, finished before its outcome was registered
        call = next(link for link in callback.served_by_calls.all() if link.outcome.code == "success")
        answers = sorted(response.answers.all(), key=lambda answer: answer.answered_at)
        assert call.call.answered_at <= answers[0].answered_at and answers[-1].answered_at <= call.call.ended_at
        assert response.started_at <= call.call.dialed_at
        assert answers[-1].answered_at < response.finished_at <= call.registered_at
        # the surveys rules: each value in its stored form, required ones answered, the path followed to the end
        definition = rules.parse_definition(response.version.definition)
        given: dict[str, Any] = {}
        for answer in answers:
            question = definition.question(answer.question_code)
            assert question is not None
            if answer.value is None:
                assert question.requirement != "required" and answer.other_text == ""
                assert (question.requirement == "soft") == bool(answer.skipped_reason)
            else:
                assert rules.clean_answer(question, answer.value, answer.other_text) == answer.value
                assert answer.skipped_reason == ""
            assert not (question.must_pass and answer.value == "no")
            given[answer.question_code] = answer.value
        assert [answer.question_code for answer in answers] == rules.path(definition, given)
        assert rules.reachable(definition, given) == list(given)
        assert questionnaire_complete(callback)  # the callbacks app's own decision


def _opened_a_follow_up(response: Response) -> bool:
    """Whether an earlier answer showed a text question of the response (a problem to record)."""
    definition = rules.parse_definition(response.version.definition)
    for answer in response.answers.all():
        question = definition.question(answer.question_code)
        if question is not None and question.kind == "text" and question.show_if is not None \
                and answer.value is not None:
            return True
    return False


@pytest.mark.django_db
def test_the_generated_rows_are_what_the_surveys_services_write(time_machine: Any) -> None:
    _demo(time_machine)
    sample: list[Response] = []
    for code in sorted(set(Response.objects.values_list("version__questionnaire__code", flat=True))):
        sample += list(Response.objects.filter(version__questionnaire__code=code).order_by("pk")[:3])
    # and answers of every sort: a soft question skipped with a reason, an optional one skipped, an "other"
    # option with its text, a follow-up opened (a text question shown by an earlier answer)
    for answers in (Answer.objects.exclude(skipped_reason=""), Answer.objects.filter(value__isnull=True,
                                                                                     skipped_reason=""),
                    Answer.objects.exclude(other_text="")):
        first = answers.order_by("pk").first()
        assert first is not None
        sample.append(first.response)
    sample.append(next(response for response in Response.objects.order_by("pk").prefetch_related("answers")
                       if _opened_a_follow_up(response)))
    assert 20 <= len(sample) <= 40
    for generated in sample:
        agent = generated.started_by
        replayed = services.start_response(actor=agent, version=generated.version, customer=generated.customer,
                                           channel="phone", event=generated.event)
        for answer in generated.answers.order_by("answered_at"):
            services.save_answer(actor=agent, response=replayed, question_code=answer.question_code,
                                 value=answer.value, other_text=answer.other_text,
                                 skipped_reason=answer.skipped_reason, channel="phone")
        services.finish_response(actor=agent, response=replayed)
        replayed.refresh_from_db()
        fields = ("version_id", "customer_id", "event_id", "status", "channel", "current_question", "started_by_id")
        assert [getattr(replayed, name) for name in fields] == [getattr(generated, name) for name in fields]
        columns = ("question_code", "value", "other_text", "skipped_reason")
        assert list(replayed.answers.order_by("answered_at", "pk").values_list(*columns)) == \
            list(generated.answers.order_by("answered_at").values_list(*columns))


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_answers_and_a_reset_replaces_them(time_machine: Any) -> None:
    _demo(time_machine)
    first = _answers_snapshot()
    responses = Response.objects.count()
    assert len(first) > responses > 1000
    _demo(time_machine, reset=True)
    assert _answers_snapshot() == first
    assert Response.objects.count() == responses
    remove_history()
    assert not Response.objects.exists() and not Answer.objects.exists()
    assert not Callback.objects.filter(response__isnull=False).exists()


@pytest.mark.django_db
def test_no_answers_without_the_history(time_machine: Any) -> None:
    _demo(time_machine, no_history=True)
    assert not Response.objects.exists()
    report = build_report("satisfaction", user=_supervisor(), period=LAST_MONTH, branch_id=None)
    assert report.tables[2].rows == []
