from django import forms
from django.utils.translation import gettext_lazy as _

from huifang.calendars.models import DayKind


class SpecialDayForm(forms.Form):
    """Set one day of the table from the calendar page. The weekday rules are checked by the service."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=DayKind.choices)
    name = forms.CharField(label=_("Name"), max_length=50, required=False,
                           help_text=_("The holiday it belongs to, e.g. Spring Festival."))
