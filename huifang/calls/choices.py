"""Stable codes of calls: call states, outcome policies, the day's time slots. Labels translate, codes never
change meaning."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CallState(models.TextChoices):
    """The same codes as integrations.telephony.base.CallState."""

    DIALING = "dialing", _("Dialing")
    RINGING = "ringing", _("Ringing")
    ANSWERED = "answered", _("Answered")
    ENDED = "ended", _("Ended")


#: a call only moves forward: an event older than the call's state changes nothing
STATE_ORDER = {CallState.DIALING: 0, CallState.RINGING: 1, CallState.ANSWERED: 2, CallState.ENDED: 3}


class Policy(models.TextChoices):
    """What registering an outcome does to the callback (回访登记的处理策略)."""

    COMPLETE = "complete", _("Complete once confirmed")
    CLOSE_FAILED = "close_failed", _("Close as failed")
    CLOSE_REFUSED = "close_refused", _("Close as refused")
    RETRY = "retry", _("Retry later")
    NEXT_PHONE = "next_phone", _("Try the next phone")
    MARK_INVALID_THEN_NEXT_PHONE = "mark_invalid_then_next_phone", _("Mark the number invalid, try the next phone")
    APPOINTMENT = "appointment", _("Book an appointment")


#: policies that close the callback at once (an outcome that ends it)
CLOSING_POLICIES = (Policy.CLOSE_FAILED, Policy.CLOSE_REFUSED)


class CorrectionKind(models.TextChoices):
    INVALID = "invalid", _("Invalid number")
    CHANGED = "changed", _("Changed number")
