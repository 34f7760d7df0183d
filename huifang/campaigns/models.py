"""Callback types (回访类型), their trigger rules (触发规则) and manual projects (回访项目): what is to be called
back, when, and by when. The callbacks themselves live in the callbacks app, above this one."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huifang.campaigns.choices import Automation, Category, DedupePeriod, ProjectState, RuleKind
from huifang.campaigns.rule_kinds import parse_rule
from huifang.campaigns.rules import PolicyError, parse_deadline, parse_not_before
from huifang.org.models import Branch
from huifang.org.scoping import BranchScopedQuerySet
from huifang.surveys.models import Questionnaire


def default_channels() -> list[str]:
    return ["phone"]


def default_deadline() -> dict[str, Any]:
    return {"kind": "end_of_quarter"}


def default_not_before() -> dict[str, Any]:
    return {"kind": "none"}


class CallbackType(models.Model):
    """One type of the catalogue (DOMAIN.md, 15 shipped by migration 0002); HQ edits it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    automation = models.CharField(_("how it starts"), max_length=10, choices=Automation.choices,
                                  default=Automation.MANUAL)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.SERVICE)
    default_questionnaire = models.ForeignKey(
        Questionnaire, verbose_name=_("default questionnaire"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    #: larger is more urgent: the workbench hands out the most urgent callback first
    priority = models.PositiveSmallIntegerField(_("priority"), default=50)
    #: rules.Deadline as JSON, e.g. {"kind": "working_days", "n": 5}
    deadline = models.JSONField(_("deadline policy"), default=default_deadline)
    #: rules.NotBefore as JSON, e.g. {"kind": "hours_after", "hours": 24, "after": ["signed_at", "paid_at"]}
    not_before = models.JSONField(_("not before"), default=default_not_before, blank=True)
    dedupe_period = models.CharField(_("de-duplication period"), max_length=10, choices=DedupePeriod.choices,
                                     default=DedupePeriod.QUARTER)
    #: at least this many successful callbacks per quota period (None: no quota)
    quota = models.PositiveIntegerField(_("quota"), null=True, blank=True)
    quota_period = models.CharField(_("quota period"), max_length=10, choices=DedupePeriod.choices, blank=True)
    channels = models.JSONField(_("allowed channels"), default=default_channels)
    #: REGULATION item 7: the agent may not be the customer's own client manager
    recusal = models.BooleanField(_("recusal"), default=True)
    #: REGULATION item 17: the queue hands out this type's callbacks only from starts_at (included) to ends_at
    #: (excluded), local time
    calling_starts_at = models.TimeField(_("calling hours start"), default=dt.time(9, 0))
    calling_ends_at = models.TimeField(_("calling hours end"), default=dt.time(20, 30))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("callback type")
        verbose_name_plural = _("callback types")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for name, parse in (("deadline", parse_deadline), ("not_before", parse_not_before)):
            try:
                parse(getattr(self, name))
            except PolicyError as error:
                errors[name] = str(error)
        if not isinstance(self.channels, list) or not self.channels or any(
                channel not in ("phone", "sms", "email") for channel in self.channels):
            errors["channels"] = "可用渠道应为 phone、sms、email 中的一个或多个"
        if (self.calling_starts_at is not None and self.calling_ends_at is not None
                and self.calling_starts_at >= self.calling_ends_at):
            errors["calling_ends_at"] = "呼叫时段的结束时间应晚于开始时间"
        if errors:
            raise ValidationError(errors)


class Rule(models.Model):
    """A trigger rule: a kind and its JSON config (rule_kinds), compiled to one INSERT … SELECT per run."""

    name = models.CharField(_("name"), max_length=100)
    callback_type = models.ForeignKey(CallbackType, verbose_name=_("callback type"), on_delete=models.PROTECT,
                                      related_name="rules")
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    config = models.JSONField(_("configuration"), default=dict)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("trigger rule")
        verbose_name_plural = _("trigger rules")
        ordering = ["callback_type_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RuleKind.values), name="campaigns_rule_known_kind"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            parse_rule(self.kind, self.config)
        except PolicyError as error:
            raise ValidationError({"config": str(error)}) from None


class ProjectQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class Project(models.Model):
    """A manual callback project (手动回访项目): a list of customers imported as assignment text."""

    name = models.CharField(_("name"), max_length=100)
    callback_type = models.ForeignKey(CallbackType, verbose_name=_("callback type"), on_delete=models.PROTECT,
                                      related_name="projects")
    period_start = models.DateField(_("period starts"))
    period_end = models.DateField(_("period ends"))
    questionnaire = models.ForeignKey(Questionnaire, verbose_name=_("questionnaire"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="projects")
    # No index of its own: project_branch_created_idx starts with branch.
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="projects",
                               db_index=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="owned_projects")
    state = models.CharField(_("state"), max_length=10, choices=ProjectState.choices, default=ProjectState.OPEN)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("callback project")
        verbose_name_plural = _("callback projects")
        ordering = ["-created_at", "-id"]
        indexes = [
            # a branch's projects, newest first (the project list)
            models.Index(fields=["branch", "-created_at"], name="project_branch_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="campaigns_project_period_order"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def period_key(self) -> str:
        """A project's callbacks share one period: a customer is in a project once."""
        return f"P{self.pk}"
