"""The agent's workbench (坐席工作台): "获得外呼对象" takes the next customer with ALL the callbacks of theirs the
agent may work (callbacks.queue), one call serves them all (calls.services.dial_customer), each callback has its
own questionnaire (callbacks.responses, answered through surveys.services), outcome (回访登记) and 确认完成.

The callbacks shown are the agent's held ones (进行中) plus those the current panel started with (kept in the
session), so a callback that an outcome moved on stays visible with its new state until the next customer.
New work reaches the open page by server-sent events (`workbench_events`): the count of callbacks the agent
could get now and the state of their current call, every WORKBENCH_EVENTS_INTERVAL seconds, for
WORKBENCH_EVENTS_LIFETIME seconds (the browser's EventSource then reconnects by itself)."""

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from huifang.callbacks import queue
from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.callbacks.queue import Nothing, release_callbacks, take_next_callback
from huifang.callbacks.responses import start_callback_response
from huifang.callbacks.services import CallbackError
from huifang.calls import services
from huifang.calls.choices import END_CAUSE_TEXT, CallState, Policy
from huifang.calls.jobs import release_stale_holds_now
from huifang.calls.models import Attachment, Call, CallCallback, CallRecording, OutcomeCode
from huifang.customers.models import Customer
from huifang.customers.queries import customer_phones, recent_events
from huifang.customers.views import display_value, event_details
from huifang.integrations.telephony.base import TelephonyError
from huifang.lib.web import HtmxHttpRequest
from huifang.org.queries import NotFound
from huifang.surveys import rules as survey_rules
from huifang.surveys import services as surveys
from huifang.surveys.choices import ResponseStatus
from huifang.surveys.models import Response
from huifang.surveys.respond import script_values

SESSION_KEY = "workbench_callbacks"
PERMISSION = "calls.add_call"
#: the badge counts at most this many callbacks ("99+"): the count stays cheap over a million open ones
AVAILABLE_CAP = 100
EARLIER_CALLBACKS = 5
#: after a call ends, the status keeps polling this long for its recording
RECORDING_WAIT_SECONDS = 60

STATE_WORDS = {"new": "待分配", "assigned": "已分配", "in_progress": "进行中", "done": "已完成", "failed": "失败",
               "cancelled": "已取消", "expired": "已过期"}
CALL_WORDS = {"dialing": "拨号中", "ringing": "振铃中", "answered": "已接通", "ended": "已结束"}


# --- who may use it --------------------------------------------------------------------------------------------

def _is_agent(user: Any) -> bool:
    return bool(getattr(user, "agent_no", None))


def _agent(request: HttpRequest) -> Any:
    """The requesting agent: a user with an agent number and calls.add_call; 403 for anyone else."""
    user = request.user
    if not _is_agent(user) or not user.has_perm(PERMISSION):
        raise PermissionDenied("只有坐席（有坐席工号的用户）可以使用坐席工作台")
    return user


# --- what the panel shows ----------------------------------------------------------------------------------------

@dataclass
class Section:
    """One callback of the panel: its questionnaire, its outcome on the current call, what the agent may do."""

    callback: Callback
    held: bool
    link: CallCallback | None
    questionnaire: dict[str, Any] | None
    error: str = ""
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def state_text(self) -> str:
        return STATE_WORDS.get(self.callback.state, self.callback.state)

    @property
    def serial(self) -> str:
        return self.link.call.serial if self.link is not None else ""


@dataclass
class Panel:
    customer: Customer
    sections: list[Section]
    call: Call | None
    phones: list[Any] = field(default_factory=list)
    chosen_phone: int | None = None
    phone_error: str = ""

    @property
    def held(self) -> list[Callback]:
        return [s.callback for s in self.sections if s.held]

    @property
    def call_is_up(self) -> bool:
        return self.call is not None and self.call.state != CallState.ENDED


def _held(agent: Any) -> list[Callback]:
    return list(Callback.objects.visible_to(agent).filter(state=State.IN_PROGRESS, agent=agent)
                .order_by("held_at", "id"))


def _panel_callbacks(request: HttpRequest, agent: Any) -> list[Callback]:
    """The held callbacks of the agent's first held customer and the session's panel callbacks of the same
    customer (or, holding none, the session's)."""
    held = _held(agent)
    ids = [int(pk) for pk in request.session.get(SESSION_KEY, [])]
    if held:
        customer_id = held[0].customer_id
        ids = [*ids, *(c.pk for c in held if c.customer_id == customer_id)]
    if not ids:
        return []
    rows = {c.pk: c for c in Callback.objects.visible_to(agent).filter(pk__in=ids)
            .select_related("callback_type", "customer__branch", "customer__manager", "event", "response__version")}
    ordered = list(dict.fromkeys(pk for pk in ids if pk in rows))
    callbacks = [rows[pk] for pk in ordered]
    if held:
        callbacks = [c for c in callbacks if c.customer_id == held[0].customer_id]
    return callbacks


def _current_call(agent: Any, callbacks: list[Callback]) -> Call | None:
    """The agent's latest call that served one of these callbacks."""
    return (Call.objects.filter(agent=agent, served__callback__in=callbacks).select_related("recording")
            .order_by("-dialed_at", "-id").first())


def _questionnaire(request: HttpRequest, callback: Callback, *, held: bool, error: str = "") -> dict[str, Any] | None:
    """The questionnaire's context (the surveys fill-in, embedded): started for a held callback, read-only
    otherwise; None without a questionnaire."""
    response: Response | None = callback.response
    if held and callback.questionnaire_version_id is not None:
        try:
            response = start_callback_response(callback=callback, by=request.user)
        except CallbackError as problem:
            return {"callback": callback, "response": None, "error": str(problem)}
    if response is None:
        return None
    response = (Response.objects.select_related("version", "customer__branch", "customer__manager", "event")
                .get(pk=response.pk))
    definition = surveys.definition_of(response.version)
    answers = {a.question_code: a for a in response.answers.all()}
    values = script_values(response, request.user)
    asked = [code for code in survey_rules.path(definition, surveys.answers_of(response)) if code in answers]
    current = definition.question(response.current_question) if response.current_question else None
    return {
        "callback": callback, "response": response, "error": error,
        "done": [(definition.question(code), answers[code]) for code in asked],
        "current": current, "script": survey_rules.fill_script(current.script, values) if current else "",
        "is_open": held and response.status == ResponseStatus.IN_PROGRESS,
        "is_complete": response.status == ResponseStatus.COMPLETE,
        "kind_labels": survey_rules.KIND_LABELS,
    }


def _section(request: HttpRequest, callback: Callback, call: Call | None, agent: Any, *, error: str = "",
             questionnaire_error: str = "") -> Section:
    held = callback.state == State.IN_PROGRESS and callback.agent_id == agent.pk
    link = None
    if call is not None:
        link = (CallCallback.objects.filter(call=call, callback=callback).select_related("outcome", "call")
                .first())
    return Section(callback=callback, held=held, link=link, error=error,
                   questionnaire=_questionnaire(request, callback, held=held, error=questionnaire_error),
                   attachments=_attachments(callback))


def _attachments(callback: Callback) -> list[Attachment]:
    return list(Attachment.objects.filter(callback=callback).order_by("uploaded_at", "id"))


def _panel(request: HttpRequest, agent: Any) -> Panel | None:
    callbacks = _panel_callbacks(request, agent)
    if not callbacks:
        return None
    customer = callbacks[0].customer
    call = _current_call(agent, callbacks)
    panel = Panel(customer=customer, call=call,
                  sections=[_section(request, callback, call, agent) for callback in callbacks],
                  phones=customer_phones(customer))
    try:
        panel.chosen_phone = services.choose_phone(customer).pk
    except services.CallError as problem:
        panel.phone_error = str(problem)
    return panel


def _customer_context(customer: Customer, panel_ids: list[int]) -> dict[str, Any]:
    products = customer.products if isinstance(customer.products, list) else (
        [customer.products] if customer.products else [])
    earlier = list(Callback.objects.filter(customer=customer).exclude(pk__in=panel_ids)
                   .select_related("callback_type").order_by("-created_at", "-id")[:EARLIER_CALLBACKS])
    labels = dict(OutcomeCode.objects.values_list("code", "label"))
    return {
        "products": [display_value(item) for item in products],
        "events": [(event, event_details(event.data)) for event in recent_events(customer)],
        "earlier": [(c, STATE_WORDS.get(c.state, c.state), labels.get(c.result, c.result)) for c in earlier],
    }


def _outcome_codes() -> list[OutcomeCode]:
    return list(OutcomeCode.objects.filter(is_active=True).order_by("-connected", "sort_order", "code"))


def _panel_context(request: HttpRequest, agent: Any, *, message: str = "", nothing: str = "") -> dict[str, Any]:
    panel = _panel(request, agent)
    context: dict[str, Any] = {"panel": panel, "message": message, "nothing": nothing,
                               "outcomes": _outcome_codes(), "appointment_policy": Policy.APPOINTMENT}
    if panel is not None:
        context.update(_customer_context(panel.customer, [s.callback.pk for s in panel.sections]))
        context.update(_call_context(panel.call))
    return context


def _render_panel(request: HtmxHttpRequest, agent: Any, **kwargs: Any) -> HttpResponse:
    if not request.htmx:
        return redirect("calls:workbench")
    return render(request, "calls/_workbench_panel.html", _panel_context(request, agent, **kwargs))


# --- the page and its actions -----------------------------------------------------------------------------------

@login_required
@require_GET
def workbench(request: HtmxHttpRequest) -> HttpResponse:
    agent = _agent(request)
    if request.htmx:
        return render(request, "calls/_workbench_panel.html", _panel_context(request, agent))
    # the scheduler releases stale holds once a night: the agent coming back gets theirs released at once
    released = release_stale_holds_now(agents=[agent.pk])
    context = _panel_context(request, agent, message=f"超过 {settings.HELD_CALLBACK_TIMEOUT_MINUTES} 分钟未处理的 "
                             f"{released} 个回访任务已自动放回" if released else "")
    context["available_text"] = available_text(available_count(agent))
    return render(request, "calls/workbench.html", context)


@login_required
@require_POST
def workbench_next(request: HtmxHttpRequest) -> HttpResponse:
    """获得外呼对象: the next customer with all of their callbacks the agent may work, unless the agent still
    holds some (finish or hand them back first)."""
    agent = _agent(request)
    if _held(agent):
        return _render_panel(request, agent, message="请先完成或放回当前客户的回访任务")
    taken = take_next_callback(agent=agent)
    if isinstance(taken, Nothing):
        request.session[SESSION_KEY] = []
        return _render_panel(request, agent, nothing=taken.reason)
    request.session[SESSION_KEY] = list(taken.callback_ids)
    return _render_panel(request, agent)


@login_required
@require_POST
def workbench_release(request: HtmxHttpRequest) -> HttpResponse:
    """放回: every held callback goes back to where it was taken from."""
    agent = _agent(request)
    release_callbacks(agent=agent, ids=[c.pk for c in _held(agent)])
    request.session[SESSION_KEY] = []
    return _render_panel(request, agent, message="已放回")


@login_required
@require_POST
def workbench_dial(request: HtmxHttpRequest) -> HttpResponse:
    """拨号: one call to the panel's customer for all the callbacks the agent holds of theirs, on the phone
    chosen among the customer's (never a typed number)."""
    agent = _agent(request)
    callbacks = [c for c in _panel_callbacks(request, agent)
                 if c.state == State.IN_PROGRESS and c.agent_id == agent.pk]
    if not callbacks:
        return _render_panel(request, agent, message="没有可拨号的回访任务")
    current = _current_call(agent, callbacks)
    if current is not None and current.state != CallState.ENDED:
        return _render_panel(request, agent, message="当前通话尚未结束")
    raw_phone = request.POST.get("phone", "")
    phone = int(raw_phone) if raw_phone.isdigit() else None
    try:
        services.dial_customer(agent=agent, customer=callbacks[0].customer, callbacks=callbacks, phone=phone)
    except services.CallError as problem:
        return _render_panel(request, agent, message=str(problem))
    return _render_panel(request, agent)


def _own_call(agent: Any, serial: str) -> Call:
    call = Call.objects.filter(agent=agent, serial=serial).select_related("recording").first()
    if call is None:
        raise NotFound("通话不存在")
    return call


def _call_context(call: Call | None, *, was: str = "") -> dict[str, Any]:
    if call is None:
        return {"call": None}
    recording: CallRecording | None = getattr(call, "recording", None) if hasattr(call, "recording") else None
    waiting_recording = (call.state == CallState.ENDED and call.answered_at is not None and recording is None
                         and call.ended_at is not None
                         and timezone.now() - call.ended_at < dt.timedelta(seconds=RECORDING_WAIT_SECONDS))
    return {"call": call, "call_text": CALL_WORDS.get(call.state, call.state),
            "end_cause": END_CAUSE_TEXT.get(call.end_cause, call.end_cause), "recording": recording,
            "polling": call.state != CallState.ENDED or waiting_recording, "waiting_recording": waiting_recording}


@login_required
@require_GET
def workbench_call(request: HtmxHttpRequest, serial: str) -> HttpResponse:
    """The call's status (polled every second while the call is up or its recording is awaited). A call that
    has just ended unanswered refreshes the panel: its outcome may have been registered by the exchange's
    event."""
    agent = _agent(request)
    call = _own_call(agent, serial)
    response = render(request, "calls/_workbench_call.html", _call_context(call))
    if request.GET.get("was") not in ("", None, CallState.ENDED) and call.state == CallState.ENDED \
            and call.answered_at is None:
        response["HX-Trigger"] = "workbench-refresh"
    return response


@login_required
@require_POST
def workbench_hangup(request: HtmxHttpRequest, serial: str) -> HttpResponse:
    """挂断: the exchange ends the call (its events then end it here)."""
    agent = _agent(request)
    call = _own_call(agent, serial)
    error = ""
    if call.state != CallState.ENDED:
        try:
            services.exchange().hang_up(exchange_call_id=call.exchange_call_id)
        except TelephonyError as problem:
            error = f"挂断失败：{problem}"
        call.refresh_from_db()
    context = _call_context(call)
    context["error"] = error
    return render(request, "calls/_workbench_call.html", context)


def _panel_callback(request: HttpRequest, agent: Any, callback_id: int) -> Callback:
    """A callback of the agent's panel; "not found" for any other (another branch's, another agent's)."""
    for callback in _panel_callbacks(request, agent):
        if callback.pk == callback_id:
            return callback
    raise NotFound("回访任务不存在")


def _render_section(request: HttpRequest, agent: Any, callback: Callback, *, error: str = "",
                    status: int = 200) -> HttpResponse:
    callback.refresh_from_db()
    call = _current_call(agent, [callback])
    section = _section(request, callback, call, agent, error=error)
    response = render(request, "calls/_workbench_callback.html",
                      {"section": section, "outcomes": _outcome_codes(), "appointment_policy": Policy.APPOINTMENT},
                      status=status)
    if not _held(agent):
        # the customer is done with: the whole panel again (the next button, no more dialing or releasing)
        response["HX-Trigger"] = "workbench-refresh"
    return response


def _render_questionnaire(request: HttpRequest, callback: Callback, *, error: str = "") -> HttpResponse:
    callback.refresh_from_db()
    held = callback.state == State.IN_PROGRESS and callback.agent_id == getattr(request.user, "pk", None)
    return render(request, "calls/_workbench_questionnaire.html",
                  {"q": _questionnaire(request, callback, held=held, error=error)}, status=422 if error else 200)


def _open_response(callback: Callback, agent: Any) -> Response:
    try:
        return start_callback_response(callback=callback, by=agent)
    except CallbackError as problem:
        raise PermissionDenied(str(problem)) from problem


@login_required
@require_POST
def workbench_answer(request: HtmxHttpRequest, callback_id: int) -> HttpResponse:
    """Save one answer of the callback's questionnaire at once (surveys.services.save_answer)."""
    agent = _agent(request)
    callback = _panel_callback(request, agent, callback_id)
    response = _open_response(callback, agent)
    code = request.POST.get("question", "")
    question = surveys.definition_of(response.version).question(code)
    value: Any = None
    if question is not None:
        value = request.POST.getlist("value") if question.kind == "multiple" else request.POST.get("value", "")
    try:
        surveys.save_answer(actor=agent, response=response, question_code=code, value=value or None,
                            other_text=request.POST.get("other_text", ""),
                            skipped_reason=request.POST.get("skipped_reason", ""), channel="phone")
    except surveys.QuestionnaireError as problem:
        return _render_questionnaire(request, callback, error=str(problem))
    return _render_questionnaire(request, callback)


@login_required
@require_POST
def workbench_finish(request: HtmxHttpRequest, callback_id: int) -> HttpResponse:
    """完成问卷: close the callback's response (complete when every question on its path is answered)."""
    agent = _agent(request)
    callback = _panel_callback(request, agent, callback_id)
    surveys.finish_response(actor=agent, response=_open_response(callback, agent))
    return _render_questionnaire(request, callback)


def _appointment_at(raw: str) -> dt.datetime | None:
    if not raw.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise services.CallError("预约时间格式不正确") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@login_required
@require_POST
def workbench_outcome(request: HtmxHttpRequest, callback_id: int) -> HttpResponse:
    """回访登记 of one callback on the current call (register_outcome and the outcome's policy)."""
    agent = _agent(request)
    callback = _panel_callback(request, agent, callback_id)
    call = _current_call(agent, [callback])
    try:
        if call is None:
            raise services.CallError("请先拨号，再登记回访结果")
        services.register_outcome(call=call, callback=callback, outcome_code=request.POST.get("outcome", ""),
                                  by=agent, appointment_at=_appointment_at(request.POST.get("appointment_at", "")),
                                  appointment_for_anyone=request.POST.get("for_anyone") == "1",
                                  note=request.POST.get("note", "").strip())
    except (services.CallError, CallbackError) as problem:
        return _render_section(request, agent, callback, error=str(problem), status=422)
    return _render_section(request, agent, callback)


@login_required
@require_POST
def workbench_confirm(request: HtmxHttpRequest, callback_id: int) -> HttpResponse:
    """确认完成: needs the questionnaire complete, or (none) an outcome that ends it (confirm_callback)."""
    agent = _agent(request)
    callback = _panel_callback(request, agent, callback_id)
    try:
        services.confirm_callback(callback=callback, by=agent)
    except services.CallError as problem:
        return _render_section(request, agent, callback, error=str(problem), status=422)
    return _render_section(request, agent, callback)


@login_required
@require_POST
def workbench_attach(request: HtmxHttpRequest, callback_id: int) -> HttpResponse:
    """上传纸质问卷: a scanned paper questionnaire (image or PDF) attached to a callback of the panel
    (services.attach_file); answers the callback's attachment list."""
    agent = _agent(request)
    callback = _panel_callback(request, agent, callback_id)
    upload = request.FILES.get("file")
    error, status = "", 200
    if upload is None:
        error, status = "请选择要上传的文件（图片或 PDF）", 422
    else:
        try:
            services.attach_file(callback=callback, by=agent, name=upload.name or "附件", source=upload)
        except services.CallError as problem:
            error, status = str(problem), 422
    # htmx 2 swaps no 4xx answer: a refusal it is to show comes as 200 (422 for anyone else)
    return render(request, "calls/_workbench_attachments.html",
                  {"callback": callback, "attachments": _attachments(callback), "attach_error": error},
                  status=200 if request.htmx else status)


# --- server-sent events ----------------------------------------------------------------------------------------

def available_count(agent: Any, *, now: dt.datetime | None = None) -> int:
    """How many callbacks `agent` could be given now (at most AVAILABLE_CAP)."""
    return queue.available_count(agent=agent, now=now, limit=AVAILABLE_CAP)


def available_text(count: int) -> str:
    shown = f"{AVAILABLE_CAP - 1}+" if count >= AVAILABLE_CAP else str(count)
    return f"有 {shown} 个可回访任务"


def agent_status(agent: Any) -> dict[str, Any]:
    """What the stream sends: the count of callbacks the agent could get now and their latest call's state
    (a call ended more than RECORDING_WAIT_SECONDS ago is no longer news)."""
    count = available_count(agent)
    call = Call.objects.filter(agent=agent).order_by("-dialed_at", "-id").first()
    call_state: dict[str, Any] | None = None
    if call is not None and not (call.state == CallState.ENDED and call.ended_at is not None
                                 and timezone.now() - call.ended_at > dt.timedelta(seconds=RECORDING_WAIT_SECONDS)):
        call_state = {"serial": call.serial, "state": call.state, "text": CALL_WORDS.get(call.state, call.state),
                      "has_recording": CallRecording.objects.filter(call=call).exists()}
    return {"available": count, "available_text": available_text(count), "call": call_state}


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def _status_stream(agent: Any, *, interval: float, lifetime: float) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime
    yield "retry: 3000\n\n"
    while True:
        status = await sync_to_async(agent_status)(agent)
        yield _sse("status", status)
        if loop.time() + interval >= ends:
            return
        await asyncio.sleep(interval)


@login_required
async def workbench_events(request: HttpRequest) -> StreamingHttpResponse:
    """text/event-stream of `status` events (agent_status) for the open workbench page."""
    user = await request.auser()
    if not _is_agent(user) or not await user.ahas_perm(PERMISSION):
        raise PermissionDenied("只有坐席（有坐席工号的用户）可以使用坐席工作台")
    interval = float(getattr(settings, "WORKBENCH_EVENTS_INTERVAL", 5.0))
    lifetime = float(getattr(settings, "WORKBENCH_EVENTS_LIFETIME", 300.0))
    response = StreamingHttpResponse(_status_stream(user, interval=interval, lifetime=lifetime),
                                     content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
