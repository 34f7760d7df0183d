"""Pages of manual projects (回访项目): the list of the visible branches' projects with a new-project form, and per
project its callbacks with the open load of each agent, the assignment form (pasted lines
`customer_number[,agent_number]` and the agents to spread the rest over; its result lists the assigned and the
rejected lines with their numbers and reasons) and the bulk re-assign and cancel forms.

The work part of the detail page (result, loads, callbacks) is one partial: htmx posts swap it in place, a post
without htmx renders the whole page. Another branch's project answers 404; viewing needs
`campaigns.view_project`, creating `campaigns.add_project`, assigning `callbacks.add_callback`, re-assigning and
cancelling `callbacks.change_callback`."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from huifang.callbacks.choices import OPEN_STATES, State
from huifang.callbacks.models import Callback
from huifang.callbacks.projects import (
    AssignmentResult,
    BulkResult,
    assign_project_lines,
    cancel_callbacks,
    create_project,
    reassign_callbacks,
)
from huifang.callbacks.services import CallbackError
from huifang.campaigns.models import CallbackType, Project
from huifang.lib.masking import mask_middle
from huifang.lib.web import HtmxHttpRequest
from huifang.org.models import Branch, User
from huifang.org.queries import NotFound, visible_branches
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Questionnaire

#: how many callbacks the detail page lists (the counts cover them all)
SHOWN_CALLBACKS = 500

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProjectForm(forms.Form):
    name = forms.CharField(label="项目名称", max_length=100)
    callback_type = forms.ModelChoiceField(label="回访类型", queryset=CallbackType.objects.none())
    period_start = forms.DateField(label="开始日期", widget=DATE_INPUT)
    period_end = forms.DateField(label="结束日期", widget=DATE_INPUT)
    branch = forms.ModelChoiceField(label="营业部", queryset=Branch.objects.none())
    questionnaire = forms.ModelChoiceField(label="问卷", queryset=Questionnaire.objects.none(), required=False,
                                           empty_label="（回访类型的默认问卷）")
    description = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        types = self.fields["callback_type"]
        # the manual types first: they are what projects are for
        types.queryset = CallbackType.objects.filter(is_active=True).order_by("-automation", "id")  # type: ignore[attr-defined]
        types.label_from_instance = lambda t: t.name if t.automation == "manual" else f"{t.name}（自动类型）"  # type: ignore[attr-defined]
        branches = visible_branches(user).filter(is_headquarters=False, is_active=True)
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]
        if getattr(user, "branch_id", None) and branches.filter(pk=user.branch_id).exists():
            self.fields["branch"].initial = user.branch_id
        self.fields["questionnaire"].queryset = (  # type: ignore[attr-defined]
            Questionnaire.objects.usable_by(user).filter(versions__state=VersionState.PUBLISHED).distinct()
            .order_by("code"))
        if not self.is_bound:
            today = timezone.localdate()
            self.fields["period_start"].initial = today


def _viewer(request: HtmxHttpRequest) -> Any:
    if not request.user.has_perm("campaigns.view_project"):
        raise PermissionDenied
    return request.user


def _require(request: HtmxHttpRequest, perm: str) -> Any:
    if not request.user.has_perm(perm):
        raise PermissionDenied
    return request.user


def _project(request: HtmxHttpRequest, project_id: int) -> Project:
    try:
        return (Project.objects.visible_to(request.user)
                .select_related("callback_type", "branch", "questionnaire", "owner").get(pk=project_id))
    except Project.DoesNotExist:
        raise NotFound("回访项目不存在") from None


# --- the list ---------------------------------------------------------------------------------------------

def _projects(user: Any) -> QuerySet[Project]:
    return (Project.objects.visible_to(user).select_related("callback_type", "branch", "owner", "questionnaire")
            .annotate(callback_count=Count("callbacks"),
                      open_count=Count("callbacks", filter=Q(callbacks__state__in=OPEN_STATES))))


def _list_page(request: HtmxHttpRequest, form: ProjectForm | None = None, status: int = 200) -> HttpResponse:
    may_add = request.user.has_perm("campaigns.add_project")
    context = {"projects": _projects(request.user)[:300], "may_add": may_add,
               "form": form or (ProjectForm(user=request.user) if may_add else None)}
    return render(request, "callbacks/project_list.html", context, status=status)


@login_required
@require_GET
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    _viewer(request)
    return _list_page(request)


@login_required
@require_POST
def create(request: HtmxHttpRequest) -> HttpResponse:
    user = _require(request, "campaigns.add_project")
    form = ProjectForm(request.POST, user=user)
    if not form.is_valid():
        return _list_page(request, form=form, status=422)
    data = form.cleaned_data
    try:
        project = create_project(name=data["name"], callback_type=data["callback_type"],
                                 period_start=data["period_start"], period_end=data["period_end"],
                                 branch=data["branch"], owner=user, questionnaire=data["questionnaire"],
                                 description=data["description"], by=user)
    except CallbackError as error:
        form.add_error(None, str(error))
        return _list_page(request, form=form, status=422)
    messages.success(request, f"已创建回访项目“{project.name}”")
    return redirect("projects:detail", project_id=project.pk)


# --- one project ------------------------------------------------------------------------------------------

def branch_agents(project: Project) -> QuerySet[User]:
    """The active users with an agent number of the project's branch: whom its callbacks may go to."""
    return (User.objects.filter(branch_id=project.branch_id, is_active=True, agent_no__isnull=False)
            .exclude(agent_no="").order_by("agent_no"))


def _work_context(request: HtmxHttpRequest, project: Project, **extra: Any) -> dict[str, Any]:
    callbacks = project.callbacks.select_related("customer", "agent").order_by("state", "customer__customer_no")
    total = callbacks.count()
    by_state = dict(project.callbacks.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    loads = (project.callbacks.filter(state__in=OPEN_STATES).order_by().values("agent__agent_no", "agent__name")
             .annotate(n=Count("id")).order_by("agent__agent_no"))
    rows = [{"id": c.pk, "customer_no": c.customer.customer_no,
             "customer_name": mask_middle(c.customer.name, keep_start=1, keep_end=0),
             "agent": c.agent, "state": State(c.state).label, "is_open": c.is_open, "due_date": c.due_date}
            for c in callbacks[:SHOWN_CALLBACKS]]
    user = request.user
    return {"project": project, "rows": rows, "total": total, "shown": len(rows),
            "by_state": [(State(state).label, n) for state, n in sorted(by_state.items())],
            "open_total": sum(n for state, n in by_state.items() if state in OPEN_STATES),
            "loads": list(loads), "agents": list(branch_agents(project)),
            "may_assign": user.has_perm("callbacks.add_callback") and project.state == "open",
            "may_change": user.has_perm("callbacks.change_callback"), **extra}


def _work(request: HtmxHttpRequest, project: Project, status: int = 200, **extra: Any) -> HttpResponse:
    """The work partial for htmx, the whole page otherwise."""
    template = "callbacks/_project_work.html" if request.htmx else "callbacks/project_detail.html"
    return render(request, template, _work_context(request, project, **extra), status=status)


@login_required
@require_GET
def detail(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    _viewer(request)
    return _work(request, _project(request, project_id))


def _chosen_agent_ids(request: HtmxHttpRequest) -> list[str]:
    return [value for value in request.POST.getlist("agents") if value.strip()]


@login_required
@require_POST
def assign(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    user = _require(request, "callbacks.add_callback")
    text = request.POST.get("lines", "")
    chosen = _chosen_agent_ids(request)
    form_state = {"lines": text, "chosen": set(chosen)}
    if not text.strip(" \t\r\n\ufeff"):
        return _work(request, project, status=422, assign_error="请粘贴分配名单：每行“客户编号[,坐席工号]”",
                     **form_state)
    try:
        result: AssignmentResult = assign_project_lines(project=project, text=text, agent_ids=chosen, by=user)
    except CallbackError as error:
        return _work(request, project, status=422, assign_error=str(error), **form_state)
    # a fully taken text is cleared; rejected lines stay to be corrected
    kept = "\n".join(item["text"] for item in result.rejected) if result.rejected else ""
    return _work(request, project, result=result, lines=kept, chosen=set(chosen))


def _selected(request: HtmxHttpRequest) -> list[str]:
    return [value for value in request.POST.getlist("callbacks") if value.strip()]


def _bulk_done(request: HtmxHttpRequest, project: Project, outcome: BulkResult, verb: str) -> HttpResponse:
    summary = f"已{verb} {outcome.changed} 条回访任务"
    if outcome.refused:
        summary += f"，{len(outcome.refused)} 条未处理"
    if request.htmx:
        return _work(request, project, bulk_message=summary, bulk_refused=outcome.refused)
    messages.success(request, summary)
    for item in outcome.refused:
        messages.warning(request, f"任务 {item['id']}：{item['reason']}")
    return redirect("projects:detail", project_id=project.pk)


def _bulk_refused(request: HtmxHttpRequest, project: Project, message: str) -> HttpResponse:
    if request.htmx:
        return _work(request, project, status=422, bulk_error=message)
    messages.error(request, message)
    return redirect("projects:detail", project_id=project.pk)


@login_required
@require_POST
def reassign(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    user = _require(request, "callbacks.change_callback")
    agent = branch_agents(project).filter(pk=request.POST.get("agent") or 0).first() \
        if (request.POST.get("agent") or "").isdigit() else None
    if agent is None:
        return _bulk_refused(request, project, "请选择改派给哪位坐席（本营业部的在用坐席）")
    try:
        outcome = reassign_callbacks(ids=_selected(request), agent=agent, by=user,
                                     reason=request.POST.get("reassign_reason", ""),
                                     within=Callback.objects.visible_to(user).filter(project=project))
    except CallbackError as error:
        return _bulk_refused(request, project, str(error))
    return _bulk_done(request, project, outcome, "改派")


@login_required
@require_POST
def cancel(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    user = _require(request, "callbacks.change_callback")
    try:
        outcome = cancel_callbacks(ids=_selected(request), by=user, reason=request.POST.get("cancel_reason", ""),
                                   within=Callback.objects.visible_to(user).filter(project=project))
    except CallbackError as error:
        return _bulk_refused(request, project, str(error))
    return _bulk_done(request, project, outcome, "取消")
