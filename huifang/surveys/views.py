"""The questionnaire designer (问卷设计): the list of questionnaires with a new-questionnaire form and a JSON import,
and per questionnaire the designer of its draft with a live preview of what the agent will see.

The designer is one form of question cards; every change (save, add, remove, move, drag, a changed question
kind) posts the whole list, which services.save_draft checks and stores; the cards are re-rendered from what was
posted, so a refused change loses nothing and its messages stand at the question they name. Who may design:
queries.may_design; viewing needs `surveys.view_questionnaire`."""

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from huifang.lib.web import HtmxHttpRequest
from huifang.org.scoping import sees_all_branches
from huifang.surveys import rules
from huifang.surveys.choices import VersionState
from huifang.surveys.forms import CreateQuestionnaireForm, ImportQuestionnaireForm, PropertiesForm
from huifang.surveys.models import Questionnaire, QuestionnaireVersion
from huifang.surveys.queries import (
    access_questionnaire,
    draft_of,
    may_design,
    questionnaire_list,
    shown_version,
    visible_questionnaires,
)
from huifang.surveys.services import (
    QuestionnaireError,
    copy_questionnaire,
    create_questionnaire,
    export_version,
    import_questionnaire,
    new_draft,
    publish_version,
    save_draft,
    update_questionnaire,
)
from huifang.surveys.statistics import best_value, question_statistics, rotation_hints

#: the customer the preview fills the scripts with
SAMPLE_VALUES = {"客户姓名": "张伟", "客户编号": "0031010000001", "营业部": "上海浦东营业部", "客户经理": "王经理",
                 "开户日期": "2025-01-06", "产品名称": "华夏成长混合", "金额": "650,000.00", "日期": "2026-12-01",
                 "公司名称": "示例证券", "坐席工号": "10086", "坐席姓名": "李回访"}
#: the first question of a new questionnaire (a questionnaire needs one): the identity check of every callback
FIRST_QUESTION = {"code": "Q1", "kind": "yes_no", "text": "是否本人", "script": "请问您是{客户姓名}本人吗？",
                  "must_pass": True}
REQUIREMENT_LABELS = {"required": gettext_lazy("Required"), "soft": gettext_lazy("Soft (skipping needs a reason)"),
                      "optional": gettext_lazy("Optional")}
SAVED_EVENT = "questionnaire-saved"
#: blank option rows offered under the options of a choice question
BLANK_OPTIONS = 1


def _viewer(request: HtmxHttpRequest) -> Any:
    if not request.user.has_perm("surveys.view_questionnaire"):
        raise PermissionDenied
    return request.user


def _creator(request: HtmxHttpRequest) -> Any:
    if not request.user.has_perm("surveys.add_questionnaire"):
        raise PermissionDenied
    return request.user


def _designable(request: HtmxHttpRequest, questionnaire_id: int) -> Questionnaire:
    if not request.user.has_perm("surveys.change_questionnaire"):
        raise PermissionDenied
    questionnaire = access_questionnaire(request.user, questionnaire_id)
    if not may_design(request.user, questionnaire):
        raise PermissionDenied
    return questionnaire


def _owner_branch(user: Any) -> Any:
    return None if sees_all_branches(user) else user.branch


# --- the list ---------------------------------------------------------------------------------------------

def _list_page(request: HtmxHttpRequest, create_form: CreateQuestionnaireForm | None = None,
               import_form: ImportQuestionnaireForm | None = None, status: int = 200) -> HttpResponse:
    context = {"questionnaires": questionnaire_list(request.user),
               "create_form": create_form or CreateQuestionnaireForm(prefix="new"),
               "import_form": import_form or ImportQuestionnaireForm(prefix="import"),
               "may_add": request.user.has_perm("surveys.add_questionnaire")}
    return render(request, "surveys/list.html", context, status=status)


@login_required
@require_GET
def questionnaires(request: HtmxHttpRequest) -> HttpResponse:
    _viewer(request)
    return _list_page(request)


@login_required
@require_POST
def create(request: HtmxHttpRequest) -> HttpResponse:
    actor = _creator(request)
    form = CreateQuestionnaireForm(request.POST, prefix="new")
    if not form.is_valid():
        return _list_page(request, create_form=form, status=422)
    try:
        version = create_questionnaire(actor=actor, code=form.cleaned_data["code"], name=form.cleaned_data["name"],
                                       questions=[FIRST_QUESTION], owner_branch=_owner_branch(actor))
    except QuestionnaireError as error:
        for message in error.messages:
            form.add_error(None, message)
        return _list_page(request, create_form=form, status=422)
    return redirect("surveys:designer", questionnaire_id=version.questionnaire_id)


@login_required
@require_POST
def copy(request: HtmxHttpRequest, questionnaire_id: int) -> HttpResponse:
    """A template copied into a questionnaire of the user's own (for a branch user: the branch's), opened in the
    designer to adapt it."""
    actor = _creator(request)
    source = access_questionnaire(actor, questionnaire_id)
    branch = _owner_branch(actor)
    code = (request.POST.get("code") or f"{source.code}_{branch.code if branch else 'copy'}").strip()
    name = (request.POST.get("name") or source.name).strip()
    try:
        version = copy_questionnaire(actor=actor, source=source, code=code, name=name, owner_branch=branch)
    except QuestionnaireError as error:
        # The refusal shows in the create form, filled with the code and name the copy would have had.
        form = CreateQuestionnaireForm({"new-code": code, "new-name": name}, prefix="new")
        form.is_valid()
        for message in error.messages:
            form.add_error(None, message)
        return _list_page(request, create_form=form, status=422)
    return redirect("surveys:designer", questionnaire_id=version.questionnaire_id)


@login_required
@require_POST
def import_json(request: HtmxHttpRequest) -> HttpResponse:
    """A questionnaire from an exported JSON file: a new one, or a new draft of a visible one with its code."""
    actor = _creator(request)
    form = ImportQuestionnaireForm(request.POST, request.FILES, prefix="import")
    if not form.is_valid():
        return _list_page(request, import_form=form, status=422)
    try:
        data = json.loads(form.cleaned_data["file"].read().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        form.add_error(None, _("The file is not JSON (UTF-8)."))
        return _list_page(request, import_form=form, status=422)
    code = str(data.get("code", "")).strip() if isinstance(data, dict) else ""
    existing = Questionnaire.objects.filter(code=code).first() if code else None
    try:
        if existing is not None and not (visible_questionnaires(actor).filter(pk=existing.pk).exists()
                                         and may_design(actor, existing)):
            # Another branch's questionnaire (or a company one, for a branch): the same answer as a taken code.
            raise QuestionnaireError(f"问卷编号 {code} 已存在")
        version = import_questionnaire(actor=actor, data=data, owner_branch=_owner_branch(actor))
    except QuestionnaireError as error:
        for message in error.messages:
            form.add_error(None, message)
        return _list_page(request, import_form=form, status=422)
    messages.success(request, _("Imported as version %(number)s (a draft).") % {"number": version.number})
    return redirect("surveys:designer", questionnaire_id=version.questionnaire_id)


# --- the designer -----------------------------------------------------------------------------------------

def _number(raw: str) -> Any:
    """An int or float from a text input; the text itself when it is no number (the rules name the problem)."""
    text = raw.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _labels_text(labels: Any) -> str:
    return "；".join(f"{k}={v}" for k, v in labels.items()) if isinstance(labels, dict) else ""


def _labels(raw: str) -> dict[str, str]:
    """'1=很不满意；5=非常满意' -> {"1": "很不满意", "5": "非常满意"}."""
    pairs = [part.split("=", 1) for part in raw.replace(";", "；").split("；") if "=" in part]
    return {key.strip(): value.strip() for key, value in pairs if key.strip() and value.strip()}


def _posted_questions(post: Any) -> tuple[list[dict[str, Any]], list[int], dict[int, list[str]]]:
    """The questions of the posted cards in their posted order, the card indexes in that order, and the input
    problems per card index (logic that is not JSON) that stop the save before the services see it."""
    questions: list[dict[str, Any]] = []
    indexes: list[int] = []
    problems: dict[int, list[str]] = {}
    for raw_index in post.getlist("card"):
        try:
            index = int(raw_index)
        except ValueError:
            continue
        p = f"q{index}-"
        kind = post.get(p + "kind", "").strip()
        question: dict[str, Any] = {"code": post.get(p + "code", "").strip(), "kind": kind,
                                    "text": post.get(p + "text", "").strip(), "script": post.get(p + "script", ""),
                                    "requirement": post.get(p + "requirement", "required")}
        if kind in ("single", "multiple"):
            others = set(post.getlist(p + "opt-other"))
            options = []
            for row, (code, label, score) in enumerate(zip(post.getlist(p + "opt-code"), post.getlist(p + "opt-label"),
                                                           post.getlist(p + "opt-score"), strict=False)):
                if not code.strip() and not label.strip():
                    continue
                option: dict[str, Any] = {"code": code.strip(), "label": label.strip()}
                if _number(score) is not None:
                    option["score"] = _number(score)
                if str(row) in others:
                    option["other"] = True
                options.append(option)
            question["options"] = options
        if kind == "rating":
            scale: dict[str, Any] = {"min": _number(post.get(p + "scale_min", "")),
                                     "max": _number(post.get(p + "scale_max", ""))}
            labels = _labels(post.get(p + "scale_labels", ""))
            if labels:
                scale["labels"] = labels
            question["scale"] = {k: v for k, v in scale.items() if v is not None}
        if kind == "yes_no" and post.get(p + "must_pass"):
            question["must_pass"] = True
        logic_text = post.get(p + "logic", "").strip()
        if logic_text:
            try:
                question["logic"] = json.loads(logic_text)
            except ValueError:
                question["logic_text"] = logic_text
                problems.setdefault(index, []).append(
                    f"{question['code'] or index}：逻辑不是合法的 JSON，例如 "
                    '{"show_if": {"q": "Q2", "op": "lte", "value": 2}}')
        # the defaults are left out, as in the export format
        if not question["script"].strip():
            del question["script"]
        if question["requirement"] == "required":
            del question["requirement"]
        questions.append(question)
        indexes.append(index)
    return questions, indexes, problems


def _free_code(questions: list[dict[str, Any]]) -> str:
    taken = {str(q.get("code")) for q in questions}
    number = len(questions) + 1
    while f"Q{number}" in taken:
        number += 1
    return f"Q{number}"


def _apply(action: str, questions: list[dict[str, Any]], indexes: list[int]) -> list[dict[str, Any]]:
    """The questions after an add / remove:<card> / up:<card> / down:<card> button."""
    name, _sep, target = action.partition(":")
    if name == "add":
        return [*questions, {"code": _free_code(questions), "kind": "text", "text": "新问题", "script": "",
                             "requirement": "required"}]
    try:
        position = indexes.index(int(target))
    except ValueError:
        return questions
    moved = list(questions)
    if name == "remove":
        del moved[position]
    elif name == "up" and position > 0:
        moved[position - 1], moved[position] = moved[position], moved[position - 1]
    elif name == "down" and position < len(moved) - 1:
        moved[position + 1], moved[position] = moved[position], moved[position + 1]
    return moved


def _card(index: int, question: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    kind = question.get("kind", "")
    options = [o for o in question.get("options") or [] if isinstance(o, dict)]
    blanks = max(BLANK_OPTIONS, 2 - len(options)) if kind in ("single", "multiple") else 0
    raw_scale = question.get("scale")
    scale: dict[str, Any] = raw_scale if isinstance(raw_scale, dict) else {}
    logic = question.get("logic")
    return {"index": index, "q": question, "errors": errors,
            "options": [*options, *({} for _ in range(blanks))],
            "scale_min": scale.get("min", 1), "scale_max": scale.get("max", 5),
            "scale_labels": _labels_text(scale.get("labels")),
            "logic": question.get("logic_text") or (json.dumps(logic, ensure_ascii=False) if logic else "")}


def _cards(questions: list[dict[str, Any]], errors: list[str],
           extra: dict[int, list[str]] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """A card per question, each with the messages that name it (by position "第 3 题" or code "Q3“"); the
    messages that name no question."""
    cards, named = [], set()
    for position, question in enumerate(questions, start=1):
        code = str(question.get("code", ""))
        own = [m for m in errors if m.startswith(f"第 {position} 题") or (code and m.startswith(f"{code}“"))]
        named.update(own)
        cards.append(_card(position - 1, question, [*own, *(extra or {}).get(position - 1, [])]))
    return cards, [m for m in errors if m not in named]


def _designer_context(request: HtmxHttpRequest, questionnaire: Questionnaire, version: QuestionnaireVersion,
                      questions: list[dict[str, Any]], errors: list[str] | None = None,
                      extra: dict[int, list[str]] | None = None, unsaved: bool = False) -> dict[str, Any]:
    cards, general = _cards(questions, errors or [], extra)
    return {"properties_form": _properties_form(request, questionnaire),
            "questionnaire": questionnaire, "version": version, "cards": cards, "general_errors": general,
            "all_errors": [*(errors or []), *(m for ms in (extra or {}).values() for m in ms)],
            "unsaved": unsaved, "kinds": [(k, rules.KIND_LABELS[k]) for k in rules.KINDS],
            "requirements": list(REQUIREMENT_LABELS.items()),
            "published": questionnaire.versions.filter(state="published").first()}


@login_required
@require_GET
def designer(request: HtmxHttpRequest, questionnaire_id: int) -> HttpResponse:
    """The draft's editor (made from the published version when there is no draft) and its preview; read-only
    (the preview of the shown version) for a user who may not design this questionnaire."""
    user = _viewer(request)
    questionnaire = access_questionnaire(user, questionnaire_id)
    if not may_design(user, questionnaire):
        version = shown_version(questionnaire)
        return render(request, "surveys/designer.html",
                      {"questionnaire": questionnaire, "version": version, "read_only": True,
                       **_preview_context(version)})
    version = draft_of(questionnaire) or new_draft(actor=user, questionnaire=questionnaire)
    context = _designer_context(request, questionnaire, version, list(version.definition))
    return render(request, "surveys/designer.html", {**context, **_preview_context(version)})


@login_required
@require_POST
def save(request: HtmxHttpRequest, questionnaire_id: int) -> HttpResponse:
    """Save the posted cards as the draft (after an add / remove / move button), or save and publish it."""
    questionnaire = _designable(request, questionnaire_id)
    version = draft_of(questionnaire) or new_draft(actor=request.user, questionnaire=questionnaire)
    questions, indexes, problems = _posted_questions(request.POST)
    if problems:
        return _editor(request, _designer_context(request, questionnaire, version, questions,
                                                  extra=_renumber(problems, indexes), unsaved=True), status=422)
    action = request.POST.get("action", "save")
    if action not in ("save", "publish"):
        questions = _apply(action, questions, indexes)
    try:
        version = save_draft(actor=request.user, version=version, questions=questions)
    except QuestionnaireError as error:
        return _editor(request, _designer_context(request, questionnaire, version, questions, error.messages,
                                                  unsaved=True), status=422)
    if action == "publish":
        try:
            published = publish_version(actor=request.user, version=version)
        except QuestionnaireError as error:
            context = _designer_context(request, questionnaire, version, questions, error.messages)
            return _editor(request, {**context, "publish_refused": True}, status=422, saved=True)
        messages.success(request, _("Version %(number)s is published.") % {"number": published.number})
        url = reverse("surveys:designer", kwargs={"questionnaire_id": questionnaire.pk})
        if request.htmx:
            return HttpResponse(headers={"HX-Redirect": url})
        return redirect(url)
    if not request.htmx:
        return redirect("surveys:designer", questionnaire_id=questionnaire.pk)
    return _editor(request, {**_designer_context(request, questionnaire, version, questions), "just_saved": True},
                   saved=True)


def _renumber(problems: dict[int, list[str]], indexes: list[int]) -> dict[int, list[str]]:
    """Problems keyed by card index -> keyed by position in the posted order (what _cards numbers)."""
    return {indexes.index(index): found for index, found in problems.items() if index in indexes}


def _editor(request: HtmxHttpRequest, context: dict[str, Any], status: int = 200, saved: bool = False) -> HttpResponse:
    if not request.htmx:
        version = context["version"]
        return render(request, "surveys/designer.html", {**context, **_preview_context(version)}, status=status)
    response = render(request, "surveys/designer.html#editor", context, status=status)
    if saved:
        response["HX-Trigger"] = SAVED_EVENT
    return response


@login_required
@require_GET
def export(request: HtmxHttpRequest, questionnaire_id: int) -> HttpResponse:
    """A version (?version=N; else the draft, the published one, the latest) as a JSON file to import again."""
    questionnaire = access_questionnaire(_viewer(request), questionnaire_id)
    version = shown_version(questionnaire, request.GET.get("version"))
    body = json.dumps(export_version(version), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{questionnaire.code}-v{version.number}.json")
    return response


# --- the preview ------------------------------------------------------------------------------------------

def _value_words(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(_value_words(v) for v in value)
    return {"yes": "是", "no": "否"}.get(value, str(value)) if isinstance(value, str) else str(value)


OPERATOR_SIGNS = {"eq": "=", "ne": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}


def describe_condition(condition: Any) -> str:
    """A condition in words: "Q2 ≤ 2", "Q4 为 A、B 之一", "Q1 = 是 且 Q3 已回答"."""
    if not isinstance(condition, dict):
        return str(condition)
    for key, word in (("all", " 且 "), ("any", " 或 ")):
        if key in condition:
            parts = condition[key] if isinstance(condition[key], list) else []
            return word.join(f"（{describe_condition(p)}）" if isinstance(p, dict) and ("all" in p or "any" in p)
                             else describe_condition(p) for p in parts)
    code, op, value = condition.get("q", "?"), condition.get("op"), condition.get("value")
    if op == "answered":
        return f"{code} 已回答"
    if op == "not_answered":
        return f"{code} 未回答"
    if op in ("in", "not_in"):
        return f"{code} {'为' if op == 'in' else '不为'} {_value_words(value)} 之一"
    if op == "contains":
        return f"{code} 包含 {_value_words(value)}"
    return f"{code} {OPERATOR_SIGNS.get(str(op), str(op))} {_value_words(value)}"


def logic_words(question: rules.Question) -> list[str]:
    """Which logic applies to a question, one sentence each, in the order it is evaluated."""
    lines = []
    if question.show_if is not None:
        lines.append(f"仅当 {describe_condition(question.show_if)} 时显示")
    if question.must_pass:
        lines.append("必须通过：否则以“机主非本人”结束")
    if question.end_if is not None:
        lines.append(f"{describe_condition(question.end_if)} 时结束问卷")
    for condition, target in question.jumps:
        to = "结束问卷" if target == rules.END else f"跳到 {target}"
        lines.append(f"{describe_condition(condition)} 时{to}")
    return lines


def _preview_context(version: QuestionnaireVersion) -> dict[str, Any]:
    try:
        definition = rules.parse_definition(version.definition)
    except rules.DefinitionError as error:
        return {"preview": [], "preview_errors": error.messages, "preview_version": version}
    items = []
    for number, question in enumerate(definition.questions, start=1):
        scale = [(n, question.scale_labels.get(str(n), ""))
                 for n in range(question.scale_min, question.scale_max + 1)] if question.kind in ("rating", "nps") \
            else []
        items.append({"number": number, "q": question, "script": rules.fill_script(question.script, SAMPLE_VALUES),
                      "kind_label": rules.KIND_LABELS[question.kind], "scale": scale,
                      "requirement": REQUIREMENT_LABELS.get(question.requirement, question.requirement),
                      "logic": logic_words(question)})
    return {"preview": items, "preview_errors": [], "preview_version": version}


@login_required
@require_GET
def preview(request: HtmxHttpRequest, questionnaire_id: int) -> HttpResponse:
    """The questions as the agent will see them (?version=N; else the draft, the published one, the latest)."""
    questionnaire = access_questionnaire(_viewer(request), questionnaire_id)
    version = shown_version(questionnaire, request.GET.get("version"))
    return render(request, "surveys/_preview.html", {"questionnaire": questionnaire, **_preview_context(version)})


# --- properties -------------------------------------------------------------------------------------------

def _branch_choices(user: Any) -> Any:
    from huifang.org.queries import visible_branches

    return visible_branches(user).filter(is_headquarters=False).order_by("code")


def _properties_form(request: HtmxHttpRequest, questionnaire: Questionnaire, data: Any = None) -> PropertiesForm:
    initial = {"name": questionnaire.name, "description": questionnaire.description,
               "callback_types": questionnaire.callback_types, "is_template": questionnaire.is_template,
               "branches": list(questionnaire.branches.all())}
    return PropertiesForm(data, initial=initial, branches=_branch_choices(request.user), prefix="props")


@login_required
@require_POST
def properties(request: HtmxHttpRequest, questionnaire_id: int) -> HttpResponse:
    questionnaire = _designable(request, questionnaire_id)
    form = _properties_form(request, questionnaire, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            update_questionnaire(actor=request.user, questionnaire=questionnaire, name=data["name"],
                                 description=data["description"], callback_types=data["callback_types"],
                                 is_template=data["is_template"] and sees_all_branches(request.user),
                                 branches=list(data["branches"]))
        except QuestionnaireError as error:
            return HttpResponse("；".join(error.messages), status=422)
        return redirect("surveys:designer", questionnaire_id=questionnaire.pk)
    return HttpResponse("；".join(str(e) for errors in form.errors.values() for e in errors), status=422)


# --- statistics -------------------------------------------------------------------------------------------

@login_required
@require_GET
def statistics(request: HtmxHttpRequest, questionnaire_id: int) -> HttpResponse:
    """The answers per question of the published version over a period (default: the last 30 days), counted over
    the responses of the customers the user sees; questions due for rotation are marked."""
    _viewer(request)
    questionnaire = access_questionnaire(request.user, questionnaire_id)
    version = questionnaire.versions.filter(state=VersionState.PUBLISHED).first()
    today = timezone.localdate()
    try:
        first = dt.date.fromisoformat(request.GET.get("from") or (today - dt.timedelta(days=29)).isoformat())
        last = dt.date.fromisoformat(request.GET.get("to") or today.isoformat())
    except ValueError:
        return HttpResponse("日期格式应为 YYYY-MM-DD", status=400)
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    rows = question_statistics(version=version, start=start, end=end, user=request.user) if version else []
    definition = rules.parse_definition(version.definition) if version else None
    flagged = {hint.question for hint in rotation_hints(since=start, until=end)
               if version and hint.questionnaire == questionnaire.code}
    table = []
    for row in rows:
        question = definition.question(row.code) if definition else None
        best = best_value(question) if question else None
        table.append({"stats": row, "flagged": row.code in flagged, "best": best,
                      "values": [(row.labels.get(value, value), count, round(100 * count / row.answered))
                                 for value, count in sorted(row.counts.items(), key=lambda item: -item[1])]})
    return render(request, "surveys/statistics.html", {
        "questionnaire": questionnaire, "version": version, "rows": table, "first": first, "last": last,
        "min_answers": settings.SURVEY_ROTATION_MIN_ANSWERS, "share": round(100 * settings.SURVEY_ROTATION_SHARE)})
