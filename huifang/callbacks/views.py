"""Pages of callbacks (回访任务): the list and one callback with its history, the deadline views (即将到期 /
已逾期), the catalogue with its trigger rules (run, dry-run and explain), and risk referral (风险转介).

Reads go through callbacks.queries (branch-scoped), writes through callbacks.services; views only render."""

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huifang.calendars.queries import CalendarNotCovered
from huifang.callbacks import queries
from huifang.callbacks.choices import Origin, RunTrigger, State
from huifang.callbacks.forms import CallbackFilterForm, DeadlineForm, ExplainForm, ReferralForm, RunRulesForm
from huifang.callbacks.services import CallbackError, RunReport, create_callback, explain_rule, run_rules
from huifang.campaigns.choices import Channel
from huifang.campaigns.models import CallbackType
from huifang.campaigns.rules import DEADLINE_KINDS
from huifang.customers.queries import access_customer_by_no
from huifang.lib.web import HtmxHttpRequest
from huifang.org.queries import NotFound
from huifang.org.scoping import sees_all_branches

PAGE_SIZE = 50


def _require(request: HtmxHttpRequest, permission: str) -> Any:
    if not request.user.has_perm(permission):
        raise PermissionDenied
    return request.user


# --- the list and one callback -------------------------------------------------------------------------------

@login_required
@require_GET
def callback_list(request: HtmxHttpRequest) -> HttpResponse:
    user = _require(request, "callbacks.view_callback")
    form = CallbackFilterForm(request.GET or None, user=user)
    status = 200
    if form.is_bound and not form.is_valid():
        page = Paginator(queries.visible_callbacks(user).none(), PAGE_SIZE).get_page(1)
        status = 400
    else:
        chosen = form.chosen() if form.is_bound else queries.CallbackFilter()
        page = Paginator(queries.filter_callbacks(user, chosen), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "sees_all": sees_all_branches(user)}
    template = "callbacks/_callback_rows.html" if request.htmx else "callbacks/list.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def callback_detail(request: HtmxHttpRequest, callback_id: int) -> HttpResponse:
    user = _require(request, "callbacks.view_callback")
    callback = queries.access_callback(user, callback_id)
    history = [{"row": row, "from": state_label(row.from_state), "to": state_label(row.to_state)}
               for row in queries.callback_history(callback)]
    return render(request, "callbacks/detail.html", {"callback": callback, "history": history})


def state_label(code: str) -> str:
    """The label of a state code ("" for the creation's empty from-state)."""
    return str(State(code).label) if code in State.values else code


# --- deadline views --------------------------------------------------------------------------------------------

@login_required
@require_GET
def deadlines(request: HtmxHttpRequest) -> HttpResponse:
    user = _require(request, "callbacks.view_callback")
    form = DeadlineForm(request.GET or {"within": 3})
    context: dict[str, Any] = {"form": form, "sees_all": sees_all_branches(user)}
    if not form.is_valid():
        return render(request, "callbacks/deadlines.html", context, status=400)
    context["summary"] = queries.deadline_summary(user, timezone.localdate(), form.within_days())
    return render(request, "callbacks/deadlines.html", context)


# --- the catalogue and its rules -------------------------------------------------------------------------------

def deadline_words(policy: Any) -> str:
    """A deadline policy in words, e.g. {"kind": "working_days", "n": 5} → 5 个工作日."""
    if not isinstance(policy, dict) or policy.get("kind") not in DEADLINE_KINDS:
        return f"未知：{json.dumps(policy, ensure_ascii=False)}"
    words = DEADLINE_KINDS[policy["kind"]]
    return words.replace("N", str(policy["n"])) if "n" in policy else words


AFTER_WORDS = {"signed_at": "签约时间", "paid_at": "付款时间"}


def not_before_words(policy: Any) -> str:
    kind = policy.get("kind", "none") if isinstance(policy, dict) else "none"
    if kind == "hours_after":
        after = "、".join(AFTER_WORDS.get(name, name) for name in policy.get("after", []))
        return f"事件{('及' + after) if after else ''}后 {policy.get('hours')} 小时"
    return {"none": "立即", "next_working_day": "下一工作日", "next_trading_day": "下一交易日"}.get(kind, kind)


def _type_rows() -> list[dict[str, Any]]:
    channels = dict(Channel.choices)
    rows = []
    for callback_type in queries.catalogue():
        quota = ""
        if callback_type.quota:
            period = callback_type.get_quota_period_display() if callback_type.quota_period else ""
            quota = f"{callback_type.quota}{' / ' + str(period) if period else ''}"
        rows.append({
            "type": callback_type,
            "deadline": deadline_words(callback_type.deadline),
            "not_before": not_before_words(callback_type.not_before),
            "quota": quota,
            "channels": "、".join(str(channels.get(c, c)) for c in callback_type.channels or []),
            "rules": [{"rule": rule, "config": json.dumps(rule.config, ensure_ascii=False, indent=2)}
                      for rule in callback_type.rules.all()],
        })
    return rows


def _report_rows(report: RunReport) -> dict[str, Any]:
    from huifang.callbacks.services import counts_by_type_and_branch

    counts = counts_by_type_and_branch(report)
    branches = queries.branch_names({row["branch_id"] for row in counts})
    types = queries.type_names()
    return {
        "run": report.run,
        "total": report.total,
        "counts": [{"type": types.get(row["type"], row["type"]), "branch": branches.get(row["branch_id"], "?"),
                    "count": row["count"]} for row in counts],
        "errors": [outcome for outcome in report.outcomes if outcome.error],
    }


def _rules_page(request: HtmxHttpRequest, *, run_form: RunRulesForm | None = None,
                explain_form: ExplainForm | None = None, report: RunReport | None = None,
                explanation: list[dict[str, Any]] | None = None, status: int = 200) -> HttpResponse:
    rules = list(queries.explainable_rules())
    context = {
        "types": _type_rows(),
        "run_form": run_form or RunRulesForm(),
        "explain_form": explain_form or ExplainForm(rules=rules),
        "may_run": request.user.has_perm("callbacks.add_rulerun"),
        "runs": queries.latest_runs(request.user),
        "report": _report_rows(report) if report else None,
        "explanation": explanation,
    }
    return render(request, "callbacks/rules.html", context, status=status)


@login_required
@require_GET
def rules(request: HtmxHttpRequest) -> HttpResponse:
    _require(request, "campaigns.view_rule")
    return _rules_page(request)


@login_required
@require_POST
def run(request: HtmxHttpRequest) -> HttpResponse:
    _require(request, "campaigns.view_rule")
    user = _require(request, "callbacks.add_rulerun")
    form = RunRulesForm(request.POST)
    if not form.is_valid():
        return _rules_page(request, run_form=form, status=422)
    report = run_rules(as_of=form.cleaned_data["as_of"], dry_run=form.cleaned_data["dry_run"],
                       trigger=RunTrigger.MANUAL, by=user)
    return _rules_page(request, run_form=form, report=report)


@login_required
@require_GET
def explain(request: HtmxHttpRequest) -> HttpResponse:
    user = _require(request, "campaigns.view_rule")
    rules_list = list(queries.explainable_rules())
    form = ExplainForm(request.GET, rules=rules_list)
    if not form.is_valid():
        return _rules_page(request, explain_form=form, status=400)
    rule = queries.access_rule(form.cleaned_data["rule"])
    try:
        customer = access_customer_by_no(user, form.cleaned_data["customer_no"])
    except NotFound as error:
        form.add_error("customer_no", str(error))
        return _rules_page(request, explain_form=form, status=404)
    try:
        steps = explain_rule(rule=rule, customer=customer, as_of=form.cleaned_data["as_of"])
    except CallbackError as error:
        form.add_error(None, str(error))
        return _rules_page(request, explain_form=form, status=422)
    explanation = {"rule": rule, "customer": customer, "as_of": form.cleaned_data["as_of"], "steps": steps}
    return _rules_page(request, explain_form=form, explanation=[explanation])


# --- risk referral ---------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def referral(request: HtmxHttpRequest) -> HttpResponse:
    user = _require(request, "callbacks.add_callback")
    if request.method != "POST":
        return render(request, "callbacks/referral.html", {"form": ReferralForm()})
    form = ReferralForm(request.POST)
    if form.is_valid():
        customer_no = form.cleaned_data["customer_no"]
        callback_type: CallbackType = form.cleaned_data["callback_type"]
        try:
            customer = access_customer_by_no(user, customer_no)
            callback = create_callback(customer=customer, callback_type=callback_type, origin=Origin.RISK_REFERRAL,
                                       by=user, reason=form.cleaned_data["reason"])
        except NotFound as error:
            form.add_error("customer_no", str(error))
        except CallbackError as error:
            form.add_error("customer_no", str(error))
        except CalendarNotCovered as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"已转介：客户 {customer.customer_no}（{customer.name}）的{callback_type.name}"
                                      f"任务已下达至 {customer.branch.name}，截止 {callback.due_date:%Y-%m-%d}。")
            return redirect("callbacks:referral")
    return render(request, "callbacks/referral.html", {"form": form}, status=422)

