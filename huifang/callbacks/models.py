"""The callback (回访任务): one customer to be called back for one type, by a due date; its history; the rule runs
that create callbacks by the hundred thousand."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Origin, RunTrigger, State
from huifang.campaigns.models import CallbackType, Project, Rule
from huifang.customers.models import Customer, CustomerEvent
from huifang.org.models import Branch
from huifang.org.scoping import BranchScopedQuerySet
from huifang.surveys.models import QuestionnaireVersion


class RuleRun(models.Model):
    """One run of the trigger rules as of a date (or a dry run, which creates nothing). Company-wide: the pages
    show runs to those who see every branch, and a branch its own counts."""

    as_of = models.DateField(_("as of"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    trigger = models.CharField(_("started by"), max_length=20, choices=RunTrigger.choices,
                               default=RunTrigger.MANUAL)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: [{"type", "branch", "count"}] created (or, for a dry run, that would be created)
    counts = models.JSONField(_("counts"), default=list, blank=True)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    #: [{"rule", "message"}]: rules that could not run (e.g. a year the calendar does not cover)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta:
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        ordering = ["-started_at", "-id"]
        indexes = [
            # the latest runs (the rules page)
            models.Index(fields=["-started_at"], name="rulerun_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.as_of} {'试运行' if self.dry_run else '运行'}"


class CallbackQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class Callback(models.Model):
    """A customer to be called back for one type (回访任务). Written only by callbacks.services; generated set-based
    by the rule runs (INSERT … SELECT), so every field a rule does not know has a database default too."""

    # No index of its own: the unique (customer, type, period key) starts with customer.
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="callbacks", db_index=False)
    callback_type = models.ForeignKey(CallbackType, verbose_name=_("callback type"), on_delete=models.PROTECT,
                                      related_name="callbacks")
    #: the de-duplication period: "2026-Q4", "2026-11", "once", "E<event id>", "P<project id>"...
    period_key = models.CharField(_("period"), max_length=40)
    origin = models.CharField(_("origin"), max_length=20, choices=Origin.choices, db_default=Origin.RULE)
    rule = models.ForeignKey(Rule, verbose_name=_("rule"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="callbacks", db_index=False)
    run = models.ForeignKey(RuleRun, verbose_name=_("rule run"), null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="callbacks")
    project = models.ForeignKey(Project, verbose_name=_("project"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="callbacks")
    #: the business event it is about (the transfer, the purchase), whose data fills the scripts
    event = models.ForeignKey(CustomerEvent, verbose_name=_("business event"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="callbacks", db_index=False)
    #: the customer's branch when the callback was created: who sees it and whose deadline it is
    # No index of its own: callback_branch_state_due_idx starts with branch.
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT,
                               related_name="callbacks", db_index=False)
    questionnaire_version = models.ForeignKey(
        QuestionnaireVersion, verbose_name=_("questionnaire version"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="callbacks", db_index=False,
    )
    #: the questionnaire response this callback's calls are filling in (callbacks.responses); null: none yet
    # Indexed: the satisfaction analysis finds the callbacks of a period's responses, and deleting responses (the
    # demo's reset) checks each one's callbacks (PostgreSQL's deferred foreign-key check, at commit).
    response = models.ForeignKey("surveys.Response", verbose_name=_("questionnaire response"), null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="callbacks")
    state = models.CharField(_("state"), max_length=20, choices=State.choices, db_default=State.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), db_default=50)
    due_date = models.DateField(_("due date"))
    #: not to be worked before this moment (cooling-off 冷静期, next trading day); null: at once
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    #: after this day an unfinished callback expires (已过期): the end of its period
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="callbacks")
    attempts = models.PositiveSmallIntegerField(_("attempts"), db_default=0)
    appointment_at = models.DateTimeField(_("appointment"), null=True, blank=True)
    #: who the appointment (预约下次) is for; null: anyone may take it. Past settings.APPOINTMENT_HANDOVER_MINUTES
    #: overdue it passes to anyone (callbacks.queue)
    # No index of its own: the queue reads it from the rows it scans.
    appointment_agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("appointment for"), null=True,
                                          blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    #: when the current agent took it from the queue (state in_progress)
    held_at = models.DateTimeField(_("held since"), null=True, blank=True)
    #: the outcome code of the last attempt (DOMAIN.md "Outcomes")
    result = models.CharField(_("result"), max_length=20, blank=True, db_default="")
    #: why it exists, in words: the risk officer's reason, the trigger's summary
    reason = models.TextField(_("reason"), blank=True, db_default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", db_index=False)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = CallbackQuerySet.as_manager()

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["due_date", "id"]
        constraints = [
            # every generation is idempotent: one callback of a type per customer and period
            models.UniqueConstraint(fields=["customer", "callback_type", "period_key"],
                                    name="callback_unique_customer_type_period"),
            models.CheckConstraint(condition=Q(state__in=State.values), name="callbacks_callback_known_state"),
        ]
        indexes = [
            # deadline views and lists of one branch: open callbacks by due date
            models.Index(fields=["branch", "state", "due_date"], name="callback_branch_state_due_idx"),
            # the same for HQ, every branch at once; and the expiry job (state, expires_on)
            models.Index(fields=["state", "due_date"], name="callback_state_due_idx"),
            # an agent's own queue
            models.Index(fields=["agent", "state"], name="callback_agent_state_idx"),
            # the API's updated_since paging
            models.Index(fields=["updated_at", "id"], name="callback_updated_idx"),
            # the callbacks of a type in a period (sampling quotas, project lists)
            models.Index(fields=["callback_type", "period_key"], name="callback_type_period_idx"),
            # the queue (callbacks.queue, "next"): a branch agent's pop, ORDER BY priority DESC, due_date, id LIMIT 1
            # over the callbacks that can be handed out; partial, so taken and closed ones are not walked over
            models.Index(fields=["branch", "-priority", "due_date", "id"], name="callback_pop_branch_idx",
                         condition=Q(state__in=["new", "assigned"])),
            # the same pop for an HQ agent, who works every branch
            models.Index(fields=["-priority", "due_date", "id"], name="callback_pop_all_idx",
                         condition=Q(state__in=["new", "assigned"])),
            # the queue's check "is this customer being worked by another agent": the held callbacks of a customer
            models.Index(fields=["customer"], name="callback_held_customer_idx", condition=Q(state="in_progress")),
            # the queue's first pass: due appointments (预约下次), earliest first
            models.Index(fields=["appointment_at"], name="callback_pop_appointment_idx",
                         condition=Q(state__in=["new", "assigned"], appointment_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.callback_type_id}:{self.customer_id} {self.period_key}"

    @property
    def is_open(self) -> bool:
        return self.state in (State.NEW, State.ASSIGNED, State.IN_PROGRESS)


class HistoryQuerySet(BranchScopedQuerySet):
    branch_path = "callback__branch"


class CallbackHistory(models.Model):
    """One state change of a callback: who, when, from, to, why. Append-only."""

    callback = models.ForeignKey(Callback, verbose_name=_("callback"), on_delete=models.CASCADE,
                                 related_name="history")
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+", db_index=False)
    #: "" for the creation
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+", db_index=False)

    objects = HistoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("callback history")
        verbose_name_plural = _("callback history")
        ordering = ["callback", "at", "id"]

    def __str__(self) -> str:
        return f"{self.callback_id}: {self.from_state or '—'} → {self.to_state}"
