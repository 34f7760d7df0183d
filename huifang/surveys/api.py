"""Questionnaire endpoints: list, read a version (in the JSON export format), create and publish from that format
(publishing runs the designer's checks), read a response. Branch users see company questionnaires and their own
branch's; a response is seen through its customer's branch. API clients have no scope here yet."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from huifang.org.queries import NotFound
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Questionnaire, QuestionnaireVersion
from huifang.surveys.queries import access_response, visible_questionnaires
from huifang.surveys.services import QuestionnaireError, export_version, import_questionnaire

router = Router(tags=["questionnaires"])
responses_router = Router(tags=["questionnaires"])


class QuestionnaireOut(Schema):
    code: str
    name: str
    is_template: bool
    callback_types: list[str]
    #: the number of the published version, None when none is published
    published_version: int | None
    #: "published" when a version is published, else "draft" or "retired"
    state: str
    versions: list[int]


class VersionOut(Schema):
    format: str
    code: str
    name: str
    description: str
    callback_types: list[str]
    is_template: bool
    version: int
    state: str
    questions: list[dict[str, Any]]


class QuestionnaireIn(Schema):
    format: str
    code: str
    name: str
    description: str = ""
    callback_types: list[str] = []
    is_template: bool = False
    questions: list[dict[str, Any]]


class ErrorsOut(Schema):
    code: str
    message: str
    #: each problem, naming its question
    errors: list[str]


class AnswerOut(Schema):
    question: str
    value: Any
    other_text: str
    skipped_reason: str
    answered_at: str


class ResponseOut(Schema):
    id: int
    questionnaire: str
    version: int
    customer_no: str
    status: str
    channel: str
    current_question: str
    started_at: str
    finished_at: str | None
    answers: list[AnswerOut]


def _questionnaires(user: Any) -> Any:
    return visible_questionnaires(user).prefetch_related("versions")


def _questionnaire(user: Any, code: str) -> Questionnaire:
    found: Questionnaire | None = _questionnaires(user).filter(code=code).first()
    if found is None:
        raise NotFound(f"问卷 {code} 不存在")
    return found


def _summary(questionnaire: Questionnaire) -> dict[str, Any]:
    versions = sorted(questionnaire.versions.all(), key=lambda v: v.number)
    published = next((v.number for v in versions if v.state == VersionState.PUBLISHED), None)
    latest = versions[-1].state if versions else VersionState.DRAFT
    return {"code": questionnaire.code, "name": questionnaire.name, "is_template": questionnaire.is_template,
            "callback_types": questionnaire.callback_types,
            "published_version": published, "state": VersionState.PUBLISHED if published else latest,
            "versions": [v.number for v in versions]}


def _version_out(version: QuestionnaireVersion) -> dict[str, Any]:
    return {**export_version(version), "state": version.state}


@router.get("", response=list[QuestionnaireOut], summary="Questionnaires the user may use")
def list_questionnaires(request: HttpRequest, callback_type: str = Query("")) -> list[dict[str, Any]]:
    found = [_summary(q) for q in _questionnaires(request.user)]
    return [q for q in found if not callback_type or callback_type in q["callback_types"]]


@router.get("/{code}", response={200: VersionOut, 404: ErrorsOut}, summary="The published version (else the latest)")
def get_questionnaire(request: HttpRequest, code: str) -> dict[str, Any]:
    questionnaire = _questionnaire(request.user, code)
    versions = questionnaire.versions.all()
    version = next((v for v in versions if v.state == VersionState.PUBLISHED), None) or \
        max(versions, key=lambda v: v.number)
    return _version_out(version)


@router.get("/{code}/versions/{number}", response={200: VersionOut, 404: ErrorsOut}, summary="One version")
def get_version(request: HttpRequest, code: str, number: int) -> dict[str, Any]:
    version = _questionnaire(request.user, code).versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"问卷 {code} 没有第 {number} 版")
    return _version_out(version)


@router.post("", response={201: VersionOut, 400: ErrorsOut, 403: ErrorsOut},
             summary="Create (or add a draft to) a questionnaire from the export format; publish=true publishes it")
def create_questionnaire(request: HttpRequest, body: QuestionnaireIn, publish: bool = False) -> Any:
    if not request.user.has_perm("surveys.add_questionnaire"):
        raise HttpError(403, "无权创建问卷")
    existing = Questionnaire.objects.filter(code=body.code.strip()).first()
    if existing is not None and existing.pk not in set(_questionnaires(request.user).values_list("pk", flat=True)):
        raise NotFound(f"问卷 {body.code} 不存在")
    try:
        version = import_questionnaire(actor=request.user, data=body.dict(), publish=publish,
                                       owner_branch=None if existing or _is_hq(request.user)
                                       else getattr(request.user, "branch", None))
    except QuestionnaireError as error:
        return Status(400, {"code": "invalid_questionnaire", "message": error.messages[0], "errors": error.messages})
    return Status(201, _version_out(version))


def _is_hq(user: Any) -> bool:
    from huifang.org.scoping import sees_all_branches

    return sees_all_branches(user)


@responses_router.get("/{response_id}", response={200: ResponseOut, 404: ErrorsOut}, summary="One response")
def get_response(request: HttpRequest, response_id: int) -> dict[str, Any]:
    response = access_response(request.user, response_id)
    return {
        "id": response.pk, "questionnaire": response.version.questionnaire.code,
        "version": response.version.number, "customer_no": response.customer.customer_no,
        "status": response.status, "channel": response.channel, "current_question": response.current_question,
        "started_at": response.started_at.isoformat(),
        "finished_at": response.finished_at.isoformat() if response.finished_at else None,
        "answers": [{"question": a.question_code, "value": a.value, "other_text": a.other_text,
                     "skipped_reason": a.skipped_reason, "answered_at": a.answered_at.isoformat()}
                    for a in response.answers.all()],
    }
