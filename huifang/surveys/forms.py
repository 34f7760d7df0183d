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
