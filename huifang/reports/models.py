"""What the reports app stores: filings of periodic reports (the quarterly roll-up submitted by a branch and
approved by the HQ supervisor) and mail subscriptions (reports delivered on a schedule). The figures themselves
are read from the roll-ups of the calls app and from the callbacks, never stored here."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.org.models import Branch
from huifang.org.scoping import BranchScopedQuerySet


class FilingQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class ReportFiling(models.Model):
    """A periodic report a branch hands in (e.g. 季度汇总, due within 5 working days after the quarter ends): filed
    by the branch, approved by the HQ supervisor. Late when filed after its deadline, or not filed by then."""

    report_code = models.CharField(_("report"), max_length=40)
    #: reports.periods key: "2026-Q4"
    period_key = models.CharField(_("period"), max_length=20)
    # No index of its own: the unique (branch, report, period) starts with branch.
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT,
                               related_name="report_filings", db_index=False)
    deadline = models.DateField(_("deadline"))
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("filed by"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+", db_index=False)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    note = models.TextField(_("note"), blank=True)

    objects = FilingQuerySet.as_manager()

    class Meta:
        verbose_name = _("report filing")
        verbose_name_plural = _("report filings")
        ordering = ["-period_key", "branch"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "report_code", "period_key"], name="filing_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.report_code} {self.period_key} {self.branch_id}"


class Frequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class SubscriptionQuerySet(BranchScopedQuerySet):
    # a subscription without a branch (every branch) is seen only by those who see every branch
    branch_path = "branch"


class ReportSubscription(models.Model):
    """A report mailed on a schedule (定时发送): daily reports each morning for the day before, weekly on Mondays
    for the week before, monthly on the 1st for the month before, to a list of addresses."""

    name = models.CharField(_("name"), max_length=100)
    report_code = models.CharField(_("report"), max_length=40)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    #: limit the report to this branch; null: every branch (the HQ view)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="report_subscriptions")
    #: addresses, one per line or separated by commas
    recipients = models.TextField(_("recipients"))
    #: attach the Excel file, the PDF, or both
    attach_excel = models.BooleanField(_("attach Excel"), default=True)
    attach_pdf = models.BooleanField(_("attach PDF"), default=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", db_index=False)
    #: the period key last delivered: a period is mailed once
    last_period_key = models.CharField(_("last period sent"), max_length=20, blank=True)
    last_sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
