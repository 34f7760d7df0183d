"""Stable codes of callbacks (DOMAIN.md "Stable codes"): labels translate, codes never change meaning."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    NEW = "new", _("Unassigned")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


#: states in which a callback is still to be worked
OPEN_STATES = (State.NEW, State.ASSIGNED, State.IN_PROGRESS)
#: states that count as "called in the period" for sampling and quotas (cancelled and expired do not)
COUNTED_STATES = (State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.DONE)


class Origin(models.TextChoices):
    RULE = "rule", _("Rule run")
    PROJECT = "project", _("Project")
    API = "api", _("API")
    RISK_REFERRAL = "risk_referral", _("Risk referral")
    FOLLOW_UP = "follow_up", _("Follow-up")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    IMPORT = "import", _("After an import")
    MANUAL = "manual", _("On demand")
    API = "api", _("API")
