"""Pages of calls: a call with its recording (played in the browser with HTTP range requests, downloaded by the
roles allowed to), the contact-correction list (号码纠错清单) and its Excel export.

Every playback and download is audited: a playback once per listening (the request that starts at byte 0),
not once per range request the browser makes while seeking."""

import re
from collections.abc import Iterator
from typing import IO

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from huifang.audit.services import record_action
from huifang.calls import queries, services
from huifang.calls.choices import END_CAUSE_TEXT, KIND_TEXT, STATE_TEXT
from huifang.calls.exports import corrections_workbook
from huifang.calls.models import Attachment, OutcomeCode
from huifang.lib.web import HtmxHttpRequest
from huifang.org.queries import NotFound
from huifang.org.scoping import sees_all_branches

CHUNK = 64 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _require(request: HtmxHttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


@login_required
@require_GET
def call_detail(request: HtmxHttpRequest, serial: str) -> HttpResponse:
    call = queries.access_call(request.user, serial)
    _require(request, "calls.view_call")
    context = {"call": call, "recording": queries.recording_of(call), "state": STATE_TEXT.get(call.state, call.state),
               "end_cause": END_CAUSE_TEXT.get(call.end_cause, call.end_cause),
               "may_download": request.user.has_perm("calls.download_callrecording")}
    return render(request, "calls/call_detail.html", context)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single "bytes=" range, or None when unsatisfiable. Raises ValueError for a header
    this server does not honour (several ranges): the whole file is sent then."""
    match = RANGE.match(header.strip())
    if match is None:
        raise ValueError(header)
    start, end = match.groups()
    if not start and not end:
        raise ValueError(header)
    if not start:  # the last N bytes
        length = int(end)
        if length == 0:
            return None
        return max(0, size - length), size - 1
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if first >= size or last < first:
        return None
    return first, last


def _stream(handle: IO[bytes], first: int, last: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _serve_recording(request: HtmxHttpRequest, serial: str, *, download: bool) -> HttpResponseBase:
    recording = queries.access_recording(request.user, serial)
    _require(request, "calls.download_callrecording" if download else "calls.view_callrecording")
    size = recording.size
    header = request.headers.get("Range", "")
    wanted: tuple[int, int] | None = (0, size - 1)
    partial = False
    if header and not download:
        try:
            wanted = _byte_range(header, size)
            partial = True
        except ValueError:
            wanted, partial = (0, size - 1), False
    if wanted is None:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    first, last = wanted
    if download or first == 0:
        services.record_recording_access(actor=request.user, recording=recording, download=download)
    handle = services.recording_storage().open(recording.storage_key, "rb")
    response = StreamingHttpResponse(_stream(handle, first, last), status=206 if partial else 200,
                                     content_type=recording.content_type)
    response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    if partial:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{recording.call.serial}.wav"'
    return response


@login_required
@require_GET
def play_recording(request: HtmxHttpRequest, serial: str) -> HttpResponseBase:
    return _serve_recording(request, serial, download=False)


@login_required
@require_GET
def download_recording(request: HtmxHttpRequest, serial: str) -> HttpResponseBase:
    return _serve_recording(request, serial, download=True)


@login_required
@require_GET
def attachment(request: HtmxHttpRequest, attachment_id: int) -> HttpResponseBase:
    """A callback's attachment (a scanned paper questionnaire), shown in the browser; another branch's is "not
    found". Audited (view_attachment)."""
    found = (Attachment.objects.visible_to(request.user).select_related("callback__branch")
             .filter(pk=attachment_id).first())
    if found is None:
        raise NotFound("附件不存在")
    _require(request, "calls.view_call")
    record_action(actor=request.user, action="view_attachment", obj=found,
                  summary=f"查看附件 {found.original_name[:100]}：回访任务 {found.callback_id}")
    response = FileResponse(services.attachment_storage().open(found.storage_key, "rb"),
                            content_type=found.content_type, filename=found.original_name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def corrections(request: HtmxHttpRequest) -> HttpResponse:
    _require(request, "calls.view_contactcorrection")
    show_all = request.GET.get("all") == "1"
    rows = list(queries.corrections(request.user, open_only=not show_all)[:500])
    labels = dict(OutcomeCode.objects.values_list("code", "label"))
    for row in rows:
        row.kind_text = KIND_TEXT.get(row.kind, row.kind)  # type: ignore[attr-defined]
        row.outcome_text = labels.get(row.outcome, row.outcome)  # type: ignore[attr-defined]
    return render(request, "calls/corrections.html", {"rows": rows, "show_all": show_all,
                                                      "sees_all": sees_all_branches(request.user)})


@login_required
@require_GET
def corrections_export(request: HtmxHttpRequest) -> HttpResponse:
    _require(request, "calls.view_contactcorrection")
    rows = list(queries.corrections(request.user, open_only=request.GET.get("all") != "1"))
    services.record_corrections_export(actor=request.user, count=len(rows))
    response = HttpResponse(corrections_workbook(rows),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename=\"contact-corrections.xlsx\""
    return response
