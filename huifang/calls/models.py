"""Calls (通话), their recordings and the outcome codes with their policies (回访登记); attachments of callbacks
(scanned paper questionnaires) and the contact-correction list (号码纠错) fed by calls.

Calls, recordings, attachments and corrections are branch data: a call belongs to its customer's branch."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.models import Callback
from huifang.calls.choices import CallState, CorrectionKind, Policy
from huifang.customers.models import ContactPoint, Customer
from huifang.org.models import Branch
from huifang.org.scoping import BranchScopedQuerySet


class OutcomeCode(models.Model):
    """An outcome (回访结果) an agent registers for one callback on one call, with what it does to the callback.
    Data (migration 0002 ships DOMAIN.md's 13 codes); a deployment may add its own codes."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    label = models.CharField(_("label"), max_length=50)
    #: 成功呼出 (the customer was reached) or 失败呼出
    connected = models.BooleanField(_("connected"))
    policy = models.CharField(_("policy"), max_length=40, choices=Policy.choices)
    #: for retry (and hung-up) policies: wait at least this long before the next attempt
    retry_after_minutes = models.PositiveIntegerField(_("retry after (minutes)"), default=60)
    #: after this many attempts with a retry policy the callback fails (0: no limit)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=3)
    #: retries go to a time slot of the day (morning, afternoon, evening) not tried yet
    spread_slots = models.BooleanField(_("spread over time slots"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("outcome code")
        verbose_name_plural = _("outcome codes")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.label}（{self.code}）"


class CallQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class Call(models.Model):
    """One telephone call to a customer, placed by an agent for one or more of the customer's callbacks."""

    #: 通话流水号: "C" + local date yyyymmdd + a 6-digit sequence of the day (services.next_serial)
    serial = models.CharField(_("call serial"), max_length=20, unique=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT,
                              related_name="calls")
    # No index of its own: call_customer_dialed_idx starts with customer.
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="calls", db_index=False)
    phone = models.ForeignKey(ContactPoint, verbose_name=_("phone"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="calls")
    #: the number as shown, masked, kept even if the phone row goes
    phone_masked = models.CharField(_("phone"), max_length=40)
    # No index of its own: call_branch_dialed_idx starts with branch.
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="calls",
                               db_index=False)
    state = models.CharField(_("state"), max_length=20, choices=CallState.choices, default=CallState.DIALING)
    dialed_at = models.DateTimeField(_("dialed at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    #: from the customer's answer to the end (0 for a call never answered)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), default=0)
    exchange_call_id = models.CharField(_("exchange call id"), max_length=100, blank=True, db_index=True)
    #: integrations.telephony.base.EndCause code, or "" while the call runs
    end_cause = models.CharField(_("end cause"), max_length=30, blank=True)
    #: why dialing failed, for the agent (a TelephonyError's message)
    error = models.CharField(_("error"), max_length=300, blank=True)
    callbacks = models.ManyToManyField(Callback, through="CallCallback", related_name="calls",
                                       verbose_name=_("callbacks"))

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-dialed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=CallState.values), name="calls_call_known_state"),
        ]
        indexes = [
            # a customer's calls, newest first (customer view, next-phone choice)
            models.Index(fields=["customer", "dialed_at"], name="call_customer_dialed_idx"),
            # a branch's calls in a period (reports, QA sampling)
            models.Index(fields=["branch", "dialed_at"], name="call_branch_dialed_idx"),
            # an agent's calls in a period (KPIs)
            models.Index(fields=["agent", "dialed_at"], name="call_agent_dialed_idx"),
        ]

    def __str__(self) -> str:
        return self.serial


class CallCallbackQuerySet(BranchScopedQuerySet):
    branch_path = "call__branch"


class CallCallback(models.Model):
    """A callback served by a call, with the outcome registered for it on that call (回访登记)."""

    # No index of its own: the unique (call, callback) starts with call.
    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="served",
                             db_index=False)
    callback = models.ForeignKey(Callback, verbose_name=_("callback"), on_delete=models.PROTECT,
                                 related_name="served_by_calls")
    outcome = models.ForeignKey(OutcomeCode, verbose_name=_("outcome"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("registered by"), null=True,
                                      blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    note = models.TextField(_("note"), blank=True)

    objects = CallCallbackQuerySet.as_manager()

    class Meta:
        verbose_name = _("callback served by a call")
        verbose_name_plural = _("callbacks served by calls")
        ordering = ["call", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call", "callback"], name="callcallback_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id}:{self.callback_id}"


class SerialCounter(models.Model):
    """The last call serial number given out on a local day: one row per day, bumped under its row lock."""

    day = models.DateField(_("day"), unique=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("call serial counter")
        verbose_name_plural = _("call serial counters")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class RecordingQuerySet(BranchScopedQuerySet):
    branch_path = "call__branch"


class CallRecording(models.Model):
    """The recording of an answered call, moved into the platform's storage (services.recording_storage)."""

    call = models.OneToOneField(Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="recording")
    storage_key = models.CharField(_("storage key"), max_length=300, unique=True)
    duration_seconds = models.FloatField(_("duration (seconds)"))
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=50, default="audio/wav")
    created_at = models.DateTimeField(_("created at"))

    objects = RecordingQuerySet.as_manager()

    class Meta:
        verbose_name = _("call recording")
        verbose_name_plural = _("call recordings")
        permissions = [("download_callrecording", "Can download call recordings")]

    def __str__(self) -> str:
        return self.storage_key

    @property
    def branch(self) -> Branch:
        return self.call.branch


class AttachmentQuerySet(BranchScopedQuerySet):
    branch_path = "callback__branch"


class Attachment(models.Model):
    """A file attached to a callback: a scanned paper questionnaire (image or PDF)."""

    callback = models.ForeignKey(Callback, verbose_name=_("callback"), on_delete=models.PROTECT,
                                 related_name="attachments")
    storage_key = models.CharField(_("storage key"), max_length=300, unique=True)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    uploaded_at = models.DateTimeField(_("uploaded at"))

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["callback", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def branch(self) -> Branch:
        return self.callback.branch


class CorrectionQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class ContactCorrection(models.Model):
    """A number found invalid or changed by a call, for the account-opening counter to correct (号码纠错清单)."""

    # No index of its own: correction_branch_open_idx starts with branch.
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT,
                               related_name="contact_corrections", db_index=False)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="contact_corrections")
    phone = models.ForeignKey(ContactPoint, verbose_name=_("phone"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="corrections")
    phone_masked = models.CharField(_("phone"), max_length=40)
    kind = models.CharField(_("kind"), max_length=20, choices=CorrectionKind.choices)
    outcome = models.CharField(_("outcome"), max_length=20, blank=True)
    found_by_call = models.ForeignKey(Call, verbose_name=_("found by call"), null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="corrections")
    found_at = models.DateTimeField(_("found at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    objects = CorrectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact correction")
        verbose_name_plural = _("contact corrections")
        ordering = ["-found_at", "-id"]
        constraints = [
            # one open correction per phone: a number found invalid twice is listed once
            models.UniqueConstraint(fields=["phone"], condition=Q(resolved_at__isnull=True),
                                    name="correction_one_open_per_phone"),
        ]
        indexes = [
            # the list of one branch: open corrections first, newest first
            models.Index(fields=["branch", "resolved_at", "found_at"], name="correction_branch_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.phone_masked} {self.get_kind_display()}"


class StatQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class OutcomeStat(models.Model):
    """The roll-up of registered outcomes (回访登记) per local day × branch × agent × callback type × outcome, kept
    current in the transaction that registers each outcome (calls.rollups) and rebuilt from the raw rows by
    `huifang rollups rebuild`. Reports read it, never the calls."""

    #: the local (Asia/Shanghai) date the outcome was registered
    day = models.DateField(_("day"))
    # No index of its own: stat_outcome_branch_day_idx starts with branch.
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+",
                               db_index=False)
    # No index of its own: stat_outcome_agent_day_idx starts with agent.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT,
                              related_name="+", db_index=False)
    # No index of its own: the type is read with the day or the branch, never alone.
    callback_type = models.ForeignKey("campaigns.CallbackType", verbose_name=_("callback type"),
                                      on_delete=models.PROTECT, related_name="+", db_index=False)
    # No index of its own: outcome codes are few and never deleted.
    outcome = models.ForeignKey(OutcomeCode, verbose_name=_("outcome"), on_delete=models.PROTECT,
                                related_name="+", db_index=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    #: attempts whose outcome is connected (成功呼出)
    connected = models.PositiveIntegerField(_("connected"), default=0)
    #: attempts whose outcome is 成功回访 (code "success")
    successes = models.PositiveIntegerField(_("successes"), default=0)

    objects = StatQuerySet.as_manager()

    class Meta:
        verbose_name = _("outcome roll-up")
        verbose_name_plural = _("outcome roll-ups")
        constraints = [
            models.UniqueConstraint(fields=["day", "branch", "agent", "callback_type", "outcome"],
                                    name="stat_outcome_unique"),
        ]
        indexes = [
            models.Index(fields=["branch", "day"], name="stat_outcome_branch_day_idx"),
            models.Index(fields=["agent", "day"], name="stat_outcome_agent_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.branch_id}/{self.agent_id}/{self.callback_type_id}/{self.outcome_id}"


class CallStat(models.Model):
    """The roll-up of ended calls per local day (of dialing) × branch × agent: how many, answered, talk and
    handle seconds. Kept current when a call ends (calls.rollups); rebuilt like OutcomeStat."""

    day = models.DateField(_("day"))
    # No index of its own: stat_call_branch_day_idx starts with branch.
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+",
                               db_index=False)
    # No index of its own: stat_call_agent_day_idx starts with agent.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT,
                              related_name="+", db_index=False)
    calls = models.PositiveIntegerField(_("calls"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    #: from the customer's answer to the end
    talk_seconds = models.PositiveBigIntegerField(_("talk time (seconds)"), default=0)
    #: from dialing to the end
    handle_seconds = models.PositiveBigIntegerField(_("handle time (seconds)"), default=0)

    objects = StatQuerySet.as_manager()

    class Meta:
        verbose_name = _("call roll-up")
        verbose_name_plural = _("call roll-ups")
        constraints = [
            models.UniqueConstraint(fields=["day", "branch", "agent"], name="stat_call_unique"),
        ]
        indexes = [
            models.Index(fields=["branch", "day"], name="stat_call_branch_day_idx"),
            models.Index(fields=["agent", "day"], name="stat_call_agent_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.branch_id}/{self.agent_id}"
