"""Forms of the callback pages: list filters, the deadline horizon, running and explaining rules, risk referral."""

from typing import Any

from django import forms
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.queries import OPEN, CallbackFilter
from huifang.campaigns.models import CallbackType
from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.org.models import Branch
from huifang.org.queries import visible_branches
from huifang.org.scoping import sees_all_branches

RISK_TYPE = "risk_aml"
MAX_WITHIN_DAYS = 60


def _clean_customer_no(raw: str, *, required: bool) -> str:
    if not raw and not required:
        return ""
    try:
        return parse_customer_no(raw)
    except InvalidCustomerNumber as error:
        raise forms.ValidationError(str(error)) from None


class CallbackFilterForm(forms.Form):
    type = forms.ChoiceField(label="回访类型", required=False)
    state = forms.ChoiceField(label="状态", required=False)
    branch: forms.ModelChoiceField[Branch] = forms.ModelChoiceField(
        label="营业部", queryset=Branch.objects.none(), required=False, empty_label="全部")
    due_from = forms.DateField(label="截止日期从", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_to = forms.DateField(label="截止日期至", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    customer_no = forms.CharField(label="客户编号", required=False, max_length=40)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [  # type: ignore[attr-defined]
            ("", "全部"), *CallbackType.objects.order_by("id").values_list("code", "name")]
        self.fields["state"].choices = [("", "全部"),  # type: ignore[attr-defined]
                                        (OPEN, "未完成（待分配、已分配、进行中）"),
                                        *((value, str(label)) for value, label in State.choices)]
        if sees_all_branches(user):
            self.fields["branch"].queryset = visible_branches(user).order_by("code")  # type: ignore[attr-defined]
        else:
            del self.fields["branch"]

    def clean_customer_no(self) -> str:
        return _clean_customer_no(self.cleaned_data.get("customer_no", ""), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        due_from, due_to = data.get("due_from"), data.get("due_to")
        if due_from and due_to and due_from > due_to:
            self.add_error("due_to", "截止日期范围不正确：结束日早于开始日")
        return data

    def chosen(self) -> CallbackFilter:
        data = self.cleaned_data
        branch = data.get("branch")
        return CallbackFilter(type_code=data.get("type") or "", state=data.get("state") or "",
                              branch_id=branch.pk if branch else None, due_from=data.get("due_from"),
                              due_to=data.get("due_to"), customer_no=data.get("customer_no") or "")


class DeadlineForm(forms.Form):
    within = forms.IntegerField(label="工作日内到期", min_value=0, max_value=MAX_WITHIN_DAYS, initial=3,
                                required=False)

    def within_days(self) -> int:
        value = self.cleaned_data.get("within")
        return 3 if value is None else int(value)


class RunRulesForm(forms.Form):
    as_of = forms.DateField(label="截至日期", widget=forms.DateInput(attrs={"type": "date"}))
    dry_run = forms.BooleanField(label="试运行（只统计，不生成）", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["as_of"].initial = timezone.localdate()


class ExplainForm(forms.Form):
    rule = forms.ChoiceField(label="规则")
    customer_no = forms.CharField(label="客户编号", max_length=40)
    as_of = forms.DateField(label="截至日期", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, rules: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [  # type: ignore[attr-defined]
            (rule.pk, f"{rule.callback_type.name} · {rule.name}") for rule in rules]
        self.fields["as_of"].initial = timezone.localdate()

    def clean_customer_no(self) -> str:
        return _clean_customer_no(self.cleaned_data.get("customer_no", ""), required=True)


class ReferralForm(forms.Form):
    customer_no = forms.CharField(label="客户编号", max_length=40)
    callback_type: forms.ModelChoiceField[CallbackType] = forms.ModelChoiceField(
        label="回访类型", queryset=CallbackType.objects.none(), to_field_name="code", empty_label=None)
    reason = forms.CharField(label="转介原因", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": "请填写转介原因"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        active = CallbackType.objects.filter(is_active=True).order_by("id")
        self.fields["callback_type"].queryset = active  # type: ignore[attr-defined]
        self.fields["callback_type"].initial = RISK_TYPE

    def clean_customer_no(self) -> str:
        return _clean_customer_no(self.cleaned_data.get("customer_no", ""), required=True)

    def clean_reason(self) -> str:
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise forms.ValidationError("请填写转介原因")
        return reason
