"""The questionnaire API: list and read versions, create and publish from the export format (same checks as the
designer), read a response; branch isolation of branch-owned questionnaires and of responses."""

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.surveys import services
from huifang.surveys.models import QuestionnaireVersion

QUESTIONS: list[dict[str, Any]] = [
    {"code": "Q1", "kind": "yes_no", "text": "是否本人", "script": "请问是{客户姓名}本人吗？", "must_pass": True},
    {"code": "Q2", "kind": "rating", "text": "满意度", "script": "请打分。"},
]


def body(code: str = "api_q", questions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"format": "huifang.questionnaire/1", "code": code, "name": "接口问卷", "callback_types": ["other"],
            "questions": questions or QUESTIONS}


@pytest.fixture
def designer(hq_supervisor: User) -> User:
    """The HQ supervisor, with the permission to create questionnaires given outright (the role grants it too)."""
    from django.contrib.auth.models import Permission

    hq_supervisor.user_permissions.add(Permission.objects.get(codename="add_questionnaire"))
    return User.objects.get(pk=hq_supervisor.pk)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(data), content_type="application/json")


def test_the_list_shows_the_standard_set_with_published_versions(agent_a: User) -> None:
    listed = client_of(agent_a).get("/api/v1/questionnaires?callback_type=new_account").json()
    assert [(q["code"], q["published_version"], q["state"]) for q in listed] == [
        ("std_new_account", 1, "published")]


def test_create_and_publish_from_the_export_format(designer: User) -> None:
    client = client_of(designer)
    created = post(client, "/api/v1/questionnaires?publish=true", body())
    assert created.status_code == 201, created.content
    assert (created.json()["version"], created.json()["state"]) == (1, "published")
    read = client.get("/api/v1/questionnaires/api_q/versions/1").json()
    assert read["questions"] == QUESTIONS


def test_publishing_broken_logic_is_refused_naming_the_question(designer: User) -> None:
    broken = [QUESTIONS[0], {**QUESTIONS[1], "logic": {"show_if": {"q": "Q9", "op": "answered"}}}]
    answer = post(client_of(designer), "/api/v1/questionnaires?publish=true", body(questions=broken))
    assert answer.status_code == 400
    assert answer.json()["errors"] == ["Q2“满意度”：条件引用了不存在的题目 Q9"]
    assert not QuestionnaireVersion.objects.filter(questionnaire__code="api_q").exists()


def test_an_agent_may_not_create_questionnaires(agent_a: User) -> None:
    assert post(client_of(agent_a), "/api/v1/questionnaires", body()).status_code == 403


@pytest.fixture
def branch_a_questionnaire(branch_a: Branch, operator_a: User) -> QuestionnaireVersion:
    version = services.create_questionnaire(actor=operator_a, code="pd_own", name="浦东自建问卷",
                                            questions=QUESTIONS, owner_branch=branch_a)
    return services.publish_version(actor=operator_a, version=version)


def test_another_branchs_questionnaire_is_not_found(branch_a_questionnaire: QuestionnaireVersion,
                                                    agent_b: User, agent_a: User) -> None:
    outsider = client_of(agent_b)
    assert outsider.get("/api/v1/questionnaires/pd_own").status_code == 404
    assert "pd_own" not in outsider.get("/api/v1/questionnaires").content.decode()
    assert client_of(agent_a).get("/api/v1/questionnaires/pd_own").status_code == 200


def test_a_response_is_read_through_its_customers_branch(branch_a: Branch, agent_a: User, agent_b: User) -> None:
    customer = Customer.objects.create(customer_no="0031010000001", name="张伟", branch=branch_a,
                                       open_date=dt.date(2025, 1, 6))
    version = QuestionnaireVersion.objects.get(questionnaire__code="std_new_account", state="published")
    response = services.start_response(actor=agent_a, version=version, customer=customer)
    first = version.definition[0]["code"]
    services.save_answer(actor=agent_a, response=response, question_code=first, value="yes")
    read = client_of(agent_a).get(f"/api/v1/responses/{response.pk}").json()
    assert (read["questionnaire"], read["customer_no"], read["answers"][0]["value"]) == (
        "std_new_account", "0031010000001", "yes")
    assert client_of(agent_b).get(f"/api/v1/responses/{response.pk}").status_code == 404


def test_api_clients_are_refused(branch_a: Branch) -> None:
    from huifang.org.services import create_api_client

    _, token = create_api_client(name="crm", all_branches=True)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/questionnaires")
    assert response.status_code == 403
