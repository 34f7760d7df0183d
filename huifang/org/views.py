"""Organisation pages: who works where (reads through the branch-scoped queries), and the API clients of the
CRM and counter systems (HQ administrators only; writes through the services)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huifang.lib.web import HtmxHttpRequest
from huifang.org.choices import Role
from huifang.org.forms import ApiClientForm
from huifang.org.models import ApiClient
from huifang.org.queries import (
    access_api_client,
    access_branch,
    access_user,
    api_clients,
    may_manage_api_clients,
    visible_branches,
    visible_users,
)
from huifang.org.services import ApiClientError, create_api_client, deactivate_api_client, rotate_api_client_token


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
        "may_manage_api_clients": may_manage_api_clients(request.user),
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


def _api_client_admin_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only HQ administrators manage API clients: anyone else logged in gets 403."""

    @wraps(view)
    def guarded(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_manage_api_clients(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(guarded)


def _api_clients_page(request: HtmxHttpRequest, *, form: ApiClientForm | None = None, token: str = "",
                      token_client: ApiClient | None = None, status: int = 200) -> HttpResponse:
    """The page, or only its client panel for htmx; `token` is a clear token to show this once."""
    context = {"clients": api_clients(), "form": form or ApiClientForm(), "token": token,
               "token_client": token_client}
    template = "org/api_client_list.html#clients" if request.htmx else "org/api_client_list.html"
    return render(request, template, context, status=status)


@_api_client_admin_only
@require_GET
def api_client_list(request: HtmxHttpRequest) -> HttpResponse:
    return _api_clients_page(request)


@_api_client_admin_only
@require_POST
def api_client_create(request: HtmxHttpRequest) -> HttpResponse:
    form = ApiClientForm(request.POST)
    if not form.is_valid():
        return _api_clients_page(request, form=form, status=422)
    try:
        client, token = create_api_client(
            name=form.cleaned_data["name"],
            branches=form.cleaned_data["branches"],
            all_branches=form.cleaned_data["all_branches"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
        )
    except ApiClientError as error:
        form.add_error(None, str(error))
        return _api_clients_page(request, form=form, status=422)
    return _api_clients_page(request, token=token, token_client=client)


@_api_client_admin_only
@require_POST
def api_client_rotate(request: HtmxHttpRequest, client_id: int) -> HttpResponse:
    client = access_api_client(client_id)
    try:
        token = rotate_api_client_token(client=client, actor=request.user)
    except ApiClientError as error:
        messages.error(request, str(error))
        return _api_clients_page(request, status=409)
    return _api_clients_page(request, token=token, token_client=client)


@_api_client_admin_only
@require_POST
def api_client_deactivate(request: HtmxHttpRequest, client_id: int) -> HttpResponse:
    client = access_api_client(client_id)
    if deactivate_api_client(client=client, actor=request.user):
        messages.success(request, _("API client %(name)s is deactivated; its token no longer works.")
                         % {"name": client.name})
    return _api_clients_page(request)
