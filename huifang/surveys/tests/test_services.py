"""Versions and responses: a published version is frozen, old responses stay readable and correct after a new
version, every answer is saved as it is given, and a response resumes where it stopped."""

import datetime as dt
from typing import Any

import pytest

from huifang.audit.models import AuditEntry
from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.surveys import services
from huifang.surveys.choices import ResponseStatus, VersionState
from huifang.surveys.models import Answer, QuestionnaireVersion, Response

QUESTIONS: list[dict[str, Any]] = [
    {"code": "Q1", "kind": "yes_no", "text": "是否本人", "script": "请问是{客户姓名}本人吗？", "must_pass": True},
    {"code": "Q2", "kind": "rating", "text": "满意度", "script": "您对我们的服务打几分？",
     "scale": {"min": 1, "max": 5, "labels": {"1": "很不满意", "5": "非常满意"}}},
    {"code": "Q3", "kind": "text", "text": "不满意原因", "script": "请问哪里做得不好？", "requirement": "soft",
     "logic": {"show_if": {"q": "Q2", "op": "lte", "value": 2}}},
    {"code": "Q4", "kind": "single", "text": "是否承诺收益", "script": "工作人员是否向您承诺过收益？",
     "options": [{"code": "N", "label": "没有"}, {"code": "Y", "label": "有"}]},
]


@pytest.fixture
def customer(branch_a: Branch) -> Customer:
    return Customer.objects.create(customer_no="0031010000001", name="张伟", branch=branch_a,
                                   open_date=dt.date(2025, 1, 6))


@pytest.fixture
def published(hq_supervisor: User) -> QuestionnaireVersion:
    draft = services.create_questionnaire(actor=hq_supervisor, code="test_new_account", name="新开户回访问卷",
                                          questions=QUESTIONS, callback_types=["new_account"], is_template=True)
    return services.publish_version(actor=hq_supervisor, version=draft)


def test_publishing_freezes_the_version_and_editing_makes_a_new_draft(published: QuestionnaireVersion,
                                                                      hq_supervisor: User) -> None:
    with pytest.raises(services.QuestionnaireError, match="不能修改"):
        services.save_draft(actor=hq_supervisor, version=published, questions=QUESTIONS[:2])
    draft = services.new_draft(actor=hq_supervisor, questionnaire=published.questionnaire)
    assert (draft.number, draft.state, draft.definition) == (2, VersionState.DRAFT, QUESTIONS)
    assert services.new_draft(actor=hq_supervisor, questionnaire=published.questionnaire) == draft
    assert AuditEntry.objects.filter(action="publish").count() == 1


def test_publishing_broken_logic_is_refused_naming_the_question(hq_supervisor: User) -> None:
    broken = [*QUESTIONS[:2], {**QUESTIONS[2], "logic": {"show_if": {"q": "Q4", "op": "eq", "value": "Y"}}},
              QUESTIONS[3]]
    draft = services.create_questionnaire(actor=hq_supervisor, code="broken", name="坏问卷", questions=broken)
    with pytest.raises(services.QuestionnaireError) as raised:
        services.publish_version(actor=hq_supervisor, version=draft)
    assert raised.value.messages == ["Q3“不满意原因”：条件只能引用前面的题目，Q4 在它之后（或就是它自己）"]
    draft.refresh_from_db()
    assert draft.state == VersionState.DRAFT


def test_each_answer_is_saved_as_given_and_the_response_resumes(published: QuestionnaireVersion,
                                                                customer: Customer, agent_a: User) -> None:
    response = services.start_response(actor=agent_a, version=published, customer=customer)
    assert response.current_question == "Q1"
    services.save_answer(actor=agent_a, response=response, question_code="Q1", value="yes")
    step = services.save_answer(actor=agent_a, response=response, question_code="Q2", value=2)
    assert step.question == "Q3"
    # A reload: everything comes back from the database.
    again = Response.objects.get(pk=response.pk)
    assert again.current_question == "Q3"
    assert services.answers_of(again) == {"Q1": "yes", "Q2": 2}
    assert all(a.answered_at is not None for a in again.answers.all())
    # Resumed later through the web: the soft question is skipped with a reason.
    with pytest.raises(services.QuestionnaireError, match="原因"):
        services.save_answer(actor=None, response=again, question_code="Q3", channel="web")
    services.save_answer(actor=None, response=again, question_code="Q3", skipped_reason="客户不愿说", channel="web")
    services.save_answer(actor=None, response=again, question_code="Q4", value="N", channel="web")
    finished = services.finish_response(actor=None, response=again)
    assert (finished.status, finished.channel) == (ResponseStatus.COMPLETE, "web")


def test_changing_an_earlier_answer_drops_the_answers_the_new_path_skips(published: QuestionnaireVersion,
                                                                         customer: Customer) -> None:
    response = services.start_response(actor=None, version=published, customer=customer)
    for code, value in [("Q1", "yes"), ("Q2", 1), ("Q3", "等太久"), ("Q4", "N")]:
        services.save_answer(actor=None, response=response, question_code=code, value=value)
    services.save_answer(actor=None, response=response, question_code="Q2", value=5)
    assert services.answers_of(response) == {"Q1": "yes", "Q2": 5, "Q4": "N"}
    with pytest.raises(services.QuestionnaireError, match="不需要回答"):
        services.save_answer(actor=None, response=response, question_code="Q3", value="又想说了")


def test_a_failed_identity_question_ends_as_not_owner(published: QuestionnaireVersion, customer: Customer) -> None:
    response = services.start_response(actor=None, version=published, customer=customer)
    step = services.save_answer(actor=None, response=response, question_code="Q1", value="no")
    assert step.ended == "not_owner"
    response.refresh_from_db()
    assert (response.status, response.current_question) == (ResponseStatus.NOT_OWNER, "")
    with pytest.raises(services.QuestionnaireError, match="已结束"):
        services.save_answer(actor=None, response=response, question_code="Q2", value=3)


def test_a_dropped_call_leaves_an_incomplete_response(published: QuestionnaireVersion, customer: Customer) -> None:
    response = services.start_response(actor=None, version=published, customer=customer)
    services.save_answer(actor=None, response=response, question_code="Q1", value="yes")
    assert services.finish_response(actor=None, response=response).status == ResponseStatus.INCOMPLETE


def test_responses_to_an_old_version_stay_readable_after_a_new_one(published: QuestionnaireVersion,
                                                                   customer: Customer, hq_supervisor: User) -> None:
    response = services.start_response(actor=None, version=published, customer=customer)
    services.save_answer(actor=None, response=response, question_code="Q1", value="yes")
    services.save_answer(actor=None, response=response, question_code="Q2", value=4)
    draft = services.new_draft(actor=hq_supervisor, questionnaire=published.questionnaire)
    changed = [QUESTIONS[0], {**QUESTIONS[1], "kind": "nps", "text": "推荐度"}, QUESTIONS[3]]
    services.save_draft(actor=hq_supervisor, version=draft, questions=changed)
    services.publish_version(actor=hq_supervisor, version=draft)
    old = Response.objects.select_related("version").get(pk=response.pk)
    published.refresh_from_db()
    assert old.version == published and published.state == VersionState.RETIRED
    definition = services.definition_of(old.version)
    assert definition.question("Q2").kind == "rating"  # type: ignore[union-attr]
    assert definition.question("Q3") is not None
    assert services.answers_of(old) == {"Q1": "yes", "Q2": 4}
    # New responses use the new version only.
    with pytest.raises(services.QuestionnaireError, match="已发布"):
        services.start_response(actor=None, version=published, customer=customer)


def test_export_and_import_give_the_same_questionnaire_back(published: QuestionnaireVersion,
                                                            hq_supervisor: User) -> None:
    exported = services.export_version(published)
    exported["code"] = "copy_of_std"
    imported = services.import_questionnaire(actor=hq_supervisor, data=exported, publish=True)
    assert imported.state == VersionState.PUBLISHED
    again = services.export_version(imported)
    assert {k: v for k, v in again.items() if k != "code"} == {k: v for k, v in exported.items() if k != "code"}


def test_an_import_in_another_format_is_refused(hq_supervisor: User) -> None:
    with pytest.raises(services.QuestionnaireError, match="format"):
        services.import_questionnaire(actor=hq_supervisor, data={"questions": QUESTIONS})
    assert not Answer.objects.exists()
