"""A branch copies a company template and adapts its copy; the copy is the branch's own."""

from django.test import Client
from django.urls import reverse

from huifang.org.models import User
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
