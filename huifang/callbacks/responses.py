"""The questionnaire response (答卷) a callback is filling in: the workbench starts it when the agent opens the
callback, and every later call of the same callback goes on with it (Callback.response)."""

from typing import Any

from django.db import transaction

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.callbacks.services import CallbackError
from huifang.surveys.choices import ResponseStatus
from huifang.surveys.models import Response
from huifang.surveys.services import QuestionnaireError, start_response

#: a response in one of these states is kept: still being filled in, or complete (nothing left to ask)
KEPT = (ResponseStatus.IN_PROGRESS, ResponseStatus.COMPLETE)


@transaction.atomic
def start_callback_response(*, callback: Callback, by: Any) -> Response:
    """The response of `callback`'s questionnaire: its own response while in progress (or complete), else a new
    one of the callback's questionnaire version, for its business event, linked to the callback. An incomplete
    or not-the-owner response of an earlier call is left as it was and a new one starts.

    Preconditions: `by` holds the callback (进行中, agent = them) and it has a questionnaire version. Raises
    CallbackError otherwise, or when the questionnaire cannot be answered (not published, not for the customer's
    branch). Side effects: a new response and the callback's link to it."""
    # The row lock makes two simultaneous openings of one callback start a single response.
    current = Callback.objects.select_for_update(of=("self",)).select_related("response").get(pk=callback.pk)
    if current.state != State.IN_PROGRESS or current.agent_id != getattr(by, "pk", None):
        raise CallbackError("该回访任务不在您的处理中")
    if current.response is not None and current.response.status in KEPT:
        callback.response = current.response
        return current.response
    if current.questionnaire_version is None:
        raise CallbackError("该回访任务没有问卷")
    try:
        response = start_response(actor=by, version=current.questionnaire_version, customer=current.customer,
                                  channel="phone", event=current.event)
    except QuestionnaireError as error:
        raise CallbackError(str(error)) from error
    Callback.objects.filter(pk=current.pk).update(response=response)
    callback.response = response
    return response
