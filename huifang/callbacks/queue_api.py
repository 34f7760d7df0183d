"""The agents' queue over REST: `POST /api/v1/agents/me/next` (获得外呼对象), the same service as the workbench
(callbacks.queue.take_next_callback).

Answers 200 {"customer_no", "callbacks": [...], "held_at"} with the customer's callbacks now held by the caller,
the popped one first, or 200 {"callbacks": [], "reason"} when nothing can be given. Only agents (users with an
agent number) have a queue: anyone else, API clients included, gets 403."""

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from huifang.callbacks.models import Callback
from huifang.callbacks.queue import Nothing, take_next_callback
from huifang.callbacks.schemas import ErrorOut
from huifang.org.auth import ApiError

router = Router(tags=["workbench"])


class HeldCallbackOut(Schema):
    id: int
    #: the callback type's code
    type: str
    due_date: dt.date
    not_before: dt.datetime | None
    priority: int
    #: the id of the questionnaire version it asks, or null
    questionnaire_version: int | None


class NextOut(Schema):
    customer_no: str | None = None
    callbacks: list[HeldCallbackOut]
    held_at: dt.datetime | None = None
    #: why nothing was given (only when callbacks is empty)
    reason: str | None = None


@router.post("/me/next", response={200: NextOut, 403: ErrorOut}, summary="获得外呼对象：领取下一位客户的回访任务")
def next_callback(request: HttpRequest) -> dict[str, object]:
    agent = request.user
    if not getattr(agent, "agent_no", None) or not getattr(agent, "pk", None):
        raise ApiError(403, "not_an_agent", "只有坐席（有坐席工号的用户）可以领取回访任务")
    taken = take_next_callback(agent=agent)
    if isinstance(taken, Nothing):
        return {"callbacks": [], "reason": taken.reason}
    held = {callback.pk: callback for callback in
            Callback.objects.filter(pk__in=taken.callback_ids).select_related("customer", "callback_type")}
    ordered = [held[pk] for pk in taken.callback_ids]
    return {
        "customer_no": ordered[0].customer.customer_no,
        "held_at": taken.held_at,
        "callbacks": [{"id": c.pk, "type": c.callback_type.code, "due_date": c.due_date, "not_before": c.not_before,
                       "priority": c.priority, "questionnaire_version": c.questionnaire_version_id}
                      for c in ordered],
    }
