from django import forms
from django.utils.translation import gettext_lazy as _

from huifang.org.choices import ApiScope
from huifang.org.models import Branch


class ApiClientForm(forms.Form):
    """Create an API client from the management page. The rules (branches or all, known scopes, unique name)
    are checked by the service."""

    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("The calling system, e.g. CRM or the counter system."))
    branches = forms.ModelMultipleChoiceField(label=_("Branches"), queryset=Branch.objects.all(), required=False,
                                              widget=forms.CheckboxSelectMultiple)
    all_branches = forms.BooleanField(label=_("All branches"), required=False)
    scopes = forms.MultipleChoiceField(label=_("Scopes"), choices=ApiScope.choices, initial=ApiScope.values,
                                       widget=forms.CheckboxSelectMultiple)
