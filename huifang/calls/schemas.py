"""Shapes of the calls API: a call with the callbacks it served and its recording, the dial and outcome
requests. Phones go out masked only."""

import datetime as dt
from typing import Any

from ninja import Field, Schema

from huifang.callbacks.models import Callback
from huifang.calls.models import Call, CallRecording
from huifang.calls.rules import suggested_outcome


class ErrorOut(Schema):
    code: str
    message: str


class DialIn(Schema):
    customer_no: str = Field(min_length=1, max_length=20)
    #: the customer's callbacks the agent holds (进行中) that this call serves
    callback_ids: list[int] = Field(min_length=1, max_length=50)
    #: one of the customer's phones (GET /api/v1/customers/{no} lists them masked); default: the best valid one
    phone_id: int | None = None


class ServedOut(Schema):
    callback_id: int
    type: str
    #: the outcome code registered on this call, or null
    outcome: str | None
    outcome_label: str | None
    registered_at: dt.datetime | None
    note: str


class RecordingOut(Schema):
    duration_seconds: float
    size: int
    sha256: str
    content_type: str
    created_at: dt.datetime
    #: the page address that plays it (range requests)
    url: str


class CallOut(Schema):
    serial: str
    state: str
    customer_no: str
    branch: str
    agent_no: str
    phone_id: int | None
    phone_masked: str
    dialed_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    duration_seconds: int
    end_cause: str
    #: the outcome the end cause suggests ("" when none)
    suggested_outcome: str
    error: str
    exchange_call_id: str
    callbacks: list[ServedOut]
    recording: RecordingOut | None


class OutcomeIn(Schema):
    #: the outcome code (DOMAIN.md "Stable codes": success, refused, no_answer, ...)
    outcome: str = Field(min_length=1, max_length=20)
    call_serial: str = Field(min_length=1, max_length=20)
    #: for "appointment": when (ISO 8601; without an offset: Asia/Shanghai)
    appointment_at: dt.datetime | None = None
    appointment_for_anyone: bool = False
    note: str = Field(default="", max_length=2000)
    #: confirm 已完成 at once (needs the questionnaire complete, or an ending outcome without questionnaire)
    confirm_done: bool = False


class OutcomeOut(Schema):
    callback_id: int
    call_serial: str
    outcome: str
    state: str
    attempts: int
    result: str
    not_before: dt.datetime | None
    appointment_at: dt.datetime | None


def call_out(call: Call, recording: CallRecording | None, recording_url: str) -> dict[str, Any]:
    served = [{"callback_id": link.callback_id, "type": link.callback.callback_type.code,
               "outcome": link.outcome.code if link.outcome else None,
               "outcome_label": link.outcome.label if link.outcome else None,
               "registered_at": link.registered_at, "note": link.note} for link in call.served.all()]
    return {
        "serial": call.serial, "state": call.state, "customer_no": call.customer.customer_no,
        "branch": call.branch.code, "agent_no": getattr(call.agent, "agent_no", "") or "",
        "phone_id": call.phone_id, "phone_masked": call.phone_masked, "dialed_at": call.dialed_at,
        "answered_at": call.answered_at, "ended_at": call.ended_at, "duration_seconds": call.duration_seconds,
        "end_cause": call.end_cause, "suggested_outcome": suggested_outcome(call.end_cause), "error": call.error,
        "exchange_call_id": call.exchange_call_id, "callbacks": served,
        "recording": None if recording is None else {
            "duration_seconds": recording.duration_seconds, "size": recording.size, "sha256": recording.sha256,
            "content_type": recording.content_type, "created_at": recording.created_at, "url": recording_url},
    }


def outcome_out(callback: Callback, *, call: Call, outcome: str) -> dict[str, Any]:
    return {"callback_id": callback.pk, "call_serial": call.serial, "outcome": outcome, "state": callback.state,
            "attempts": callback.attempts, "result": callback.result, "not_before": callback.not_before,
            "appointment_at": callback.appointment_at}
