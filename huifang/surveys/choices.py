"""Stable codes of questionnaires (DOMAIN.md "Questionnaires and scripts")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class VersionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class ResponseStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")
    INCOMPLETE = "incomplete", _("Incomplete")
    #: the identity question failed: the callback's outcome is not_owner (机主非本人)
    NOT_OWNER = "not_owner", _("Not the owner")
