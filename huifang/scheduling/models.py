"""Schedules are rows: the scheduler (`huifang scheduler`) reads them and enqueues their job once per day."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.tasks import Task
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from huifang.scheduling.choices import DayKind


def resolve_task(task_path: str) -> Task:
    """The `django.tasks` task at a dotted path. Raises ValueError if the path names no task."""
    try:
        found = import_string(task_path)
    except ImportError as error:
        raise ValueError(f"cannot import {task_path!r}: {error}") from error
    if not isinstance(found, Task):
        raise ValueError(f"{task_path!r} is not a task (decorate it with django.tasks.task)")
    return found


class ScheduledJob(models.Model):
    """One job run once a day at a local time of day, on every day, on working days or on trading days."""

    name = models.SlugField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    task_path = models.CharField(
        _("job"),
        max_length=200,
        help_text=_("Dotted path of a background job, e.g. huifang.scheduling.jobs.prune_finished_jobs"),
    )
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    time_of_day = models.TimeField(
        _("time of day"),
        help_text=_("Local time (Asia/Shanghai). The job runs once a day, at or soon after this time."),
    )
    day_kind = models.CharField(
        _("days"),
        max_length=20,
        choices=DayKind.choices,
        default=DayKind.EVERY_DAY,
        help_text=_("Working and trading days come from the holiday calendar; in a year it does not cover, "
                    "the job does not run and its last error says why."),
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    # The local date of the last run the scheduler claimed (enqueued or skipped): at most one claim per day.
    last_run_on = models.DateField(
        _("last run on"),
        null=True,
        blank=True,
        help_text=_("The day the job last ran or was skipped; it runs again on a later day."),
    )
    last_enqueued_at = models.DateTimeField(_("last enqueued at"), null=True, blank=True)
    last_result_id = models.CharField(_("last task result"), max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")
        ordering = ["time_of_day", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(day_kind__in=DayKind.values), name="scheduling_scheduledjob_known_day_kind"
            ),
        ]
        # No index beyond the unique name: the scheduler reads all enabled rows of a table of a few dozen.

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        try:
            resolve_task(self.task_path)
        except ValueError as error:
            errors["task_path"] = str(error)
        if not isinstance(self.kwargs, dict):
            errors["kwargs"] = _("Enter a JSON object, e.g. {}.")
        if errors:
            raise ValidationError(errors)
