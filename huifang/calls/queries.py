"""Reads of calls: one call with the callbacks it served, recordings, the contact-correction list. Another
branch's call is "not found"."""

from typing import Any

from django.db.models import Prefetch, QuerySet

from huifang.calls.models import Call, CallCallback, CallRecording, ContactCorrection
from huifang.org.queries import NotFound


def visible_calls(user: Any) -> QuerySet[Call]:
    return Call.objects.visible_to(user).select_related("customer", "agent", "branch")


def access_call(user: Any, serial: str) -> Call:
    """The call with this serial if `user` may see it, with its callbacks, outcomes and recording; NotFound
    otherwise."""
    served = CallCallback.objects.select_related("callback__callback_type", "outcome").order_by("id")
    call = (visible_calls(user).prefetch_related(Prefetch("served", queryset=served))
            .filter(serial=serial).first())
    if call is None:
        raise NotFound("通话不存在")
    return call


def recording_of(call: Call) -> CallRecording | None:
    return CallRecording.objects.filter(call=call).first()


def access_recording(user: Any, serial: str) -> CallRecording:
    recording = (CallRecording.objects.visible_to(user).select_related("call__branch", "call__customer")
                 .filter(call__serial=serial).first())
    if recording is None:
        raise NotFound("录音不存在")
    return recording


def corrections(user: Any, *, open_only: bool = True) -> QuerySet[ContactCorrection]:
    """The contact corrections `user` sees (their branch's; HQ all), open ones by default, newest first."""
    rows = ContactCorrection.objects.visible_to(user).select_related("branch", "customer", "found_by_call")
    if open_only:
        rows = rows.filter(resolved_at__isnull=True)
    return rows.order_by("branch__code", "-found_at", "-id")
