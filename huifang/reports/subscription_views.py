"""Pages of the mailed reports (报表订阅, /reports/subscriptions/): the list of the subscriptions the user sees with
a new-subscription form, the edit page, and per row the htmx buttons 停用 and 立即发送 (mail the last complete
period now, unless it was already mailed; the row shows what happened).

Who: the HQ supervisor, the administrator and a branch's CC operator (delivery.may_manage); others get 403. The
list reads through `visible_to`, so a branch's operator sees their branch's subscriptions only (not those of
every branch), and another branch's subscription answers 404. Bad input answers 422 with the field named."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huifang.lib.web import HtmxHttpRequest
from huifang.org.queries import NotFound
from huifang.reports import delivery
from huifang.reports.forms import SubscriptionForm
from huifang.reports.models import ReportSubscription
from huifang.reports.registry import all_reports


def _manager(request: HtmxHttpRequest) -> Any:
    if not delivery.may_manage(request.user):
        raise PermissionDenied
    return request.user


def _subscription(request: HtmxHttpRequest, subscription_id: int) -> ReportSubscription:
    try:
        return (ReportSubscription.objects.visible_to(request.user).select_related("branch", "created_by")
                .get(pk=subscription_id))
    except ReportSubscription.DoesNotExist:
        raise NotFound("报表订阅不存在") from None


def _titles() -> dict[str, str]:
    return {spec.code: spec.title for spec in all_reports()}


def _row(subscription: ReportSubscription, titles: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"s": subscription, "report_title": titles.get(subscription.report_code, subscription.report_code),
            "recipients": subscription.recipients.splitlines(), **extra}


def _list_page(request: HtmxHttpRequest, form: SubscriptionForm | None = None, status: int = 200) -> HttpResponse:
    titles = _titles()
    subscriptions = (ReportSubscription.objects.visible_to(request.user)
                     .select_related("branch", "created_by").order_by("name", "id"))
    context = {"rows": [_row(s, titles) for s in subscriptions],
               "form": form or SubscriptionForm(user=request.user)}
    return render(request, "reports/subscription_list.html", context, status=status)


def _data(form: SubscriptionForm) -> dict[str, Any]:
    return {key: form.cleaned_data[key] for key in delivery.EDITABLE}


@login_required
@require_GET
def subscription_list(request: HtmxHttpRequest) -> HttpResponse:
    _manager(request)
    return _list_page(request)


@login_required
@require_POST
def create(request: HtmxHttpRequest) -> HttpResponse:
    user = _manager(request)
    form = SubscriptionForm(request.POST, user=user)
    if not form.is_valid():
        return _list_page(request, form=form, status=422)
    try:
        subscription = delivery.create_subscription(data=_data(form), by=user)
    except delivery.DeliveryError as error:
        form.add_error(None, str(error))
        return _list_page(request, form=form, status=422)
    messages.success(request, f"已创建报表订阅“{subscription.name}”")
    return redirect("subscriptions:list")


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    user = _manager(request)
    subscription = _subscription(request, subscription_id)
    if request.method == "GET":
        form = SubscriptionForm(user=user, instance=subscription)
        return render(request, "reports/subscription_edit.html", {"form": form, "s": subscription})
    form = SubscriptionForm(request.POST, user=user, instance=subscription)
    if form.is_valid():
        try:
            delivery.update_subscription(subscription=subscription, data=_data(form), by=user)
        except delivery.DeliveryError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"已保存报表订阅“{form.cleaned_data['name']}”")
            return redirect("subscriptions:list")
    return render(request, "reports/subscription_edit.html", {"form": form, "s": subscription}, status=422)


def _row_response(request: HtmxHttpRequest, subscription: ReportSubscription, **extra: Any) -> HttpResponse:
    fresh = ReportSubscription.objects.select_related("branch", "created_by").get(pk=subscription.pk)
    if request.htmx:
        return render(request, "reports/subscription_row.html", {"row": _row(fresh, _titles(), **extra)})
    if extra.get("message"):
        messages.info(request, extra["message"])
    return redirect("subscriptions:list")


@login_required
@require_POST
def disable(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    user = _manager(request)
    subscription = _subscription(request, subscription_id)
    delivery.disable_subscription(subscription=subscription, by=user)
    return _row_response(request, subscription, message=f"已停用“{subscription.name}”", outcome="disabled")


@login_required
@require_POST
def send_now(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    user = _manager(request)
    subscription = _subscription(request, subscription_id)
    outcome = delivery.deliver_outcome(subscription.pk, by=user)
    return _row_response(request, subscription, message=outcome.message, outcome=outcome.status)
