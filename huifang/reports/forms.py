"""Forms of the reports app: the mail subscription (报表订阅)."""

from typing import Any

from django import forms

from huifang.org.models import Branch
from huifang.org.queries import visible_branches
from huifang.org.scoping import sees_all_branches
from huifang.reports import delivery
from huifang.reports.models import Frequency, ReportSubscription
from huifang.reports.registry import all_reports, report_spec


def mailable_reports() -> list[tuple[str, str]]:
    """The reports made for at least one of the mailed period kinds (day, week, month), as choices."""
    kinds = set(delivery.FREQUENCY_KINDS.values())
    return [(spec.code, spec.title) for spec in all_reports() if kinds.intersection(spec.kinds)]


class SubscriptionForm(forms.Form):
    name = forms.CharField(label="订阅名称", max_length=100)
    report_code = forms.ChoiceField(label="报表")
    frequency = forms.ChoiceField(label="发送频率", choices=Frequency.choices, initial=Frequency.DAILY)
    branch = forms.ModelChoiceField(label="营业部", queryset=Branch.objects.none(), required=False,
                                    empty_label="全部营业部")
    recipients = forms.CharField(label="收件人", widget=forms.Textarea(attrs={"rows": 3,
                                 "placeholder": "每行一个邮箱地址，或用逗号分隔"}),
                                 help_text="每行一个邮箱地址，或用逗号分隔")
    attach_excel = forms.BooleanField(label="附 Excel", required=False, initial=True)
    attach_pdf = forms.BooleanField(label="附 PDF", required=False, initial=True)
    is_enabled = forms.BooleanField(label="启用", required=False, initial=True)

    def __init__(self, *args: Any, user: Any, instance: ReportSubscription | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "report_code": instance.report_code,
                                 "frequency": instance.frequency, "branch": instance.branch_id,
                                 "recipients": instance.recipients, "attach_excel": instance.attach_excel,
                                 "attach_pdf": instance.attach_pdf, "is_enabled": instance.is_enabled}
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["report_code"].choices = mailable_reports()  # type: ignore[attr-defined]
        branch = self.fields["branch"]
        branch.queryset = (visible_branches(user)  # type: ignore[attr-defined]
                           .filter(is_headquarters=False, is_active=True).order_by("code"))
        if not sees_all_branches(user):
            # a branch's user subscribes to their own branch's figures only
            branch.required = True
            branch.empty_label = None  # type: ignore[attr-defined]
            if not self.is_bound and instance is None:
                branch.initial = getattr(user, "branch_id", None)

    def clean_recipients(self) -> str:
        try:
            return "\n".join(delivery.parse_recipients(self.cleaned_data.get("recipients", "")))
        except delivery.DeliveryError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        spec = report_spec(data.get("report_code") or "")
        frequency = data.get("frequency")
        if spec is not None and frequency:
            kind = delivery.period_kind(frequency)
            if kind not in spec.kinds:
                usable = [str(f.label) for f, k in delivery.FREQUENCY_KINDS.items() if k in spec.kinds]
                self.add_error("frequency", f"《{spec.title}》不按{Frequency(frequency).label}出具，可选："
                               + "、".join(usable))
        if not data.get("attach_excel") and not data.get("attach_pdf"):
            self.add_error("attach_excel", "请至少选择一种附件（Excel 或 PDF）")
        return data
