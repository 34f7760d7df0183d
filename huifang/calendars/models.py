"""The holiday table: which days differ from the plain week, and which years the table covers."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

SATURDAY = 5


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Public holiday (no work)")
    WORKDAY = "workday", _("Make-up working day (调休上班)")
    MARKET_CLOSED = "closed", _("Exchange closed on a working day")


class CoveredYear(models.Model):
    """A year whose holidays and make-up working days are in the table. A date in any other year raises."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("covered year")
        verbose_name_plural = _("covered years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)

    def clean(self) -> None:
        # A year without a single holiday would answer "working day" for every weekday: a guess, not data.
        if self.year and not SpecialDay.objects.filter(date__year=self.year, kind=DayKind.HOLIDAY).exists():
            message = _("Enter the holidays of %(year)s before marking the year as covered.")
            raise ValidationError({"year": message % {"year": self.year}})


class SpecialDay(models.Model):
    """A day that differs from the plain week: a holiday (its weekend days are listed too, so the whole break
    carries its name), a weekend make-up working day, or a weekday on which only the exchange is closed.
    Weekdays not listed are working and trading days; weekends not listed are rest days."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("special day")
        verbose_name_plural = _("special days")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=DayKind.values), name="calendars_specialday_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"

    def clean(self) -> None:
        if self.date is None:
            return
        is_weekend = self.date.weekday() >= SATURDAY
        if self.kind == DayKind.WORKDAY and not is_weekend:
            message = _("A make-up working day must be a Saturday or a Sunday: weekdays are working anyway.")
            raise ValidationError({"kind": message})
        if self.kind == DayKind.MARKET_CLOSED and is_weekend:
            message = _("An exchange closure must be a weekday: the exchange is closed on every weekend.")
            raise ValidationError({"kind": message})
