"""A branch copies a company template and adapts its copy; the copy is the branch's own."""

import pytest
from django.test import Client
from django.urls import reverse

from huifang.org.models import Branch, User
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Questionnaire


def test_a_branch_operator_copies_a_template_into_the_own_branch(operator_a: User, agent_b: User) -> None:
    template = Questionnaire.objects.get(code="std_new_account")
    client = Client()
    client.force_login(operator_a)
    answer = client.post(reverse("surveys:copy", args=[template.pk]), {"code": "pd_new_account"})
    assert answer.status_code == 302
    copy = Questionnaire.objects.get(code="pd_new_account")
    assert (copy.owner_branch, copy.copied_from, copy.is_template) == (operator_a.branch, template, False)
    draft = copy.versions.get()
    assert draft.state == VersionState.DRAFT
    assert draft.definition == template.versions.get(state=VersionState.PUBLISHED).definition
    assert client.get(answer["Location"]).status_code == 200
    outsider = Client()
    outsider.force_login(agent_b)
    assert "pd_new_account" not in outsider.get("/api/v1/questionnaires").content.decode()


def test_only_templates_are_copied(operator_a: User, hq_supervisor: User) -> None:
    Questionnaire.objects.filter(code="std_other").update(is_template=False)
    client = Client()
    client.force_login(operator_a)
    answer = client.post(reverse("surveys:copy", args=[Questionnaire.objects.get(code="std_other").pk]))
    assert answer.status_code == 422 and "不是模板" in answer.content.decode()


def test_an_agent_may_not_copy(agent_a: User) -> None:
    client = Client()
    client.force_login(agent_a)
    template = Questionnaire.objects.get(code="std_new_account")
    assert client.post(reverse("surveys:copy", args=[template.pk])).status_code == 403


def test_hq_limits_a_company_questionnaire_to_some_branches(hq_supervisor: User, branch_a: Branch,
                                                           branch_b: Branch, agent_a: User) -> None:
    import datetime as dt

    from huifang.customers.models import Customer
    from huifang.surveys import services

    questionnaire = Questionnaire.objects.get(code="std_satisfaction")
    client = Client()
    client.force_login(hq_supervisor)
    answer = client.post(reverse("surveys:properties", args=[questionnaire.pk]), {
        "props-name": "满意度调查（华东）", "props-callback_types": ["satisfaction"], "props-branches": [branch_a.pk]})
    assert answer.status_code == 302, answer.content
    questionnaire.refresh_from_db()
    assert questionnaire.name == "满意度调查（华东）" and list(questionnaire.branches.all()) == [branch_a]
    version = questionnaire.versions.get(state=VersionState.PUBLISHED)
    in_a = Customer.objects.create(customer_no="1", name="甲", branch=branch_a, open_date=dt.date(2025, 1, 6))
    in_b = Customer.objects.create(customer_no="2", name="乙", branch=branch_b, open_date=dt.date(2025, 1, 6))
    assert services.start_response(actor=agent_a, version=version, customer=in_a).pk
    with pytest.raises(services.QuestionnaireError, match="不适用于广州天河营业部"):
        services.start_response(actor=agent_a, version=version, customer=in_b)


def test_unknown_callback_types_are_refused(hq_supervisor: User) -> None:
    questionnaire = Questionnaire.objects.get(code="std_other")
    client = Client()
    client.force_login(hq_supervisor)
    answer = client.post(reverse("surveys:properties", args=[questionnaire.pk]),
                         {"props-name": "其他", "props-callback_types": ["lottery"]})
    assert answer.status_code == 422
