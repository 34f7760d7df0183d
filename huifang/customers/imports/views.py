"""The import page (客户资料导入): upload a counter or CRM export, map its columns when its header fits no profile,
follow the background import (htmx polls the run's status partial every second) and download the refused rows.

Who may import: queries.may_import. A branch user sees the runs of the own branch and imports only into it
(services.branch_limit, applied by the job); HQ sees every run."""

from pathlib import Path
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from huifang.customers.imports.forms import MappingForm, UploadForm
from huifang.customers.imports.profiles import Kind
from huifang.customers.imports.queries import (
    access_import_run,
    may_import,
    usable_import_profiles,
    visible_import_runs,
)
from huifang.customers.imports.runs import (
    MappingNeeded,
    PendingUpload,
    ProfileError,
    UploadRefused,
    profile_label,
    rejects_path,
    save_import_profile,
    start_import,
)
from huifang.customers.models import ImportKind, ImportRun
from huifang.lib.web import HtmxHttpRequest
from huifang.org.queries import NotFound
from huifang.org.scoping import sees_all_branches

PAGE_SIZE = 50
#: the session key of the uploads waiting for their column mapping: {token: {file_name, kind, header, message}}
PENDING_KEY = "pending_imports"
#: how many waiting uploads a session remembers (the oldest are forgotten)
PENDING_KEPT = 5


def _importer(request: HtmxHttpRequest) -> Any:
    if not may_import(request.user):
        raise PermissionDenied
    return request.user


def _index_page(request: HtmxHttpRequest, form: UploadForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    page = Paginator(visible_import_runs(user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "form": form or UploadForm(profiles=usable_import_profiles(user)),
        "sees_all": sees_all_branches(user),
    }
    return render(request, "imports/index.html", context, status=status)


@login_required
@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    _importer(request)
    return _index_page(request)


@login_required
@require_POST
def upload(request: HtmxHttpRequest) -> HttpResponse:
    actor = _importer(request)
    form = UploadForm(request.POST, request.FILES, profiles=usable_import_profiles(actor))
    if not form.is_valid():
        return _index_page(request, form, status=422)
    try:
        run = start_import(actor=actor, upload=form.cleaned_data["file"], kind=form.cleaned_data["kind"],
                           profile_choice=form.cleaned_data["profile"])
    except (UploadRefused, ProfileError) as error:
        form.add_error(None, str(error))
        return _index_page(request, form, status=422)
    except MappingNeeded as need:
        _remember(request, need)
        mapping_form = MappingForm(kind=need.kind, header=need.header,
                                   initial={"token": need.pending.token,
                                            **{f"field_{k}": v for k, v in need.initial.items()}})
        return _mapping_page(request, mapping_form, need.pending.file_name, need.message)
    return redirect("imports:run", run_id=run.pk)


def _remember(request: HtmxHttpRequest, need: MappingNeeded) -> None:
    pending = dict(request.session.get(PENDING_KEY, {}))
    pending[need.pending.token] = {"file_name": need.pending.file_name, "kind": need.kind,
                                   "header": need.header, "message": need.message}
    request.session[PENDING_KEY] = dict(list(pending.items())[-PENDING_KEPT:])


def _mapping_page(request: HtmxHttpRequest, form: MappingForm, file_name: str, message: str,
                  status: int = 200) -> HttpResponse:
    context = {"form": form, "file_name": file_name, "message": message,
               "kind_label": ImportKind(form.kind).label}
    return render(request, "imports/mapping.html", context, status=status)


@login_required
@require_POST
def mapping(request: HtmxHttpRequest) -> HttpResponse:
    """The columns of a waiting upload, chosen by hand: saved as a profile if named, and imported at once."""
    actor = _importer(request)
    token = request.POST.get("token", "")
    waiting = request.session.get(PENDING_KEY, {}).get(token)
    if waiting is None:
        # Another user's upload, an old one, or none: the same answer.
        raise NotFound("上传的文件已失效，请重新上传")
    kind = cast(Kind, waiting["kind"])
    form = MappingForm(request.POST, kind=kind, header=waiting["header"])
    if not form.is_valid():
        return _mapping_page(request, form, waiting["file_name"], waiting["message"], status=422)
    pending = PendingUpload(token=token, file_name=waiting["file_name"])
    try:
        if form.cleaned_data["save_as"].strip():
            profile = save_import_profile(actor=actor, name=form.cleaned_data["save_as"], kind=kind,
                                          mapping=form.mapping())
            run = start_import(actor=actor, upload=pending, kind=kind, profile_choice=f"saved:{profile.pk}")
        else:
            run = start_import(actor=actor, upload=pending, kind=kind, mapping=form.mapping())
    except ProfileError as error:
        for message in error.messages:
            form.add_error(None, message)
        return _mapping_page(request, form, waiting["file_name"], waiting["message"], status=422)
    except (UploadRefused, MappingNeeded) as error:
        form.add_error(None, str(error))
        return _mapping_page(request, form, waiting["file_name"], waiting["message"], status=422)
    pending_all = dict(request.session.get(PENDING_KEY, {}))
    pending_all.pop(token, None)
    request.session[PENDING_KEY] = pending_all
    return redirect("imports:run", run_id=run.pk)


@login_required
@require_GET
def run_detail(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """A run's status, progress, counts and refusals; htmx asks for the status partial only (polling)."""
    run = access_import_run(_importer(request), run_id)
    context = {"run": run, "profile_label": profile_label(run), "percent": _percent(run)}
    template = "imports/run_detail.html#status" if request.htmx else "imports/run_detail.html"
    return render(request, template, context)


def _percent(run: ImportRun) -> int:
    if run.is_finished:
        return 100
    if not run.rows_total:
        return 0
    return min(99, run.rows_read * 100 // run.rows_total)


@login_required
@require_GET
def rejects(request: HtmxHttpRequest, run_id: int) -> FileResponse:
    """The refused rows of a run, as they were in the file, with the line number and the reasons added."""
    run = access_import_run(_importer(request), run_id)
    path = rejects_path(run)
    if path is None or not path.is_file():
        raise NotFound("这次导入没有被拒绝的行")
    charset = "utf-8" if run.encoding in ("", "utf-8-sig") else run.encoding
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{Path(run.file_name).stem}.rejects.csv",
                        content_type=f"text/csv; charset={charset}")
