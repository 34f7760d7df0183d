"""Filling in a questionnaire on the page: every answer is saved as it is given, a reload shows where the response
stands, logic is followed, bad answers are refused with the reason, another branch's response is not found."""

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.surveys import services
from huifang.surveys.choices import ResponseStatus
from huifang.surveys.models import QuestionnaireVersion, Response

QUESTIONS: list[dict[str, Any]] = [
    {"code": "Q1", "kind": "yes_no", "text": "是否本人", "script": "您好，请问是{客户姓名}本人吗？", "must_pass": True},
    {"code": "Q2", "kind": "rating", "text": "满意度", "script": "请为{营业部}的服务打分。",
     "scale": {"min": 1, "max": 5, "labels": {"1": "很不满意", "5": "非常满意"}}},
    {"code": "Q3", "kind": "text", "text": "不满意原因", "script": "请问哪里做得不好？", "requirement": "soft",
     "logic": {"show_if": {"q": "Q2", "op": "lte", "value": 2}}},
    {"code": "Q4", "kind": "multiple", "text": "常用渠道", "script": "您平时用哪些方式交易？",
     "options": [{"code": "APP", "label": "手机APP"}, {"code": "O", "label": "其他", "other": True}]},
]


@pytest.fixture
def version(hq_supervisor: User) -> QuestionnaireVersion:
    draft = services.create_questionnaire(actor=hq_supervisor, code="page_q", name="页面问卷", questions=QUESTIONS)
    return services.publish_version(actor=hq_supervisor, version=draft)


@pytest.fixture
def customer(branch_a: Branch) -> Customer:
    return Customer.objects.create(customer_no="0031010000001", name="张伟", branch=branch_a,
                                   open_date=dt.date(2025, 1, 6))


@pytest.fixture
def agent(agent_a: User) -> Client:
    agent_a.user_permissions.add(Permission.objects.get(codename="add_response"))
    client = Client()
    client.force_login(agent_a)
    return client


def start(client: Client, version: QuestionnaireVersion, customer_no: str = "0031010000001") -> Any:
    return client.post(reverse("surveys:start"), {"version": version.pk, "customer_no": customer_no})


def test_starting_shows_the_first_question_with_the_script_filled(agent: Client, version: QuestionnaireVersion,
                                                                  customer: Customer) -> None:
    started = start(agent, version)
    assert started.status_code == 302
    page = agent.get(started["Location"]).content.decode()
    assert "您好，请问是张伟本人吗？" in page and 'data-question="Q1"' in page


def test_each_answer_is_saved_at_once_and_a_reload_loses_nothing(agent: Client, version: QuestionnaireVersion,
                                                                 customer: Customer) -> None:
    start(agent, version)
    response = Response.objects.get()
    url = reverse("surveys:answer", args=[response.pk])
    agent.post(url, {"question": "Q1", "value": "yes"})
    shown = agent.post(url, {"question": "Q2", "value": "2"}).content.decode()
    assert 'id="current-question" data-question="Q3"' in shown  # show_if: rating ≤ 2
    assert services.answers_of(response) == {"Q1": "yes", "Q2": 2}
    reloaded = agent.get(reverse("surveys:respond", args=[response.pk])).content.decode()
    assert 'data-question="Q3"' in reloaded and "请问哪里做得不好？" in reloaded
    assert reloaded.count('<tr data-question="') == 2
    assert "<td>是</td>" in reloaded and "<td>yes</td>" not in reloaded  # answers read as labels, not codes


def test_a_refused_answer_names_the_reason_and_saves_nothing(agent: Client, version: QuestionnaireVersion,
                                                             customer: Customer) -> None:
    start(agent, version)
    response = Response.objects.get()
    url = reverse("surveys:answer", args=[response.pk])
    agent.post(url, {"question": "Q1", "value": "yes"})
    agent.post(url, {"question": "Q2", "value": "5"})
    refused = agent.post(url, {"question": "Q4", "value": ["O"]})
    assert refused.status_code == 422 and "请注明具体内容" in refused.content.decode()
    assert "Q4" not in services.answers_of(response)
    agent.post(url, {"question": "Q4", "value": ["APP", "O"], "other_text": "营业部柜台"})
    finished = agent.post(reverse("surveys:finish", args=[response.pk])).content.decode()
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETE
    assert "已完成" in finished or "Complete" in finished


def test_not_the_owner_ends_the_questionnaire(agent: Client, version: QuestionnaireVersion,
                                              customer: Customer) -> None:
    start(agent, version)
    response = Response.objects.get()
    agent.post(reverse("surveys:answer", args=[response.pk]), {"question": "Q1", "value": "no"})
    response.refresh_from_db()
    assert response.status == ResponseStatus.NOT_OWNER


def test_scripts_read_any_customer_field_and_attribute(customer: Customer, version: QuestionnaireVersion,
                                                      agent_a: User) -> None:
    from huifang.surveys.respond import script_values
    from huifang.surveys.rules import fill_script

    customer.attributes = {"birthday": "1990-06-05"}
    customer.save()
    response = services.start_response(actor=agent_a, version=version, customer=customer)
    values = script_values(response, agent_a)
    assert fill_script("{客户姓名}，生日{客户.birthday}，风险等级{客户.risk_rating}，{产品名称}", values) == \
        "张伟，生日1990-06-05，风险等级【客户.risk_rating】，【产品名称】"  # no rating on record: left visible


def test_the_business_event_fills_product_amount_and_date(agent: Client, customer: Customer,
                                                         hq_supervisor: User) -> None:
    from huifang.customers.models import CustomerEvent

    questions = [{"code": "Q1", "kind": "yes_no", "text": "是否本人",
                  "script": "{客户姓名}您好，您于{日期}转出{金额}元（{事件.channel}），是本人操作吗？"}]
    draft = services.create_questionnaire(actor=hq_supervisor, code="transfer_q", name="转账", questions=questions)
    version = services.publish_version(actor=hq_supervisor, version=draft)
    event = CustomerEvent.objects.create(customer=customer, type="transfer_out", source="counter",
                                         occurred_at=dt.datetime(2026, 11, 30, 7, 5, tzinfo=dt.UTC),
                                         data={"amount": "650000.00", "channel": "银证转账"})
    started = agent.post(reverse("surveys:start"), {"version": version.pk, "customer_no": customer.customer_no,
                                                    "event": event.pk})
    page = agent.get(started["Location"]).content.decode()
    assert "张伟您好，您于2026-11-30转出650000.00元（银证转账），是本人操作吗？" in page
    wrong = agent.post(reverse("surveys:start"), {"version": version.pk, "customer_no": customer.customer_no,
                                                  "event": "999999"})
    assert wrong.status_code == 400 and "没有编号为 999999 的业务事件" in wrong.content.decode()


def test_another_branchs_customer_and_response_are_not_found(version: QuestionnaireVersion, customer: Customer,
                                                             agent_b: User, agent: Client) -> None:
    agent_b.user_permissions.add(Permission.objects.get(codename="add_response"))
    outsider = Client()
    outsider.force_login(agent_b)
    assert start(outsider, version).status_code == 400
    start(agent, version)
    response = Response.objects.get()
    assert outsider.get(reverse("surveys:respond", args=[response.pk])).status_code == 404
    answered = outsider.post(reverse("surveys:answer", args=[response.pk]), {"question": "Q1", "value": "yes"})
    assert answered.status_code == 404
    assert services.answers_of(response) == {}


def test_answering_needs_the_permission(version: QuestionnaireVersion, customer: Customer,
                                        auditor: User) -> None:
    client = Client()
    client.force_login(auditor)
    assert start(client, version).status_code == 403


@pytest.mark.browser
def test_in_a_browser_an_agent_fills_a_branching_questionnaire_and_a_reload_loses_nothing(
        live_server: Any, hq_supervisor: User, agent_a: User, branch_a: Branch) -> None:
    from huifang.conftest import PASSWORD
    from huifang.tests.browser import chromium

    draft = services.create_questionnaire(actor=hq_supervisor, code="page_q", name="页面问卷", questions=QUESTIONS)
    services.publish_version(actor=hq_supervisor, version=draft)
    Customer.objects.create(customer_no="0031010000001", name="张伟", branch=branch_a, open_date=dt.date(2025, 1, 6))
    with chromium() as browser:
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "agent_a")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/surveys/responses/new/")
        page.fill("input[name=customer_no]", "0031010000001")
        page.click("button[type=submit].primary")
        page.wait_for_selector("#current-question[data-question=Q1]")
        assert "您好，请问是张伟本人吗？" in page.inner_text("#current-question")
        page.check("#current-question input[value=yes]")
        page.click("#current-question button[type=submit]")
        page.wait_for_selector("#current-question[data-question=Q2]")
        page.check("#current-question input[value='2']")
        page.click("#current-question button[type=submit]")
        # the rating of 2 shows the follow-up question (show_if Q2 <= 2)
        page.wait_for_selector("#current-question[data-question=Q3]")
        page.reload()
        page.wait_for_selector("#current-question[data-question=Q3]")
        assert page.locator("#answers tbody tr").count() == 2
        page.fill("#current-question textarea[name=value]", "排队太久")
        page.click("#current-question button[type=submit]")
        page.wait_for_selector("#current-question[data-question=Q4]")
        page.check("#current-question input[value=APP]")
        page.click("#current-question button[type=submit]")
        page.wait_for_selector("text=所有题目都已回答。")
        page.click("text=结束答卷")
        page.wait_for_selector("#response-status >> text=已完成")
    response = Response.objects.get()
    assert services.answers_of(response) == {"Q1": "yes", "Q2": 2, "Q3": "排队太久", "Q4": ["APP"]}
    assert response.status == ResponseStatus.COMPLETE
