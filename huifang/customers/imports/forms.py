"""The import page's forms: the upload (file, kind, profile) and the column mapping of a file whose header fits
no profile. The rules (file type and size, a complete mapping, a free profile name) are the services'
(imports.runs); the forms only offer the choices."""

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from huifang.customers.imports.profiles import BUILTIN_PROFILES, FIELDS, Kind
from huifang.customers.imports.runs import ALLOWED_EXTENSIONS, mapping_problems
from huifang.customers.models import ImportKind, ImportProfile


def profile_choices(profiles: QuerySet[ImportProfile]) -> list[Any]:
    """自动识别, the built-in profiles, then the saved ones, each labelled with what it imports."""
    kinds = dict(ImportKind.choices)
    builtins = [(f"builtin:{p.name}", f"{p.label}（{kinds[p.kind]}）") for p in BUILTIN_PROFILES.values()]
    saved = [(f"saved:{p.pk}", f"{p.name}（{kinds[p.kind]}）") for p in profiles]
    choices: list[Any] = [("", _("Detect from the header")), (_("Built-in profiles"), builtins)]
    if saved:
        choices.append((_("Saved profiles"), saved))
    return choices


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ALLOWED_EXTENSIONS)}),
        help_text=_("CSV (UTF-8 or GBK) or Excel .xlsx, at most 200 MB."),
    )
    kind = forms.ChoiceField(label=_("Contents"), choices=ImportKind.choices, initial=ImportKind.CUSTOMERS)
    profile = forms.ChoiceField(label=_("Import profile"), required=False)

    def __init__(self, *args: Any, profiles: QuerySet[ImportProfile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["profile"]).choices = profile_choices(profiles)


NOT_IMPORTED = ""


class MappingForm(forms.Form):
    """One select of the file's headers per field of `kind` (required fields must have one), and a name under
    which to save the mapping for the next files of this layout."""

    token = forms.CharField(widget=forms.HiddenInput)
    save_as = forms.CharField(
        label=_("Save as import profile"), required=False, max_length=50,
        help_text=_("Optional: give the mapping a name to choose it for the next files of this layout."),
    )

    def __init__(self, *args: Any, kind: Kind, header: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        options = [(NOT_IMPORTED, _("(not imported)")), *((h, h) for h in dict.fromkeys(header) if h)]
        self.field_names: list[str] = []
        for spec in FIELDS[kind]:
            name = f"field_{spec.name}"
            self.fields[name] = forms.ChoiceField(label=spec.label, choices=options, required=spec.required)
            self.field_names.append(name)

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.field_names]

    def mapping(self) -> dict[str, str]:
        return {name.removeprefix("field_"): self.cleaned_data.get(name) or "" for name in self.field_names}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for problem in mapping_problems(self.kind, self.mapping()):
            self.add_error(None, problem)
        return cleaned
