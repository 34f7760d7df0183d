"""REST endpoints of calls, the same services as the workbench:
- `POST /api/v1/calls`: dial a customer for the callbacks the agent holds (no typed numbers);
- `GET /api/v1/calls/{serial}`: one call with the callbacks it served, their outcomes and the recording;
- `POST /api/v1/callbacks/{id}/outcome`: register the outcome of a call for one callback (回访登记);
- `POST /api/v1/callbacks/{id}/attachments` (multipart, field `file`): attach a scanned paper questionnaire.
Another branch's call, customer or callback answers 404. API clients have no scope here (403): agents call."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from huifang.callbacks.models import Callback
from huifang.callbacks.queries import access_callback
from huifang.calls import queries
from huifang.calls.models import OutcomeCode
from huifang.calls.schemas import CallOut, DialIn, ErrorOut, OutcomeIn, OutcomeOut, call_out, outcome_out
from huifang.calls.services import CallError, attach_file, confirm_callback, dial_customer, register_outcome
from huifang.customers.queries import access_customer_by_no
from huifang.org.auth import ApiError
from huifang.org.queries import NotFound

router = Router(tags=["calls"])
outcome_router = Router(tags=["calls"])


def _require(request: HttpRequest, perm: str, message: str) -> None:
    if not request.user.has_perm(perm):
        raise ApiError(403, "permission_denied", message)


def _call_body(request: HttpRequest, serial: str) -> dict[str, Any]:
    call = queries.access_call(request.user, serial)
    return call_out(call, queries.recording_of(call), reverse("calls:recording", args=[call.serial]))


@router.post("", response={201: CallOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
                           502: ErrorOut}, summary="Dial a customer for the callbacks the agent holds")
def post_call(request: HttpRequest, body: DialIn) -> Status:
    """Dials the customer's `phone_id` or best valid phone; the call serial links every callback given."""
    _require(request, "calls.add_call", "只有回访专员可以外呼")
    customer = access_customer_by_no(request.user, body.customer_no)
    ids = sorted(set(body.callback_ids))
    callbacks = list(Callback.objects.visible_to(request.user).filter(pk__in=ids, customer=customer))
    if len(callbacks) != len(ids):
        raise NotFound("回访任务不存在")
    try:
        call = dial_customer(agent=request.user, customer=customer, callbacks=callbacks, phone=body.phone_id)
    except CallError as error:
        if error.call is not None:
            raise ApiError(502, "telephony_error", f"{error}（通话流水号 {error.call.serial}）") from None
        raise ApiError(409, "call_refused", str(error)) from None
    return Status(201, _call_body(request, call.serial))


@router.get("/{serial}", response={200: CallOut, 403: ErrorOut, 404: ErrorOut},
            summary="One call with the callbacks it served, their outcomes and its recording")
def get_call(request: HttpRequest, serial: str) -> dict[str, Any]:
    body = _call_body(request, serial)
    _require(request, "calls.view_call", "无权查看通话")
    return body


@outcome_router.post("/{int:callback_id}/outcome",
                     response={200: OutcomeOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
                     summary="Register the outcome of a call for one callback (回访登记)")
def post_outcome(request: HttpRequest, callback_id: int, body: OutcomeIn) -> dict[str, Any]:
    """Applies the outcome's policy (retry, next phone, mark invalid, close, appointment); `confirm_done`
    confirms 已完成 in the same request."""
    _require(request, "calls.add_call", "只有回访专员可以登记回访结果")
    callback = access_callback(request.user, callback_id)
    call = queries.access_call(request.user, body.call_serial)
    if not OutcomeCode.objects.filter(code=body.outcome, is_active=True).exists():
        raise ApiError(422, "invalid_input", f"outcome：未知的回访结果 {body.outcome}")
    appointment_at = body.appointment_at
    if appointment_at is not None and timezone.is_naive(appointment_at):
        appointment_at = timezone.make_aware(appointment_at)
    try:
        register_outcome(call=call, callback=callback, outcome_code=body.outcome, by=request.user,
                         appointment_at=appointment_at, appointment_for_anyone=body.appointment_for_anyone,
                         note=body.note)
    except CallError as error:
        raise ApiError(409, "outcome_refused", str(error)) from None
    callback.refresh_from_db()
    if body.confirm_done:
        try:
            callback = confirm_callback(callback=callback, by=request.user)
        except CallError as error:
            raise ApiError(409, "confirm_refused", f"结果已登记，但{error}") from None
    return outcome_out(callback, call=call, outcome=body.outcome)


class AttachmentOut(Schema):
    id: int
    callback_id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: str
    url: str


@outcome_router.post("/{int:callback_id}/attachments",
                     response={201: AttachmentOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
                     summary="Attach a scanned paper questionnaire (image or PDF) to a callback")
def post_attachment(request: HttpRequest, callback_id: int, file: File[UploadedFile]) -> Status:
    """Multipart, the file in field `file`: a JPEG, PNG, TIFF or PDF (judged by its content), at most 20 MB."""
    _require(request, "calls.add_call", "只有回访专员可以上传附件")
    callback = access_callback(request.user, callback_id)
    try:
        attachment = attach_file(callback=callback, by=request.user, name=file.name or "附件", source=file)
    except CallError as error:
        raise ApiError(422, "invalid_file", str(error)) from None
    return Status(201, {"id": attachment.pk, "callback_id": callback.pk, "name": attachment.original_name,
                        "content_type": attachment.content_type, "size": attachment.size,
                        "sha256": attachment.sha256, "uploaded_at": attachment.uploaded_at.isoformat(),
                        "url": reverse("calls:attachment", args=[attachment.pk])})
