"""Stable codes of callback types, rules and projects (DOMAIN.md "Stable codes"): labels translate, codes never
change meaning."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Automation(models.TextChoices):
    AUTOMATIC = "auto", _("Automatic (rules)")
    MANUAL = "manual", _("Manual (projects)")


class Category(models.TextChoices):
    """REGULATION item 15: marketing callbacks need recorded consent and a do-not-call check."""

    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class DedupePeriod(models.TextChoices):
    """How long one callback of a type covers a customer: the period key of the unique (customer, type,
    period key)."""

    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
    ONCE = "once", _("Once ever")
    EVENT = "event", _("Each event")


class RuleKind(models.TextChoices):
    EVENT = "event", _("Event rule")
    ATTRIBUTE = "attribute", _("Attribute rule")
    SAMPLE = "sample", _("Sample rule")
    CLUSTER = "cluster", _("Same-IP cluster rule")


class ProjectState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
