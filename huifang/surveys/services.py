"""Writes about questionnaires and responses. The designer page, the API and the agent's workbench all come here.

Versions: a questionnaire has at most one draft and one published version; publishing validates the logic
(rules.publish_errors) and retires the version it replaces; a published version is never edited (editing makes
a new draft). Responses: every answer is saved the moment it is given, so nothing is lost on a reload or a
dropped call, and the response can be resumed later, through another channel too."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.customers.models import Customer
from huifang.surveys import rules
from huifang.surveys.choices import ResponseStatus, VersionState
from huifang.surveys.models import Answer, Questionnaire, QuestionnaireVersion, Response


class QuestionnaireError(ValueError):
    """A change that cannot be made; `messages` are for the user and name the question where there is one."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("；".join(self.messages))


def _parsed(definition: Any) -> rules.Definition:
    try:
        return rules.parse_definition(definition)
    except rules.DefinitionError as error:
        raise QuestionnaireError(error.messages) from None


@transaction.atomic
def create_questionnaire(*, actor: Any, code: str, name: str, questions: list[dict[str, Any]],
                         description: str = "", is_template: bool = False, callback_types: list[str] | None = None,
                         owner_branch: Any = None) -> QuestionnaireVersion:
    """A new questionnaire with its first version as a draft. `questions` must parse (rules.parse_definition);
    its logic is checked when it is published. Side effect: an audit entry."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise QuestionnaireError("问卷编号和名称都不能为空")
    if Questionnaire.objects.filter(code=code).exists():
        raise QuestionnaireError(f"问卷编号 {code} 已存在")
    _parsed(questions)
    questionnaire = Questionnaire.objects.create(code=code, name=name, description=description,
                                                 is_template=is_template, callback_types=callback_types or [],
                                                 owner_branch=owner_branch)
    version = QuestionnaireVersion.objects.create(questionnaire=questionnaire, number=1, definition=questions,
                                                  created_by=_user(actor))
    record_action(actor=actor, action="create", obj=questionnaire, summary=f"创建问卷 {code} {name}")
    return version


def _user(actor: Any) -> Any:
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) else None


@transaction.atomic
def save_draft(*, actor: Any, version: QuestionnaireVersion, questions: list[dict[str, Any]]) -> QuestionnaireVersion:
    """Replace the questions of a draft. A published or retired version is refused: edit a new draft."""
    version = QuestionnaireVersion.objects.select_for_update().get(pk=version.pk)
    if version.state != VersionState.DRAFT:
        raise QuestionnaireError("已发布或已停用的版本不能修改：请先生成新的草稿")
    _parsed(questions)
    version.definition = questions
    version.save(update_fields=["definition"])
    return version


@transaction.atomic
def new_draft(*, actor: Any, questionnaire: Questionnaire) -> QuestionnaireVersion:
    """The questionnaire's draft: the existing one, or a new one copied from the published (or latest) version."""
    existing = questionnaire.versions.filter(state=VersionState.DRAFT).first()
    if existing is not None:
        return existing
    source = (questionnaire.versions.filter(state=VersionState.PUBLISHED).first()
              or questionnaire.versions.order_by("-number").first())
    number = (questionnaire.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return QuestionnaireVersion.objects.create(questionnaire=questionnaire, number=number,
                                               definition=source.definition if source else [],
                                               created_by=_user(actor))


@transaction.atomic
def publish_version(*, actor: Any, version: QuestionnaireVersion) -> QuestionnaireVersion:
    """Publish a draft: its logic must be sound (rules.publish_errors, every problem named by question); the
    version published before is retired (its responses keep pointing at it). Side effect: an audit entry."""
    version = QuestionnaireVersion.objects.select_for_update().select_related("questionnaire").get(pk=version.pk)
    if version.state != VersionState.DRAFT:
        raise QuestionnaireError("只有草稿可以发布")
    problems = rules.publish_errors(_parsed(version.definition))
    if problems:
        raise QuestionnaireError(problems)
    now = timezone.now()
    QuestionnaireVersion.objects.filter(questionnaire=version.questionnaire, state=VersionState.PUBLISHED).update(
        state=VersionState.RETIRED)
    version.state, version.published_at, version.published_by = VersionState.PUBLISHED, now, _user(actor)
    version.save(update_fields=["state", "published_at", "published_by"])
    record_action(actor=actor, action="publish", obj=version.questionnaire,
                  summary=f"发布问卷 {version.questionnaire.code} 第 {version.number} 版")
    return version


def export_version(version: QuestionnaireVersion) -> dict[str, Any]:
    """The JSON export format of one version (what import_questionnaire reads back)."""
    questionnaire = version.questionnaire
    return {"format": rules.FORMAT, "code": questionnaire.code, "name": questionnaire.name,
            "description": questionnaire.description, "callback_types": questionnaire.callback_types,
            "is_template": questionnaire.is_template, "version": version.number, "questions": version.definition}


@transaction.atomic
def import_questionnaire(*, actor: Any, data: Mapping[str, Any], publish: bool = False,
                         owner_branch: Any = None) -> QuestionnaireVersion:
    """Create a questionnaire from the export format, or a new draft of the one with the same code; publish it
    right away when asked (with the publishing checks)."""
    if not isinstance(data, Mapping) or data.get("format") != rules.FORMAT:
        raise QuestionnaireError(f"不是问卷导出格式：format 应为 {rules.FORMAT}")
    questions = data.get("questions")
    existing = Questionnaire.objects.filter(code=str(data.get("code", "")).strip()).first()
    if existing is None:
        version = create_questionnaire(
            actor=actor, code=str(data.get("code", "")), name=str(data.get("name", "")),
            questions=questions if isinstance(questions, list) else [],
            description=str(data.get("description", "")), is_template=bool(data.get("is_template")),
            callback_types=[str(c) for c in data.get("callback_types") or []], owner_branch=owner_branch)
    else:
        version = save_draft(actor=actor, version=new_draft(actor=actor, questionnaire=existing),
                             questions=questions if isinstance(questions, list) else [])
    return publish_version(actor=actor, version=version) if publish else version


# --- responses --------------------------------------------------------------------------------------------

def definition_of(version: QuestionnaireVersion) -> rules.Definition:
    return rules.parse_definition(version.definition)


@transaction.atomic
def start_response(*, actor: Any, version: QuestionnaireVersion, customer: Customer,
                   channel: str = "phone", event: Any = None) -> Response:
    """A new response to a published version, positioned at its first question; `event` (one of the customer's
    business events) is what the callback is about, and fills the event placeholders of the scripts."""
    if event is not None and event.customer_id != customer.pk:
        raise QuestionnaireError("该业务事件不属于这位客户")
    if version.state != VersionState.PUBLISHED:
        raise QuestionnaireError("只能对已发布的版本作答")
    if not applies_to(version.questionnaire, customer.branch):
        raise QuestionnaireError(f"问卷 {version.questionnaire.code} 不适用于{customer.branch.name}的客户")
    step = rules.first_step(definition_of(version), {})
    return Response.objects.create(version=version, customer=customer, channel=channel, started_by=_user(actor),
                                   current_question=step.question or "", event=event)


def answers_of(response: Response) -> dict[str, Any]:
    """question code -> value of every question answered or skipped (a skip's value is None)."""
    return {a.question_code: a.value for a in response.answers.all()}


@transaction.atomic
def save_answer(*, actor: Any, response: Response, question_code: str, value: Any = None, other_text: str = "",
                skipped_reason: str = "", channel: str = "") -> rules.Step:
    """Record one answer (or a skip with its reason, for a soft-required or optional question) at once, and move
    the response to the next question. Answering an earlier question again replaces it; answers the new path
    no longer reaches are removed. A failed identity question ends the response as not_owner. Returns the step
    reached."""
    response = Response.objects.select_for_update().select_related("version").get(pk=response.pk)
    if response.status != ResponseStatus.IN_PROGRESS:
        raise QuestionnaireError("该问卷已结束，不能再修改答案")
    definition = definition_of(response.version)
    question = definition.question(question_code)
    if question is None:
        raise QuestionnaireError(f"问卷中没有题目 {question_code}")
    skipping = value in (None, "", [])
    if skipping:
        if question.requirement == "required":
            raise QuestionnaireError(f"{question.title} 是必答题")
        if question.requirement == "soft" and not skipped_reason.strip():
            raise QuestionnaireError(f"{question.title} 跳过时请说明原因")
        cleaned = None
    else:
        try:
            cleaned = rules.clean_answer(question, value, other_text)
        except rules.AnswerError as error:
            raise QuestionnaireError(str(error)) from None
    answers = {**answers_of(response), question_code: cleaned}
    if question_code not in rules.path(definition, answers):
        raise QuestionnaireError(f"按前面的回答，{question.title} 现在不需要回答")
    Answer.objects.update_or_create(
        response=response, question_code=question_code,
        defaults={"value": cleaned, "other_text": "" if skipping else other_text.strip()[:500],
                  "skipped_reason": skipped_reason.strip()[:200] if skipping else "", "answered_at": timezone.now()})
    response.answers.exclude(question_code__in=rules.reachable(definition, answers)).delete()
    step = rules.next_step(definition, answers, question_code)
    # Where the questionnaire stands: the first question of the path still unanswered.
    remaining = [code for code in rules.path(definition, answers) if code not in answers]
    response.current_question = remaining[0] if remaining else ""
    if channel:
        response.channel = channel
    if step.ended == "not_owner":
        response.status, response.finished_at, response.current_question = (
            ResponseStatus.NOT_OWNER, timezone.now(), "")
    response.save()
    return step


@transaction.atomic
def finish_response(*, actor: Any, response: Response) -> Response:
    """Close a response: complete when the path reached the end with every required question answered,
    incomplete otherwise (the call dropped, the customer stopped)."""
    response = Response.objects.select_for_update().select_related("version").get(pk=response.pk)
    if response.status != ResponseStatus.IN_PROGRESS:
        return response
    definition = definition_of(response.version)
    answers = answers_of(response)
    at_end = all(code in answers for code in rules.path(definition, answers))
    response.status = ResponseStatus.COMPLETE if at_end else ResponseStatus.INCOMPLETE
    response.finished_at = timezone.now()
    response.save(update_fields=["status", "finished_at", "updated_at"])
    return response


@transaction.atomic
def copy_questionnaire(*, actor: Any, source: Questionnaire, code: str, name: str,
                       owner_branch: Any = None) -> QuestionnaireVersion:
    """A branch's own questionnaire made from a template (是否模板): the template's published questions become
    the first draft of the copy, which the branch then adapts and publishes. The copy remembers its source."""
    if not source.is_template:
        raise QuestionnaireError(f"问卷 {source.code} 不是模板，不能复制")
    published = source.versions.filter(state=VersionState.PUBLISHED).first()
    if published is None:
        raise QuestionnaireError(f"模板 {source.code} 还没有发布的版本")
    version = create_questionnaire(actor=actor, code=code, name=name, questions=published.definition,
                                   description=source.description, callback_types=list(source.callback_types),
                                   owner_branch=owner_branch)
    Questionnaire.objects.filter(pk=version.questionnaire_id).update(copied_from=source)
    version.questionnaire.copied_from = source
    return version


@transaction.atomic
def update_questionnaire(*, actor: Any, questionnaire: Questionnaire, name: str, description: str,
                         callback_types: list[str], is_template: bool, branches: list[Any]) -> Questionnaire:
    """Change what a questionnaire is (not its questions, which are versioned): name, description, the callback
    types it serves, the template flag and the branches it applies to (适用单位; none: every branch). A branch's own
    questionnaire applies to that branch only. Side effect: an audit entry."""
    from huifang.surveys.choices import CALLBACK_TYPES

    name = name.strip()
    if not name:
        raise QuestionnaireError("问卷名称不能为空")
    unknown = [code for code in callback_types if code not in CALLBACK_TYPES]
    if unknown:
        raise QuestionnaireError(f"回访类型不存在：{'、'.join(unknown)}")
    if questionnaire.owner_branch_id and any(b.pk != questionnaire.owner_branch_id for b in branches):
        raise QuestionnaireError("营业部自建的问卷只适用于本营业部")
    questionnaire.name, questionnaire.description = name, description.strip()
    questionnaire.callback_types, questionnaire.is_template = list(dict.fromkeys(callback_types)), is_template
    questionnaire.save()
    questionnaire.branches.set(branches)
    record_action(actor=actor, action="update", obj=questionnaire, summary=f"修改问卷 {questionnaire.code} 的属性")
    return questionnaire


def applies_to(questionnaire: Questionnaire, branch: Any) -> bool:
    """Whether `questionnaire` may be used for a customer of `branch`: a branch's own questionnaire for that branch
    only; a company one for the branches it lists (适用单位), or for every branch when it lists none."""
    if questionnaire.owner_branch_id is not None:
        return bool(questionnaire.owner_branch_id == branch.pk)
    listed = {b.pk for b in questionnaire.branches.all()}
    return not listed or branch.pk in listed
