"""REST endpoints of manual projects (回访项目): POST /api/v1/projects creates one, GET lists and reads them, POST
/api/v1/projects/{id}/assignments assigns customers from text lines `customer_number[,agent_number]` and answers
the assigned and the rejected lines with their reasons (callbacks/projects.py does the work).

A project of a branch the caller does not see answers 404, like a missing one. Refusals answer
`{"code", "message", "detail", "field"}` with the field they are about: 400 for a missing value, 422 for one
that cannot be used. API clients need the projects:write scope to write, callbacks:read to read
(config/api.py), which stand for the permissions checked here (org/auth.py)."""

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from huifang.callbacks.choices import OPEN_STATES
from huifang.callbacks.projects import assign_project_lines, create_project
from huifang.callbacks.services import CallbackError
from huifang.campaigns.models import CallbackType, Project
from huifang.customers.schemas import ErrorOut
from huifang.org.models import User
from huifang.org.queries import NotFound, visible_branches
from huifang.surveys.models import Questionnaire

router = Router(tags=["projects"])

#: the most projects one list answers
MAX_LIMIT = 500


class ProjectIn(Schema):
    name: str
    #: the callback type's code (DOMAIN.md "Stable codes"), e.g. "satisfaction"
    type: str
    period_start: dt.date
    period_end: dt.date
    #: the branch's code; by default the caller's own branch
    branch: str | None = None
    #: the questionnaire's code; by default the type's default questionnaire is asked
    questionnaire: str | None = None
    description: str = ""


class ProjectOut(Schema):
    id: int
    name: str
    type: str
    type_name: str
    period_start: dt.date
    period_end: dt.date
    period_key: str
    branch: str
    branch_name: str
    questionnaire: str | None
    owner: str | None
    state: str
    description: str
    created_at: dt.datetime
    callbacks: int
    open_callbacks: int


class AssignmentIn(Schema):
    #: one line per customer: `customer_number[,agent_number]`
    lines: str
    #: agent numbers of the project's branch over whom the lines without an agent are spread
    agents: list[str] = []


class AssignedOut(Schema):
    line: int
    customer_no: str
    agent_no: str


class RejectedOut(Schema):
    line: int
    text: str
    reason: str
    #: "第 N 行：<reason>"
    message: str


class AssignmentOut(Schema):
    assigned: list[AssignedOut]
    rejected: list[RejectedOut]


class FieldErrorOut(Schema):
    code: str
    message: str
    detail: str
    #: the input field the error is about ("" for the request as a whole)
    field: str


def _refuse(status: int, field: str, message: str) -> Status:
    return Status(status, {"code": "invalid_project" if status == 422 else "missing_value", "message": message,
                           "detail": message, "field": field})


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise HttpError(403, "无权操作回访项目")


def _projects(user: Any) -> QuerySet[Project]:
    return (Project.objects.visible_to(user).select_related("callback_type", "branch", "questionnaire", "owner")
            .annotate(callback_count=Count("callbacks"),
                      open_count=Count("callbacks", filter=Q(callbacks__state__in=OPEN_STATES))))


def _project(user: Any, project_id: int) -> Project:
    found: Project | None = _projects(user).filter(pk=project_id).first()
    if found is None:
        raise NotFound("回访项目不存在")
    return found


def _out(project: Project) -> dict[str, Any]:
    return {
        "id": project.pk, "name": project.name, "type": project.callback_type.code,
        "type_name": project.callback_type.name, "period_start": project.period_start,
        "period_end": project.period_end, "period_key": project.period_key, "branch": project.branch.code,
        "branch_name": project.branch.name,
        "questionnaire": project.questionnaire.code if project.questionnaire else None,
        "owner": project.owner.get_username() if project.owner else None, "state": project.state,
        "description": project.description, "created_at": project.created_at,
        "callbacks": getattr(project, "callback_count", 0), "open_callbacks": getattr(project, "open_count", 0),
    }


@router.post("", response={201: ProjectOut, 400: FieldErrorOut, 403: ErrorOut, 422: FieldErrorOut},
             summary="Create a manual project")
def create(request: HttpRequest, body: ProjectIn) -> Any:
    _require(request, "campaigns.add_project")
    user: Any = request.user
    name = body.name.strip()
    if not name:
        return _refuse(400, "name", "name：项目名称不能为空")
    callback_type = CallbackType.objects.filter(code=body.type.strip(), is_active=True).first()
    if callback_type is None:
        return _refuse(422, "type", f"type：回访类型“{body.type}”不存在或已停用")
    if body.branch:
        branch = visible_branches(user).filter(code=body.branch.strip()).first()
        if branch is None:
            return _refuse(422, "branch", f"branch：营业部“{body.branch}”不存在")
    else:
        branch = getattr(user, "branch", None)
        if branch is None or branch.is_headquarters:
            return _refuse(400, "branch", "branch：请指定项目所属营业部（营业部编码）")
    questionnaire = None
    if body.questionnaire:
        questionnaire = Questionnaire.objects.usable_by(user).filter(code=body.questionnaire.strip()).first()
        if questionnaire is None:
            return _refuse(422, "questionnaire", f"questionnaire：问卷“{body.questionnaire}”不存在")
    field = "period_end" if body.period_end < body.period_start else ""
    try:
        project = create_project(name=name, callback_type=callback_type, period_start=body.period_start,
                                 period_end=body.period_end, branch=branch,
                                 owner=user if isinstance(user, User) else None, questionnaire=questionnaire,
                                 description=body.description, by=user)
    except CallbackError as error:
        message = str(error)
        if not field:
            field = ("questionnaire" if "问卷" in message else "period_end" if "日期" in message
                     else "type" if "类型" in message else "branch" if "营业部" in message else "")
        return _refuse(422, field, f"{field}：{message}" if field else message)
    return Status(201, _out(_project(user, project.pk)))


@router.get("", response=list[ProjectOut], summary="The projects of the branches the caller sees, newest first")
def list_projects(request: HttpRequest, state: str = Query(""), limit: int = Query(100),
                  offset: int = Query(0)) -> list[dict[str, Any]]:
    _require(request, "campaigns.view_project")
    projects = _projects(request.user)
    if state:
        projects = projects.filter(state=state)
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    return [_out(project) for project in projects[offset:offset + limit]]


@router.get("/{project_id}", response={200: ProjectOut, 403: ErrorOut, 404: ErrorOut}, summary="One project")
def get_project(request: HttpRequest, project_id: int) -> dict[str, Any]:
    _require(request, "campaigns.view_project")
    return _out(_project(request.user, project_id))


@router.post("/{project_id}/assignments",
             response={200: AssignmentOut, 400: FieldErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorOut},
             summary="Assign customers from lines `customer_number[,agent_number]`; the rest spread over `agents`")
def assign(request: HttpRequest, project_id: int, body: AssignmentIn) -> Any:
    # the project is looked up first: another branch's answers 404 whatever the caller may do
    project = _project(request.user, project_id)
    _require(request, "callbacks.add_callback")
    if not body.lines.strip(" \t\r\n\ufeff"):
        return _refuse(400, "lines", "lines：请提交分配名单（每行“客户编号[,坐席工号]”）")
    numbers = list(dict.fromkeys(no.strip() for no in body.agents if no.strip()))
    found = dict(User.objects.filter(agent_no__in=numbers, branch_id=project.branch_id)
                 .values_list("agent_no", "pk"))
    unknown = [no for no in numbers if no not in found]
    if unknown:
        return _refuse(422, "agents", f"agents：坐席 {'、'.join(unknown)} 不存在或不属于本营业部")
    try:
        result = assign_project_lines(project=project, text=body.lines, agent_ids=[found[no] for no in numbers],
                                      by=request.user)
    except CallbackError as error:
        field = "agents" if "坐席" in str(error) else "lines" if "行" in str(error) else ""
        return _refuse(422, field, f"{field}：{error}" if field else str(error))
    return {"assigned": result.assigned, "rejected": result.rejected}
