"""Writes of a callback's attempts (回访登记 on the callback side): calls.services applies an outcome's policy
through `record_attempt`, and the agent's "已完成" goes through `confirm_done`.

calls sits above callbacks: this module knows outcome codes only as strings and policies only as the state
they lead to, chosen by the caller."""

import datetime as dt
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.callbacks.services import CallbackError, _history

#: where an attempt may lead from 进行中
ATTEMPT_STATES = (State.IN_PROGRESS, State.ASSIGNED, State.NEW, State.FAILED)


def _has_field(name: str) -> bool:
    try:
        Callback._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _locked_held(callback: Callback, by: Any) -> Callback:
    current = Callback.objects.select_for_update(of=("self",)).get(pk=callback.pk)
    if current.state != State.IN_PROGRESS or current.agent_id != getattr(by, "pk", None):
        raise CallbackError("该回访任务不在您的处理中")
    return current


@transaction.atomic
def record_attempt(*, callback: Callback, by: Any, result_code: str, next_state: str,
                   retry_at: dt.datetime | None = None, appointment_at: dt.datetime | None = None,
                   appointment_agent: Any = None, reason: str) -> Callback:
    """One attempt at `callback` by the agent holding it (进行中, agent = `by`): attempts + 1, the result code,
    then `next_state`:
    - 进行中: the agent keeps it (a successful call awaiting 已完成, a next phone to dial at once);
    - 已分配 back to `by` (a retry at `retry_at`, a personal appointment) or 待分配 for anyone (an appointment
      for anyone): not to be worked before `retry_at` / `appointment_at`;
    - 失败: closed.
    Raises CallbackError when `by` does not hold it. Side effects: a history row for a state change."""
    if next_state not in ATTEMPT_STATES:
        raise CallbackError(f"不能登记为“{State(next_state).label}”")
    current = _locked_held(callback, by)
    now = timezone.now()
    current.attempts += 1
    current.result = result_code
    current.updated_at = now
    fields = ["attempts", "result", "updated_at"]
    if appointment_at is not None:
        current.appointment_at = appointment_at
        current.not_before = appointment_at
        fields += ["appointment_at", "not_before"]
        if _has_field("appointment_agent"):
            current.appointment_agent = appointment_agent
            fields.append("appointment_agent")
    elif retry_at is not None:
        current.not_before = retry_at
        fields.append("not_before")
    if next_state == State.NEW:
        current.agent = None
        fields.append("agent")
    if next_state == State.FAILED:
        current.closed_at = now
        fields.append("closed_at")
    if next_state != State.IN_PROGRESS and _has_field("held_at"):
        current.held_at = None
        fields.append("held_at")
    from_state = current.state
    current.state = next_state
    fields.append("state")
    current.save(update_fields=fields)
    if next_state != from_state:
        _history(current, at=now, by=by, from_state=from_state, to_state=next_state, reason=reason)
    return current


def questionnaire_complete(callback: Callback) -> bool:
    """Whether the callback's questionnaire is complete: its own response (Callback.response, set by the
    workbench) when it has one; otherwise any complete response of the customer to the callback's questionnaire
    version, started after the callback was created (for its business event, if it has one)."""
    from huifang.surveys.choices import ResponseStatus
    from huifang.surveys.models import Response

    if callback.questionnaire_version_id is None:
        return False
    if callback.response_id is not None:
        return Response.objects.filter(pk=callback.response_id, status=ResponseStatus.COMPLETE).exists()
    responses = Response.objects.filter(customer_id=callback.customer_id, version_id=callback.questionnaire_version_id,
                                        status=ResponseStatus.COMPLETE, started_at__gte=callback.created_at)
    if callback.event_id is not None:
        responses = responses.filter(event_id=callback.event_id)
    return responses.exists()


@transaction.atomic
def confirm_done(*, callback: Callback, by: Any, outcome_ends_it: bool = False) -> Callback:
    """The agent confirms the callback 已完成. Needs the callback held by `by` (进行中) and either its
    questionnaire complete, or — for a callback without a questionnaire — an outcome that ends it
    (`outcome_ends_it`, decided by the caller from the registered outcome's policy).
    Raises CallbackError otherwise. Side effects: the state change with its history row, an audit entry."""
    current = _locked_held(callback, by)
    if current.questionnaire_version_id is not None:
        if not questionnaire_complete(current):
            raise CallbackError("问卷尚未完成，不能确认已完成")
    elif not outcome_ends_it:
        raise CallbackError("请先登记“成功回访”，再确认已完成")
    now = timezone.now()
    current.state = State.DONE
    current.closed_at = now
    current.updated_at = now
    if not current.result:
        current.result = "success"
    fields = ["state", "closed_at", "updated_at", "result"]
    if _has_field("held_at"):
        current.held_at = None
        fields.append("held_at")
    current.save(update_fields=fields)
    _history(current, at=now, by=by, from_state=State.IN_PROGRESS, to_state=State.DONE, reason="坐席确认已完成")
    record_action(actor=by, action="confirm_done", obj=current,
                  summary=f"确认回访任务已完成：客户 {current.customer.customer_no}")
    return current
