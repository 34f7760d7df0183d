"""The questionnaire list's forms: a new questionnaire (code, name) and a JSON file to import. The rules (a free
code, a definition that parses) are the services'; the forms only read the input."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

#: the largest questionnaire file accepted (a hundred questions are far below it)
MAX_IMPORT_BYTES = 1024 * 1024


class CreateQuestionnaireForm(forms.Form):
    code = forms.CharField(label=pgettext_lazy("designer", "Code"), max_length=50)
    name = forms.CharField(label=pgettext_lazy("designer", "Name"), max_length=100)


class ImportQuestionnaireForm(forms.Form):
    file = forms.FileField(label=_("JSON file"), widget=forms.ClearableFileInput(attrs={"accept": ".json"}))

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB."))
        return upload


class PropertiesForm(forms.Form):
    """What a questionnaire is, apart from its versioned questions (services.update_questionnaire)."""

    name = forms.CharField(label=pgettext_lazy("designer", "Name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    callback_types = forms.MultipleChoiceField(label=_("Callback types it serves"), required=False,
                                               widget=forms.CheckboxSelectMultiple)
    is_template = forms.BooleanField(label=_("Template (branches may copy it)"), required=False)
    branches: forms.ModelMultipleChoiceField = forms.ModelMultipleChoiceField(
        label=_("Applicable branches (none: every branch)"), required=False, queryset=None,
        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: object, branches: object, **kwargs: object) -> None:
        from huifang.surveys.choices import CALLBACK_TYPES

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["callback_types"].choices = list(CALLBACK_TYPES.items())  # type: ignore[attr-defined]
        self.fields["branches"].queryset = branches  # type: ignore[attr-defined]
