"""Organisation pages: who works where. Reads go through the branch-scoped queries; nothing here writes."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render

from huifang.lib.web import HtmxHttpRequest
from huifang.org.choices import Role
from huifang.org.queries import access_branch, access_user, visible_branches, visible_users


@login_required
@permission_required("org.view_user", raise_exception=True)
def user_list(request: HtmxHttpRequest) -> HttpResponse:
    users = visible_users(request.user)
    q = request.GET.get("q", "").strip()
    if q:
        users = users.filter(Q(username__icontains=q) | Q(name__icontains=q) | Q(agent_no__icontains=q))
    branch = request.GET.get("branch", "")
    if branch:
        users = users.filter(branch__code=branch)
    role = request.GET.get("role", "")
    if role:
        users = users.filter(groups__name=role)
    page = Paginator(users.order_by("branch__code", "username"), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "branch": branch,
        "role": role,
        "branches": visible_branches(request.user),
        "roles": Role.choices,
        "role_labels": dict(Role.choices),
    }
    template = "org/_user_rows.html" if request.htmx else "org/user_list.html"
    return render(request, template, context)


@login_required
@permission_required("org.view_user", raise_exception=True)
def user_detail(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    person = access_user(request.user, user_id)
    labels = dict(Role.choices)
    roles = [labels.get(code, code) for code in person.groups.values_list("name", flat=True)]
    return render(request, "org/user_detail.html", {"person": person, "roles": roles})


@login_required
@permission_required("org.view_branch", raise_exception=True)
def branch_list(request: HtmxHttpRequest) -> HttpResponse:
    branches = visible_branches(request.user).annotate(
        user_count=Count("users", distinct=True), team_count=Count("teams", distinct=True)
    )
    return render(request, "org/branch_list.html", {"branches": branches})


@login_required
@permission_required("org.view_branch", raise_exception=True)
def branch_detail(request: HtmxHttpRequest, branch_id: int) -> HttpResponse:
    branch = access_branch(request.user, branch_id)
    return render(
        request,
        "org/branch_detail.html",
        {"branch": branch, "teams": branch.teams.select_related("lead"), "departments": branch.departments.all()},
    )
