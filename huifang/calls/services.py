"""Writes of calls: dialing a customer for the callbacks the agent holds, applying the exchange's events
(answered, ended, recording ready), registering outcomes (回访登记) and their policies, attachments.

The exchange is built once per process (`exchange()`); its events come back through `_deliver`, possibly on the
exchange's own thread, which then uses (and closes) its own database connection."""

import datetime as dt
import hashlib
import importlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.callbacks.attempts import confirm_done, record_attempt
from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.callbacks.services import CallbackError
from huifang.calls import rollups, rules
from huifang.calls.choices import STATE_ORDER, CallState, CorrectionKind, Policy
from huifang.calls.models import (
    Attachment,
    Call,
    CallCallback,
    CallRecording,
    ContactCorrection,
    OutcomeCode,
    SerialCounter,
)
from huifang.customers.choices import ContactValidity
from huifang.customers.models import ContactPoint, Customer
from huifang.integrations.telephony.base import CallEvent, Exchange, TelephonyError

logger = logging.getLogger(__name__)


class CallError(ValueError):
    """A call or an outcome that cannot be made; the message says why, in Chinese. `call`: the call it concerns,
    if one was created (a failed dial)."""

    def __init__(self, message: str, *, call: Call | None = None) -> None:
        super().__init__(message)
        self.call = call


# --- storage -------------------------------------------------------------------------------------------------

def _storage(alias: str) -> Storage:
    """STORAGES[alias] when the deployment configures it, else files on disk under VAR_DIR/<alias>."""
    if alias in settings.STORAGES:
        return storages[alias]
    return FileSystemStorage(location=Path(settings.VAR_DIR) / alias)


def recording_storage() -> Storage:
    return _storage("recordings")


def attachment_storage() -> Storage:
    return _storage("attachments")


def _store(storage: Storage, key: str, source: IO[bytes]) -> tuple[str, int, str]:
    """Save `source` under `key` (the storage may pick another name if taken); (name, size, sha256)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: source.read(1 << 16), b""):
        digest.update(chunk)
        size += len(chunk)
    source.seek(0)
    name = storage.save(key, File(source))
    return name, size, digest.hexdigest()


# --- the exchange ----------------------------------------------------------------------------------------------

_exchange: Exchange | None = None
_exchange_lock = threading.Lock()
_dialing = threading.local()


def _deliver(event: CallEvent) -> None:
    """The exchange's event sink. On a thread of the exchange's (not inside dial_customer), the event is applied
    on that thread's own connection, closed afterwards."""
    own_thread = not getattr(_dialing, "active", False)
    try:
        handle_call_event(event)
    except Exception:
        logger.exception("通话事件处理失败：%s %s", event.reference, event.state)
    finally:
        if own_thread and threading.current_thread() is not threading.main_thread():
            connection.close()


def exchange() -> Exchange:
    """The process's exchange, built once from settings (integrations.telephony.factory)."""
    global _exchange
    with _exchange_lock:
        if _exchange is None:
            factory = importlib.import_module("huifang.integrations.telephony.factory")
            _exchange = factory.exchange_from_settings(_deliver)
        return _exchange


def use_exchange(value: Exchange | None) -> None:
    """Replace the process's exchange (tests; None: build it from settings again on next use)."""
    global _exchange
    with _exchange_lock:
        _exchange = value


# --- dialing -----------------------------------------------------------------------------------------------------

def next_serial(*, today: dt.date | None = None) -> str:
    """A new call serial (通话流水号): "C" + yyyymmdd + the day's 6-digit sequence. The day's counter row is
    bumped by a conditional UPDATE, which serialises concurrent callers on its row lock."""
    day = today or timezone.localdate()
    with transaction.atomic():
        if not SerialCounter.objects.filter(day=day).exists():
            try:
                with transaction.atomic():
                    SerialCounter.objects.create(day=day, last=0)
            except IntegrityError:
                pass  # another caller created it first
        counter = SerialCounter.objects.select_for_update().get(day=day)
        counter.last += 1
        counter.save(update_fields=["last"])
    return f"C{day:%Y%m%d}{counter.last:06d}"


def _customer_phones(customer: Customer) -> list[ContactPoint]:
    return list(ContactPoint.objects.filter(customer=customer).order_by("-is_primary", "id"))


def _phone_to_skip(customer: Customer) -> int | None:
    """The phone of the customer's last call if its outcome asked to try the next phone."""
    last = (CallCallback.objects.filter(call__customer=customer, outcome__policy=Policy.NEXT_PHONE)
            .order_by("-registered_at").values_list("call__phone_id", flat=True).first())
    return last


def choose_phone(customer: Customer, phone_id: Any = None) -> ContactPoint:
    """The phone to dial: `phone_id` if it is one of the customer's usable phones, else the best one in order.
    Raises CallError when there is none."""
    phones = _customer_phones(customer)
    if phone_id is not None:
        for phone in phones:
            if str(phone.pk) == str(phone_id):
                if phone.validity in (ContactValidity.INVALID, ContactValidity.CHANGED):
                    raise CallError("该号码已标记为无效，请选择其他号码")
                return phone
        raise CallError("该客户没有这个号码")
    chosen = rules.choose_phone([(p.pk, p.validity, p.is_primary) for p in phones], skip=_phone_to_skip(customer))
    if chosen is None:
        raise CallError("该客户没有可拨打的有效号码")
    return next(p for p in phones if p.pk == chosen)


def dial_customer(*, agent: Any, customer: Customer, callbacks: Sequence[Callback],
                  phone: ContactPoint | int | None = None) -> Call:
    """Dial `customer` for `callbacks`, which `agent` must hold (进行中, agent = them) and which must all be the
    customer's. The phone is `phone` (one of the customer's, not invalid) or the best valid one; never a typed
    number. The call row (new serial, linked to every callback) is committed before the exchange is asked, so
    the exchange's events always find it.
    Raises CallError (nothing dialed) for bad input; for a TelephonyError the call is ended with cause "failed"
    and CallError carries it. Side effects: the call and its links, an audit entry."""
    if not callbacks:
        raise CallError("请选择要回访的任务")
    if not getattr(agent, "extension", ""):
        raise CallError("您还没有分机号，请联系管理员设置")
    for callback in callbacks:
        if callback.customer_id != customer.pk:
            raise CallError(f"回访任务 {callback.pk} 不属于客户 {customer.customer_no}")
        if callback.state != State.IN_PROGRESS or callback.agent_id != agent.pk:
            raise CallError(f"回访任务 {callback.pk} 不在您的处理中")
    chosen = choose_phone(customer, phone.pk if isinstance(phone, ContactPoint) else phone)
    serial = next_serial()
    with transaction.atomic():
        call = Call.objects.create(serial=serial, agent=agent, customer=customer, phone=chosen,
                                   phone_masked=chosen.masked_number, branch_id=customer.branch_id,
                                   state=CallState.DIALING, dialed_at=timezone.now())
        CallCallback.objects.bulk_create([CallCallback(call=call, callback=callback) for callback in callbacks])
        record_action(actor=agent, action="dial", obj=call,
                      summary=f"外呼客户 {customer.customer_no}（{chosen.masked_number}），通话流水号 {serial}")
    _dialing.active = True
    try:
        placed = exchange().dial(agent_extension=agent.extension, number=chosen.number, reference=serial)
    except TelephonyError as error:
        now = timezone.now()
        with transaction.atomic():
            ended = (Call.objects.filter(pk=call.pk).exclude(state=CallState.ENDED)
                     .update(state=CallState.ENDED, ended_at=now, end_cause="failed", error=str(error)[:300]))
            call.refresh_from_db()
            if ended:
                rollups.count_call(call)
        raise CallError(f"拨号失败：{error}", call=call) from error
    finally:
        _dialing.active = False
    # An event may already have set it (a synchronous exchange reports before dial returns).
    Call.objects.filter(pk=call.pk, exchange_call_id="").update(exchange_call_id=placed.exchange_call_id)
    call.refresh_from_db()
    return call


# --- the exchange's events ----------------------------------------------------------------------------------------

def handle_call_event(event: CallEvent) -> Call | None:
    """Apply one event of the exchange to its call (found by serial, else by the exchange's id). Idempotent:
    a state only moves forward (an older or repeated event changes nothing) and a recording is stored once.
    ANSWERED sets answered_at; ENDED sets ended_at, the duration and the cause; a recording is moved into
    recording storage with its checksum. A call that ENDS unanswered with a not-connected cause registers that
    outcome for every callback it served (`_register_automatic_outcomes`), in the same transaction. Returns the
    call (None for an unknown call, logged)."""
    with transaction.atomic():
        call = (Call.objects.select_for_update().filter(serial=event.reference).first()
                or Call.objects.select_for_update().filter(exchange_call_id=event.exchange_call_id)
                .exclude(exchange_call_id="").first())
        if call is None:
            logger.warning("未知通话的事件：%s %s", event.reference, event.exchange_call_id)
            return None
        fields: list[str] = []
        if not call.exchange_call_id and event.exchange_call_id:
            call.exchange_call_id = event.exchange_call_id
            fields.append("exchange_call_id")
        state = CallState(event.state.value)
        if STATE_ORDER[state] > STATE_ORDER[CallState(call.state)]:
            call.state = state
            fields.append("state")
            if state == CallState.ANSWERED:
                call.answered_at = event.at
                fields.append("answered_at")
            elif state == CallState.ENDED:
                call.ended_at = event.at
                call.end_cause = (event.cause.value if event.cause else "normal")
                if call.answered_at is not None:
                    call.duration_seconds = max(0, round((event.at - call.answered_at).total_seconds()))
                fields += ["ended_at", "end_cause", "duration_seconds"]
        if fields:
            call.save(update_fields=fields)
        if "state" in fields and call.state == CallState.ENDED:
            rollups.count_call(call)
        if "state" in fields and call.state == CallState.ENDED and call.answered_at is None:
            _register_automatic_outcomes(call)
        if event.recording is not None and not CallRecording.objects.filter(call=call).exists():
            _store_recording(call, event)
    return call


def _register_automatic_outcomes(call: Call) -> None:
    """A call that ended unanswered with a not-connected cause (no_answer, busy, powered_off, invalid_number,
    unreachable, suspended) is that outcome for every callback it served, registered by the call's agent, so
    the outcome's policy applies at once (retry booked, number marked invalid, ...). agent_unavailable and
    failed are no customer outcome: the agent keeps the callbacks and dials again. Runs once, on the move to
    ENDED; a callback already registered, or no longer held by the agent, is skipped (logged)."""
    code = rules.suggested_outcome(call.end_cause)
    if not code:
        return
    outcome = OutcomeCode.objects.filter(code=code, is_active=True).first()
    if outcome is None:
        logger.warning("通话 %s 的结束原因 %s 没有可用的回访结果代码", call.serial, call.end_cause)
        return
    links = (CallCallback.objects.filter(call=call, outcome__isnull=True).select_related("callback")
             .order_by("id"))
    for link in links:
        try:
            register_outcome(call=call, callback=link.callback, outcome_code=outcome, by=call.agent,
                             note="由交换机的结束原因自动登记")
        except CallError as error:
            logger.warning("通话 %s 未能为回访任务 %s 自动登记 %s：%s", call.serial, link.callback_id, code, error)


def _store_recording(call: Call, event: CallEvent) -> None:
    recording = event.recording
    assert recording is not None
    suffix = Path(recording.path).suffix or ".wav"
    local = timezone.localtime(call.dialed_at)
    key = f"{local:%Y/%m/%d}/{call.serial}{suffix}"
    with open(recording.path, "rb") as source:
        name, size, sha256 = _store(recording_storage(), key, source)
    CallRecording.objects.create(call=call, storage_key=name, duration_seconds=recording.duration_seconds,
                                 size=size, sha256=sha256, content_type=recording.content_type,
                                 created_at=timezone.now())
    # Moved: the exchange's copy goes once the platform holds it (another owner's file may refuse; kept then).
    transaction.on_commit(lambda: _unlink_quietly(Path(recording.path)))


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        logger.warning("录音原文件未能删除：%s（%s）", path, error)


# --- outcomes (回访登记) --------------------------------------------------------------------------------------------

def _tried_slots(callback: Callback) -> list[str]:
    """The time slots of the calls that served this callback (the current one included)."""
    moments = CallCallback.objects.filter(callback=callback).values_list("call__dialed_at", flat=True)
    return [rules.slot_of(timezone.localtime(moment)) for moment in moments]


def _mark_invalid(call: Call, outcome: OutcomeCode) -> None:
    """The call's phone is invalid: so marked, and on the branch's contact-correction list (once while open)."""
    phone = call.phone
    if phone is None:
        return
    ContactPoint.objects.filter(pk=phone.pk).update(validity=ContactValidity.INVALID, updated_at=timezone.now())
    if not ContactCorrection.objects.filter(phone=phone, resolved_at__isnull=True).exists():
        ContactCorrection.objects.create(branch_id=call.branch_id, customer_id=call.customer_id, phone=phone,
                                         phone_masked=call.phone_masked, kind=CorrectionKind.INVALID,
                                         outcome=outcome.code, found_by_call=call, found_at=timezone.now())
    record_action(actor=None, action="mark_invalid", obj=phone,
                  summary=f"号码 {call.phone_masked} 标记为无效（{outcome.label}，通话 {call.serial}）")


def _has_usable_phone(customer_id: int) -> bool:
    return ContactPoint.objects.filter(customer_id=customer_id).exclude(
        validity__in=[ContactValidity.INVALID, ContactValidity.CHANGED]).exists()


def outcome_by_code(code: str) -> OutcomeCode:
    outcome = OutcomeCode.objects.filter(code=code, is_active=True).first()
    if outcome is None:
        raise CallError(f"未知的回访结果：{code}")
    return outcome


@transaction.atomic
def register_outcome(*, call: Call, callback: Callback, outcome_code: OutcomeCode | str, by: Any,
                     appointment_at: dt.datetime | None = None, appointment_for_anyone: bool = False,
                     note: str = "", confirm: bool = False) -> CallCallback:
    """Register the outcome of `call` for one of the callbacks it served (回访登记), by the agent who holds the
    callback, and apply the outcome's policy to the callback:
    - complete (成功回访): the agent keeps it until 已完成 is confirmed (`confirm`, or confirm_callback later);
    - close_failed / close_refused: the callback fails;
    - retry: back to the agent, not before a later time (spread over slots not tried yet); at the outcome's
      maximum attempts it fails;
    - mark_invalid_then_next_phone: the number is marked invalid and listed for correction; the agent keeps the
      callback to dial the next phone at once, or it fails if none is left;
    - next_phone: the agent keeps it and the next dial picks the next phone;
    - appointment: booked at `appointment_at` (in the future), for this agent or, `appointment_for_anyone`, for
      anyone of the branch.
    Raises CallError / CallbackError. Side effects: the outcome on the call's link, the callback's attempt (and
    history), an audit entry."""
    outcome = outcome_by_code(outcome_code) if isinstance(outcome_code, str) else outcome_code
    link = CallCallback.objects.select_for_update().filter(call=call, callback=callback).first()
    if link is None:
        raise CallError(f"通话 {call.serial} 未服务回访任务 {callback.pk}")
    if call.agent_id != getattr(by, "pk", None):
        raise CallError("只能登记您自己通话的结果")
    if link.outcome_id is not None and link.outcome_id == outcome.pk and appointment_at is None and not confirm:
        return link  # the same outcome again: registered automatically from the call's end cause, or twice
    if link.outcome_id is not None:
        raise CallError(f"本次通话已登记该任务的结果：{link.outcome.label if link.outcome else ''}")
    now = timezone.now()
    local_now = timezone.localtime(now)
    label = f"{outcome.label}（通话 {call.serial}）"
    callback.refresh_from_db()
    policy = outcome.policy
    kwargs: dict[str, Any] = {}
    if policy == Policy.COMPLETE:
        next_state = State.IN_PROGRESS
    elif policy in (Policy.CLOSE_FAILED, Policy.CLOSE_REFUSED):
        next_state = State.FAILED
    elif policy == Policy.RETRY:
        if outcome.max_attempts and callback.attempts + 1 >= outcome.max_attempts:
            next_state = State.FAILED
            label = f"{label}，已尝试 {callback.attempts + 1} 次"
        else:
            next_state = State.ASSIGNED
            kwargs["retry_at"] = rules.retry_at(now=local_now, after_minutes=outcome.retry_after_minutes,
                                                spread=outcome.spread_slots, tried_slots=_tried_slots(callback))
    elif policy == Policy.MARK_INVALID_THEN_NEXT_PHONE:
        _mark_invalid(call, outcome)
        next_state = State.IN_PROGRESS if _has_usable_phone(call.customer_id) else State.FAILED
        if next_state == State.FAILED:
            label = f"{label}，没有其他有效号码"
    elif policy == Policy.NEXT_PHONE:
        next_state = State.IN_PROGRESS if _has_usable_phone(call.customer_id) else State.FAILED
    elif policy == Policy.APPOINTMENT:
        if appointment_at is None or appointment_at <= now:
            raise CallError("预约下次需要一个将来的时间")
        next_state = State.NEW if appointment_for_anyone else State.ASSIGNED
        kwargs["appointment_at"] = appointment_at
        kwargs["appointment_agent"] = None if appointment_for_anyone else by
        label = (f"{label}，预约 {timezone.localtime(appointment_at):%Y-%m-%d %H:%M}"
                 f"{'（任何人）' if appointment_for_anyone else ''}")
    else:
        raise CallError(f"回访结果 {outcome.code} 的处理策略未知：{policy}")
    try:
        updated = record_attempt(callback=callback, by=by, result_code=outcome.code, next_state=next_state,
                                 reason=label, **kwargs)
    except CallbackError as error:
        raise CallError(str(error)) from error
    link.outcome = outcome
    link.registered_at = now
    link.registered_by = by
    link.note = note
    link.save(update_fields=["outcome", "registered_at", "registered_by", "note"])
    link.call, link.callback = call, updated
    rollups.count_outcome(link)
    record_action(actor=by, action="register_outcome", obj=updated,
                  summary=f"回访登记：{label}", changes={"outcome": outcome.code, "call": call.serial})
    if confirm:
        confirm_callback(callback=updated, by=by)
    return link


def confirm_callback(*, callback: Callback, by: Any) -> Callback:
    """The agent confirms 已完成: allowed with the questionnaire complete, or (no questionnaire) after an outcome
    of the "complete" policy. Raises CallError."""
    ends_it = OutcomeCode.objects.filter(code=callback.result, policy=Policy.COMPLETE).exists()
    try:
        return confirm_done(callback=callback, by=by, outcome_ends_it=ends_it)
    except CallbackError as error:
        raise CallError(str(error)) from error


# --- attachments ------------------------------------------------------------------------------------------------

ATTACHMENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif", "application/pdf": ".pdf"}
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf",
          b"II*\x00": "image/tiff", b"MM\x00*": "image/tiff"}


def sniff_content_type(head: bytes) -> str:
    """The attachment type the file's first bytes show ("" for anything else)."""
    for magic, content_type in _MAGIC.items():
        if head.startswith(magic):
            return content_type
    return ""


@transaction.atomic
def attach_file(*, callback: Callback, by: Any, name: str, source: IO[bytes]) -> Attachment:
    """Attach a scanned paper questionnaire to `callback`: an image (JPEG, PNG, TIFF) or a PDF, judged by its
    content, at most 20 MB. Raises CallError. Side effects: the file in attachment storage, an audit entry."""
    head = source.read(16)
    source.seek(0, 2)
    size = source.tell()
    source.seek(0)
    if size > ATTACHMENT_MAX_BYTES:
        raise CallError("附件不能超过 20 MB")
    content_type = sniff_content_type(head)
    if not content_type:
        raise CallError("附件只能是图片（JPEG、PNG、TIFF）或 PDF")
    key = f"{callback.pk}/{timezone.localtime():%Y%m%d%H%M%S}{ATTACHMENT_TYPES[content_type]}"
    stored, size, sha256 = _store(attachment_storage(), key, source)
    attachment = Attachment.objects.create(callback=callback, storage_key=stored, original_name=name[:255],
                                           content_type=content_type, size=size, sha256=sha256,
                                           uploaded_by=by if getattr(by, "pk", None) else None,
                                           uploaded_at=timezone.now())
    record_action(actor=by, action="attach", obj=attachment, summary=f"上传附件 {name[:100]}")
    return attachment


# --- recordings and exports: audited reads -------------------------------------------------------------------

def record_recording_access(*, actor: Any, recording: CallRecording, download: bool) -> None:
    """Audit a playback (play_recording) or a download (download_recording) of a recording."""
    action = "download_recording" if download else "play_recording"
    record_action(actor=actor, action=action, obj=recording,
                  summary=f"{'下载' if download else '播放'}录音：通话 {recording.call.serial}")


def record_corrections_export(*, actor: Any, count: int) -> None:
    record_action(actor=actor, action="export", object_type="calls.contactcorrection",
                  summary=f"导出号码纠错清单 {count} 条（号码已脱敏）")
