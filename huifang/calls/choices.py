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


#: the words the pages and exports show (the calls app has no catalog yet: these are the zh-Hans texts)
STATE_TEXT = {"dialing": "拨号中", "ringing": "振铃中", "answered": "通话中", "ended": "已结束"}
KIND_TEXT = {"invalid": "无效号码", "changed": "号码变更"}
END_CAUSE_TEXT = {"normal": "正常挂断", "no_answer": "无人接听", "busy": "占线", "invalid_number": "空号",
                  "powered_off": "关机", "unreachable": "无法接通", "suspended": "停机",
                  "agent_unavailable": "坐席分机未接听", "failed": "呼叫失败"}
