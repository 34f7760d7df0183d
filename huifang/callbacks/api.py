"""REST endpoints of callbacks and rule runs.

- `GET /api/v1/callbacks`: the callbacks the caller sees, filtered, in cursor pages (over (updated_at, id) with
  `updated_since`, over id otherwise);
- `GET /api/v1/callbacks/{id}`: one callback with its history (another branch's: 404);
- `POST /api/v1/callbacks`: one callback (origin "api") for a customer the caller sees;
- `POST /api/v1/callbacks/risk-referral`: a risk referral (origin "risk_referral", default type risk_aml);
- `POST /api/v1/rules/run`: run (or dry-run) the trigger rules as of a date.

Types, states and branches go in and out as their stable codes; bad filter values answer 422 naming the field."""

import base64
import binascii
import datetime as dt
import json
from typing import Any

from django.db import IntegrityError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Router, Status

from huifang.calendars.queries import CalendarNotCovered
from huifang.callbacks.choices import Origin, RunTrigger, State
from huifang.callbacks.models import Callback
from huifang.callbacks.schemas import (
    CallbackDetailOut,
    CallbackIn,
    CallbackPage,
    ErrorOut,
    RiskReferralIn,
    RunIn,
    RunOut,
    run_out,
)
from huifang.callbacks.services import CallbackError, create_callback, run_rules
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.customers.queries import access_customer_by_no
from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.lib.workdays import parse_date
from huifang.org.auth import ApiError
from huifang.org.models import Branch
from huifang.org.queries import NotFound

router = Router(tags=["callbacks"])
rules_router = Router(tags=["rules"])

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


# --- helpers -------------------------------------------------------------------------------------------------

def _require(request: HttpRequest, perm: str, message: str) -> None:
    if not request.user.has_perm(perm):
        raise ApiError(403, "permission_denied", message)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_input", f"{field}：{message}")


def _date(field: str, text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise _invalid(field, str(error)) from None


def _datetime(field: str, text: str) -> dt.datetime:
    """An ISO 8601 moment; without an offset it is local time (Asia/Shanghai); a bare date is its midnight."""
    text = text.strip()
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        try:
            moment = dt.datetime.combine(parse_date(text), dt.time())
        except ValueError:
            raise _invalid(field, f"时间无效：{text[:40]!r}，应为 ISO 8601 格式，例如 2026-12-01T08:00:00+08:00"
                           ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(text: str, *, by_update: bool) -> dict[str, Any]:
    """The position a cursor names; it must be one of this kind of listing (with or without updated_since)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        position: dict[str, Any] = {"id": int(values["i"])}
        if by_update:
            moment = parse_datetime(values["u"])
            if moment is None:
                raise ValueError
            position["updated_at"] = moment
        elif "u" in values:
            raise ValueError
        return position
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise _invalid("cursor", "分页游标无效（应原样使用上一页返回的 next_cursor，且筛选条件不变）") from None


def _customer(request: HttpRequest, customer_no: str) -> Customer:
    try:
        number = parse_customer_no(customer_no)
    except InvalidCustomerNumber as error:
        raise ApiError(400, "invalid_customer_no", f"customer_no：{error}") from None
    return access_customer_by_no(request.user, number)


def _callback_type(field: str, code: str) -> CallbackType:
    found = CallbackType.objects.filter(code=code.strip(), is_active=True).first()
    if found is None:
        raise _invalid(field, f"未知或已停用的回访类型代码“{code[:40]}”")
    return found


def _callbacks(request: HttpRequest) -> QuerySet[Callback]:
    return Callback.objects.visible_to(request.user).select_related("customer", "callback_type", "branch", "agent")


def _item(callback: Callback) -> dict[str, Any]:
    return {
        "id": callback.pk,
        "customer_no": callback.customer.customer_no,
        "type": callback.callback_type.code,
        "state": callback.state,
        "branch": callback.branch.code,
        "due_date": callback.due_date,
        "not_before": callback.not_before,
        "agent_no": callback.agent.agent_no if callback.agent else None,
        "project": callback.project_id,
        "origin": callback.origin,
        "priority": callback.priority,
        "period_key": callback.period_key,
        "attempts": callback.attempts,
        "result": callback.result,
        "created_at": callback.created_at,
        "updated_at": callback.updated_at,
    }


def _detail(callback: Callback) -> dict[str, Any]:
    history = callback.history.select_related("by").order_by("at", "id")
    return {
        **_item(callback),
        "reason": callback.reason,
        "expires_on": callback.expires_on,
        "history": [{"at": row.at, "by": row.by.get_username() if row.by else None, "from": row.from_state,
                     "to": row.to_state, "reason": row.reason} for row in history],
    }


# --- callbacks -----------------------------------------------------------------------------------------------

@router.get("", response={200: CallbackPage, 400: ErrorOut, 403: ErrorOut, 422: ErrorOut},
            summary="Callbacks of the branches the caller sees, in cursor pages")
def list_callbacks(
    request: HttpRequest,
    customer_no: str = "",
    type: str = "",
    state: str = "",
    branch: str = "",
    due_before: str = "",
    due_after: str = "",
    updated_since: str = "",
    cursor: str = "",
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Filters: `customer_no`; `type`, `state`, `branch` (codes); `due_after` / `due_before` (YYYY-MM-DD, both
    inclusive); `updated_since` (ISO 8601; inclusive) — with it the pages run over (updated_at, id), so a client
    can poll for changes by passing the last `updated_at` it saw; without it over id. `limit` 1–500 (default
    100); `next_cursor` is null on the last page."""
    _require(request, "callbacks.view_callback", "无权查看回访任务")
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"每页条数应在 1 到 {MAX_LIMIT} 之间")
    callbacks = _callbacks(request)
    if customer_no:
        try:
            callbacks = callbacks.filter(customer__customer_no=parse_customer_no(customer_no))
        except InvalidCustomerNumber as error:
            raise _invalid("customer_no", str(error)) from None
    if type:
        type_id = CallbackType.objects.filter(code=type.strip()).values_list("id", flat=True).first()
        if type_id is None:
            raise _invalid("type", f"未知的回访类型代码“{type[:40]}”")
        callbacks = callbacks.filter(callback_type_id=type_id)
    if state:
        if state.strip() not in State.values:
            raise _invalid("state", f"未知的状态代码“{state[:40]}”，可选：{'、'.join(State.values)}")
        callbacks = callbacks.filter(state=state.strip())
    if branch:
        branch_id = Branch.objects.filter(code=branch.strip()).values_list("id", flat=True).first()
        if branch_id is None:
            raise _invalid("branch", f"未知的营业部代码“{branch[:40]}”")
        callbacks = callbacks.filter(branch_id=branch_id)
    if due_after:
        callbacks = callbacks.filter(due_date__gte=_date("due_after", due_after))
    if due_before:
        callbacks = callbacks.filter(due_date__lte=_date("due_before", due_before))
    by_update = bool(updated_since)
    if by_update:
        callbacks = callbacks.filter(updated_at__gte=_datetime("updated_since", updated_since))
        callbacks = callbacks.order_by("updated_at", "id")
    else:
        callbacks = callbacks.order_by("id")
    if cursor:
        position = _decode_cursor(cursor, by_update=by_update)
        if by_update:
            callbacks = callbacks.filter(Q(updated_at__gt=position["updated_at"])
                                         | Q(updated_at=position["updated_at"], id__gt=position["id"]))
        else:
            callbacks = callbacks.filter(id__gt=position["id"])
    page = list(callbacks[: limit + 1])
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1]
        next_cursor = _encode_cursor({"u": last.updated_at.isoformat(), "i": last.pk} if by_update
                                     else {"i": last.pk})
    return {"items": [_item(callback) for callback in page], "limit": limit, "next_cursor": next_cursor}


@router.get("/{int:callback_id}", response={200: CallbackDetailOut, 403: ErrorOut, 404: ErrorOut}, by_alias=True,
            summary="One callback with its history")
def get_callback(request: HttpRequest, callback_id: int) -> dict[str, Any]:
    _require(request, "callbacks.view_callback", "无权查看回访任务")
    callback = _callbacks(request).filter(pk=callback_id).first()
    if callback is None:
        raise NotFound("回访任务不存在")
    return _detail(callback)


def _create(request: HttpRequest, *, customer_no: str, type_code: str, origin: str, reason: str,
            due: dt.date | None = None) -> Status:
    _require(request, "callbacks.add_callback", "无权创建回访任务")
    customer = _customer(request, customer_no)
    callback_type = _callback_type("type", type_code)
    if due is not None and due < timezone.localdate():
        raise _invalid("due_date", "到期日不能早于今天")
    try:
        callback = create_callback(customer=customer, callback_type=callback_type, origin=origin,
                                   by=request.user, reason=reason.strip(), due=due)
    except CallbackError as error:
        raise ApiError(409, "duplicate", str(error)) from None
    except IntegrityError:  # created by someone else between the check and the insert
        raise ApiError(409, "duplicate", f"客户 {customer.customer_no} 本期已有{callback_type.name}任务") from None
    except CalendarNotCovered as error:
        raise ApiError(422, "calendar_not_covered", str(error)) from None
    return Status(201, _detail(_callbacks(request).get(pk=callback.pk)))


@router.post("", response={201: CallbackDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                           422: ErrorOut}, by_alias=True, summary="Create one callback (origin api)")
def post_callback(request: HttpRequest, body: CallbackIn) -> Status:
    """One callback of type `type` for a customer the caller sees, at the customer's branch; the due date
    follows the type's deadline unless given. A callback of the type already in the period answers 409."""
    return _create(request, customer_no=body.customer_no, type_code=body.type, origin=Origin.API,
                   reason=body.reason, due=body.due_date)


@router.post("/risk-referral", response={201: CallbackDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                         409: ErrorOut, 422: ErrorOut}, by_alias=True,
             summary="Refer a customer for a risk callback (origin risk_referral)")
def post_risk_referral(request: HttpRequest, body: RiskReferralIn) -> Status:
    """A risk referral (风险转介): the callback lands at the customer's branch. Risk officers at HQ refer any
    customer; a branch user only customers of their branch (another's: 404). `reason` is required."""
    if not body.reason.strip():
        raise _invalid("reason", "请填写转介原因")
    return _create(request, customer_no=body.customer_no, type_code=body.type, origin=Origin.RISK_REFERRAL,
                   reason=body.reason)


# --- rule runs -----------------------------------------------------------------------------------------------

@rules_router.post("/run", response={200: RunOut, 403: ErrorOut, 422: ErrorOut},
                   summary="Run (or dry-run) the trigger rules as of a date")
def post_run(request: HttpRequest, body: RunIn) -> dict[str, Any]:
    """Every active rule of every active automatic type as of `as_of` (default today). Re-running creates
    nothing new; a dry run counts what would be created and creates nothing. A rule that cannot run is in
    `errors`; the others still run."""
    _require(request, "callbacks.add_rulerun", "无权运行回访规则")
    as_of = _date("as_of", body.as_of) if body.as_of else timezone.localdate()
    report = run_rules(as_of=as_of, dry_run=body.dry_run, trigger=RunTrigger.API, by=request.user)
    return run_out(report)

