"""The designer pages: list, create and import; saving a bad definition names the question; publishing refused
names the offending question and keeps the draft; export downloads the JSON format; permissions and branches;
and one browser test of the whole path (Chromium)."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.surveys import rules, services
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Questionnaire, QuestionnaireVersion
from huifang.surveys.views import describe_condition

Login = Callable[[User], Client]

QUESTIONS: list[dict[str, Any]] = [
    {"code": "Q1", "kind": "yes_no", "text": "是否本人", "script": "请问是{客户姓名}本人吗？", "must_pass": True},
    {"code": "Q2", "kind": "rating", "text": "满意度", "script": "{客户姓名}您好，您对{营业部}的服务打几分？",
     "scale": {"min": 1, "max": 5, "labels": {"1": "很不满意", "5": "非常满意"}}},
    {"code": "Q3", "kind": "text", "text": "不满意原因", "requirement": "soft",
     "logic": {"show_if": {"q": "Q2", "op": "lte", "value": 2}}},
    {"code": "Q4", "kind": "single", "text": "是否承诺收益",
     "options": [{"code": "N", "label": "没有"}, {"code": "Y", "label": "有", "score": 0, "other": True}],
     "logic": {"jump": [{"if": {"q": "Q4", "op": "eq", "value": "Y"}, "to": "END"}]}},
]


def _draft(user: User, questions: list[dict[str, Any]] = QUESTIONS, code: str = "new_account",
           owner_branch: Branch | None = None) -> QuestionnaireVersion:
    return services.create_questionnaire(actor=user, code=code, name="新开户回访问卷", questions=questions,
                                          owner_branch=owner_branch)


def _posted(questions: list[dict[str, Any]], **extra: str) -> dict[str, Any]:
    """The designer form's fields for `questions` (what the page posts)."""
    data: dict[str, Any] = {"card": [str(i) for i in range(len(questions))], **extra}
    for i, q in enumerate(questions):
        p = f"q{i}-"
        data.update({p + "code": q["code"], p + "kind": q["kind"], p + "text": q["text"],
                     p + "script": q.get("script", ""), p + "requirement": q.get("requirement", "required")})
        if q.get("options"):
            data[p + "opt-code"] = [o["code"] for o in q["options"]]
            data[p + "opt-label"] = [o["label"] for o in q["options"]]
            data[p + "opt-score"] = [str(o.get("score", "")) for o in q["options"]]
            data[p + "opt-other"] = [str(n) for n, o in enumerate(q["options"]) if o.get("other")]
        if q.get("scale"):
            data[p + "scale_min"], data[p + "scale_max"] = str(q["scale"]["min"]), str(q["scale"]["max"])
            data[p + "scale_labels"] = "；".join(f"{k}={v}" for k, v in q["scale"].get("labels", {}).items())
        if q.get("must_pass"):
            data[p + "must_pass"] = "1"
        if q.get("logic"):
            data[p + "logic"] = json.dumps(q["logic"], ensure_ascii=False)
    return data


def test_the_list_shows_questionnaires_with_their_versions(login: Login, hq_supervisor: User) -> None:
    services.publish_version(actor=hq_supervisor, version=_draft(hq_supervisor))
    page = login(hq_supervisor).get(reverse("surveys:list"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "new_account" in text and "新开户回访问卷" in text and "新建问卷" in text and "导入 JSON" in text


def test_creating_a_questionnaire_opens_its_designer(login: Login, hq_supervisor: User) -> None:
    client = login(hq_supervisor)
    response = client.post(reverse("surveys:create"), {"new-code": "risk_check", "new-name": "风险测评回访"})
    questionnaire = Questionnaire.objects.get(code="risk_check")
    assert response.status_code == 302 and response["Location"] == reverse("surveys:designer",
                                                                           args=[questionnaire.pk])
    assert questionnaire.owner_branch is None
    taken = client.post(reverse("surveys:create"), {"new-code": "risk_check", "new-name": "又一个"})
    assert taken.status_code == 422 and "问卷编号 risk_check 已存在" in taken.content.decode()


def test_importing_json_creates_the_questionnaire_and_shows_errors(login: Login, hq_supervisor: User) -> None:
    client = login(hq_supervisor)
    data = {"format": rules.FORMAT, "code": "imported", "name": "导入的问卷", "questions": QUESTIONS}
    upload = SimpleUploadedFile("q.json", json.dumps(data, ensure_ascii=False).encode(), "application/json")
    assert client.post(reverse("surveys:import"), {"import-file": upload}).status_code == 302
    assert Questionnaire.objects.get(code="imported").versions.get().definition == QUESTIONS
    bad = {**data, "code": "bad", "questions": [{"code": "Q1", "kind": "slider", "text": "x"}]}
    upload = SimpleUploadedFile("bad.json", json.dumps(bad).encode(), "application/json")
    refused = client.post(reverse("surveys:import"), {"import-file": upload})
    assert refused.status_code == 422 and "题型 slider 不存在" in refused.content.decode()
    garbage = client.post(reverse("surveys:import"), {"import-file": SimpleUploadedFile("x.json", b"{oops")})
    assert garbage.status_code == 422 and "JSON" in garbage.content.decode()


def test_the_designer_saves_the_posted_cards_and_the_preview_fills_the_script(login: Login,
                                                                               hq_supervisor: User) -> None:
    draft = _draft(hq_supervisor, QUESTIONS[:2])
    client = login(hq_supervisor)
    page = client.get(reverse("surveys:designer", args=[draft.questionnaire_id]))
    assert page.status_code == 200 and "张伟您好，您对上海浦东营业部的服务打几分？" in page.content.decode()
    response = client.post(reverse("surveys:save", args=[draft.questionnaire_id]), _posted(QUESTIONS),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "questionnaire-saved"
    draft.refresh_from_db()
    assert draft.definition == QUESTIONS
    preview = client.get(reverse("surveys:preview", args=[draft.questionnaire_id])).content.decode()
    assert "仅当 Q2 ≤ 2 时显示" in preview and "Q4 = Y 时结束问卷" in preview
    assert "必须通过：否则以“机主非本人”结束" in preview and "很不满意" in preview


def test_add_move_and_remove_buttons_change_the_order(login: Login, hq_supervisor: User) -> None:
    draft = _draft(hq_supervisor, QUESTIONS[:2])
    client, url = login(hq_supervisor), reverse("surveys:save", args=[draft.questionnaire_id])
    client.post(url, _posted(QUESTIONS[:2], action="add"), HTTP_HX_REQUEST="true")
    draft.refresh_from_db()
    assert [q["code"] for q in draft.definition] == ["Q1", "Q2", "Q3"]
    client.post(url, _posted(draft.definition, action="up:1"), HTTP_HX_REQUEST="true")
    draft.refresh_from_db()
    assert [q["code"] for q in draft.definition] == ["Q2", "Q1", "Q3"]
    client.post(url, _posted(draft.definition, action="remove:2"), HTTP_HX_REQUEST="true")
    draft.refresh_from_db()
    assert [q["code"] for q in draft.definition] == ["Q2", "Q1"]


def test_saving_a_bad_definition_shows_the_error_at_the_question_and_keeps_the_input(login: Login,
                                                                                      hq_supervisor: User) -> None:
    draft = _draft(hq_supervisor)
    bad = [*QUESTIONS[:3], {**QUESTIONS[3], "options": QUESTIONS[3]["options"][:1]}]
    response = login(hq_supervisor).post(reverse("surveys:save", args=[draft.questionnaire_id]), _posted(bad),
                                         HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 422
    assert 'id="card-4"' in text and "第 4 题（Q4）：选择题至少要有两个选项" in text
    card = text[text.index('id="card-4"'):]
    assert "选择题至少要有两个选项" in card[:card.index("</li>")]
    draft.refresh_from_db()
    assert draft.definition == QUESTIONS
    not_json = _posted(QUESTIONS)
    not_json["q2-logic"] = "{show_if"
    response = login(hq_supervisor).post(reverse("surveys:save", args=[draft.questionnaire_id]), not_json)
    assert response.status_code == 422 and "Q3：逻辑不是合法的 JSON" in response.content.decode()


def test_publishing_broken_logic_is_refused_naming_the_question_and_keeps_the_draft(login: Login,
                                                                                      hq_supervisor: User) -> None:
    draft = _draft(hq_supervisor)
    broken = [*QUESTIONS[:2], {**QUESTIONS[2], "logic": {"show_if": {"q": "Q4", "op": "eq", "value": "Y"}}},
              QUESTIONS[3]]
    response = login(hq_supervisor).post(reverse("surveys:save", args=[draft.questionnaire_id]),
                                         _posted(broken, action="publish"), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Q3“不满意原因”：条件只能引用前面的题目，Q4 在它之后（或就是它自己）" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == VersionState.DRAFT and draft.definition == broken


def test_publishing_then_editing_makes_a_new_draft(login: Login, hq_supervisor: User) -> None:
    draft = _draft(hq_supervisor)
    client = login(hq_supervisor)
    response = client.post(reverse("surveys:save", args=[draft.questionnaire_id]),
                           _posted(QUESTIONS, action="publish"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("surveys:designer", args=[draft.questionnaire_id])
    draft.refresh_from_db()
    assert draft.state == VersionState.PUBLISHED
    page = client.get(response["HX-Redirect"]).content.decode()
    assert "第 1 版已发布" in page
    assert draft.questionnaire.versions.get(state=VersionState.DRAFT).number == 2


def test_export_downloads_the_version_as_json_that_imports_again(login: Login, hq_supervisor: User) -> None:
    draft = _draft(hq_supervisor)
    response = login(hq_supervisor).get(reverse("surveys:export", args=[draft.questionnaire_id]),
                                        {"version": "1"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="new_account-v1.json"'
    data = json.loads(response.content.decode("utf-8"))
    assert (data["format"], data["code"], data["questions"]) == (rules.FORMAT, "new_account", QUESTIONS)
    assert "是否本人" in response.content.decode("utf-8")  # UTF-8, not \\u escapes


def test_an_agent_may_not_design(login: Login, hq_supervisor: User, agent_a: User) -> None:
    draft = _draft(hq_supervisor)
    client = login(agent_a)
    assert client.get(reverse("surveys:list")).status_code == 403
    assert client.get(reverse("surveys:designer", args=[draft.questionnaire_id])).status_code == 403
    assert client.post(reverse("surveys:save", args=[draft.questionnaire_id]), _posted(QUESTIONS)).status_code == 403
    assert client.post(reverse("surveys:create"), {"new-code": "x", "new-name": "x"}).status_code == 403


def test_a_branch_operator_views_company_questionnaires_but_does_not_change_them(
        login: Login, hq_supervisor: User, operator_a: User) -> None:
    draft = _draft(hq_supervisor)
    client = login(operator_a)
    assert "新开户回访问卷" in client.get(reverse("surveys:list")).content.decode()
    page = client.get(reverse("surveys:designer", args=[draft.questionnaire_id]))
    assert page.status_code == 200 and 'id="designer-form"' not in page.content.decode()
    assert client.post(reverse("surveys:save", args=[draft.questionnaire_id]), _posted(QUESTIONS)).status_code == 403


@pytest.fixture
def designer_b(branch_b: Branch, make_user: Callable[..., User]) -> User:
    """A branch B operator who may also design (the permission given to the user)."""
    user = make_user(branch_b, Role.BRANCH_OPERATOR, username="designer_b")
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="surveys", codename__in=["add_questionnaire", "change_questionnaire"]))
    return User.objects.get(pk=user.pk)


def test_another_branchs_questionnaire_is_not_found(login: Login, hq_supervisor: User, branch_a: Branch,
                                                    designer_b: User) -> None:
    draft = _draft(hq_supervisor, code="pd_only", owner_branch=branch_a)
    client = login(designer_b)
    for name in ("surveys:designer", "surveys:preview", "surveys:export"):
        assert client.get(reverse(name, args=[draft.questionnaire_id])).status_code == 404, name
    assert client.post(reverse("surveys:save", args=[draft.questionnaire_id]),
                       _posted(QUESTIONS[:1], action="publish")).status_code == 404
    assert "pd_only" not in client.get(reverse("surveys:list")).content.decode()
    draft.refresh_from_db()
    assert (draft.state, draft.definition) == (VersionState.DRAFT, QUESTIONS)
    data = {"format": rules.FORMAT, "code": "pd_only", "name": "覆盖", "questions": QUESTIONS[:1]}
    upload = SimpleUploadedFile("q.json", json.dumps(data).encode(), "application/json")
    refused = client.post(reverse("surveys:import"), {"import-file": upload})
    assert refused.status_code == 422 and "问卷编号 pd_only 已存在" in refused.content.decode()
    assert draft.questionnaire.versions.count() == 1


def test_a_branch_designer_creates_questionnaires_of_the_own_branch(login: Login, branch_b: Branch,
                                                                    designer_b: User) -> None:
    login(designer_b).post(reverse("surveys:create"), {"new-code": "gz_own", "new-name": "天河回访"})
    assert Questionnaire.objects.get(code="gz_own").owner_branch == branch_b


def test_conditions_read_as_words() -> None:
    assert describe_condition({"all": [{"q": "Q1", "op": "eq", "value": "yes"},
                                       {"q": "Q4", "op": "in", "value": ["A", "B"]}]}) == "Q1 = 是 且 Q4 为 A、B 之一"
    assert describe_condition({"q": "Q3", "op": "not_answered"}) == "Q3 未回答"


@pytest.mark.browser
def test_in_a_browser_hq_designs_publishes_and_a_broken_draft_is_refused(live_server: Any,
                                                                        hq_supervisor: User) -> None:
    from huifang.conftest import PASSWORD
    from huifang.tests.browser import chromium

    logic = '{"show_if": {"q": "Q2", "op": "lte", "value": 2}}'
    with chromium() as browser:
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "hq_supervisor")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.click("nav >> text=问卷")
        page.fill("#id_new-code", "sat_check")
        page.fill("#id_new-name", "满意度回访")
        page.click("#create button[type=submit]")
        page.wait_for_selector("#designer-form")
        # Q1 is the identity check every new questionnaire starts with; add a rating and a text question.
        page.click("#add-question")
        page.wait_for_selector("select[name=q1-kind]")
        with page.expect_response(lambda r: r.url.endswith("/save/")):
            page.select_option("select[name=q1-kind]", "rating")
        page.wait_for_selector("input[name=q1-scale_max]")
        page.fill("input[name=q1-text]", "满意度")
        page.fill("input[name=q1-scale_labels]", "1=很不满意；5=非常满意")
        page.click("#add-question")
        page.wait_for_selector("input[name=q2-text]")
        page.fill("input[name=q2-text]", "不满意原因")
        page.fill("textarea[name=q2-script]", "{客户姓名}您好，请问哪里做得不好？")
        page.fill("textarea[name=q2-logic]", logic)
        page.click("#save-draft")
        page.wait_for_selector("#designer-saved")
        page.wait_for_selector("#preview-Q3 >> text=仅当 Q2 ≤ 2 时显示")
        assert "张伟您好，请问哪里做得不好？" in page.inner_text("#preview")
        assert "很不满意" in page.inner_text("#preview-Q2")
        page.screenshot(path="/tmp/huifang-designer.png", full_page=True)
        page.click("#publish")
        page.wait_for_selector("text=第 1 版已发布。")
        questionnaire = Questionnaire.objects.get(code="sat_check")
        published = questionnaire.versions.get(state=VersionState.PUBLISHED)
        assert [q["kind"] for q in published.definition] == ["yes_no", "rating", "text"]
        assert published.definition[2]["logic"] == json.loads(logic)
        # The new draft (version 2): Q2 made to depend on the later Q3 cannot be published.
        page.fill("textarea[name=q1-logic]", '{"show_if": {"q": "Q3", "op": "answered"}}')
        page.click("#publish")
        page.wait_for_selector("#designer-errors")
        errors = page.inner_text("#designer-errors")
        assert "未发布" in errors and "Q2“满意度”：条件只能引用前面的题目，Q3 在它之后" in errors
        assert "Q3 在它之后" in page.inner_text("#card-2 .card-errors")
        page.screenshot(path="/tmp/huifang-designer-refused.png", full_page=True)
        assert questionnaire.versions.get(state=VersionState.DRAFT).number == 2
        assert questionnaire.versions.get(state=VersionState.PUBLISHED).number == 1
        # Dragging the third card by its handle above the second saves the new order (moved in steps: one jump
        # of the mouse starts no HTML5 drag).
        page.fill("textarea[name=q1-logic]", "")
        with page.expect_response(lambda r: r.url.endswith("/save/")):
            page.hover("#card-3 .drag-handle")
            page.mouse.down()
            page.mouse.move(200, 300, steps=5)
            page.hover("#card-2", position={"x": 20, "y": 5})
            page.mouse.up()
        page.wait_for_selector("#card-2[data-code=Q3]")
        draft = questionnaire.versions.get(state=VersionState.DRAFT)
        assert [q["code"] for q in draft.definition] == ["Q1", "Q3", "Q2"]
        context.close()


def test_the_list_costs_the_same_queries_for_more_questionnaires(login: Login, hq_supervisor: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(hq_supervisor)
    _draft(hq_supervisor, code="first")
    client.get(reverse("surveys:list"))  # the session and permission caches warm
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("surveys:list"))
    for n in range(3):
        services.publish_version(actor=hq_supervisor, version=_draft(hq_supervisor, code=f"more_{n}"))
    with CaptureQueriesContext(connection) as more:
        assert "more_2" in client.get(reverse("surveys:list")).content.decode()
    assert len(more) == len(few)
