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


#: the callback types of DOMAIN.md, by their stable codes, as a questionnaire names the ones it serves (the
#: campaigns module makes them data; these are the defaults)
CALLBACK_TYPES = {
    "new_account": _("New account"), "manager_customers": _("Client manager's customers"),
    "lost_customer": _("Lost customer"), "product_buyer": _("Fund and wealth products"),
    "manager_changed": _("Client manager changed"), "same_ip": _("Same IP address"), "risk_aml": _("Risk / AML"),
    "info_change": _("Information maintenance"), "large_transfer": _("Large transfer out"),
    "reminder": _("Reminder"), "portfolio_reminder": _("Signed portfolio reminder"),
    "service_product": _("Service product customers"), "satisfaction": _("Satisfaction survey"),
    "complaint_followup": _("Complaint follow-up"), "other": _("Other"),
}
