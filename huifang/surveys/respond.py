"""Filling in a questionnaire (答卷): start a response for a customer, answer question by question (each answer
saved the moment it is given, htmx), change an earlier answer, finish. A reload shows exactly where the response
stands. The agent's workbench (a later issue) will embed the same partials.

A response is reached through its customer's branch: another branch's response is "not found"."""

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from huifang.customers.queries import access_customer_by_no
from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.org.queries import NotFound
from huifang.surveys import rules, services
from huifang.surveys.choices import ResponseStatus, VersionState
from huifang.surveys.models import QuestionnaireVersion, Response
from huifang.surveys.queries import access_response


def script_values(response: Response, agent: Any) -> dict[str, str]:
    """What a script's placeholders are filled with: the customer (also as {客户.<field>}), the agent; the
    response's business event, when it has one: product, amount, date, and {事件.<key>} for any of its data (the
    callbacks module starts responses with the event that triggered them). A value not there stays visible as
    【产品名称】."""
    customer = response.customer
    manager = customer.manager
    # {客户.<field>}: any field of the customer, its free attributes included ({客户.birthday})
    fields = {f"客户.{key}": value for key, value in (customer.attributes or {}).items()}
    fields.update({f"客户.{name}": getattr(customer, name) for name in
                   ("customer_no", "name", "tier", "status", "risk_rating", "assets", "email", "open_date")})
    event = response.event
    if event is not None:
        data = event.data if isinstance(event.data, dict) else {}
        fields.update({f"事件.{key}": value for key, value in data.items()})
        fields.update({"产品名称": data.get("product_name") or data.get("product"), "金额": data.get("amount"),
                       "日期": timezone.localtime(event.occurred_at).date().isoformat()})
    return {**{key: "" if value is None else str(value) for key, value in fields.items()},
        "客户姓名": customer.name, "客户编号": customer.customer_no, "营业部": customer.branch.name,
        "客户经理": (manager.name or manager.username) if manager else "",
        "开户日期": customer.open_date.isoformat() if customer.open_date else "",
        "公司名称": settings.COMPANY_NAME, "坐席工号": getattr(agent, "agent_no", "") or "",
        "坐席姓名": getattr(agent, "name", "") or "",
    }


def _context(request: HttpRequest, response: Response, error: str = "") -> dict[str, Any]:
    definition = services.definition_of(response.version)
    answers = {a.question_code: a for a in response.answers.all()}
    values = script_values(response, request.user)
    asked = [code for code in rules.path(definition, services.answers_of(response)) if code in answers]
    current = definition.question(response.current_question) if response.current_question else None
    return {
        "response": response, "error": error, "values": values,
        "done": [(definition.question(code), answers[code]) for code in asked],
        "current": current, "script": rules.fill_script(current.script, values) if current else "",
        "is_open": response.status == ResponseStatus.IN_PROGRESS,
        "kind_labels": rules.KIND_LABELS,
    }


@login_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Choose a published questionnaire and a customer, and begin."""
    versions = (QuestionnaireVersion.objects.filter(state=VersionState.PUBLISHED)
                .select_related("questionnaire").order_by("questionnaire__code"))
    error = ""
    if request.method == "POST":
        if not request.user.has_perm("surveys.add_response"):
            raise PermissionDenied
        try:
            customer = access_customer_by_no(request.user, parse_customer_no(request.POST.get("customer_no", "")))
            version = versions.get(pk=request.POST.get("version", ""))
            raw_event = request.POST.get("event", "").strip()
            event = customer.events.filter(pk=raw_event).first() if raw_event.isdigit() else None
            if raw_event and event is None:
                raise ValueError(f"该客户没有编号为 {raw_event} 的业务事件")
            response = services.start_response(actor=request.user, version=version, customer=customer, event=event)
        except (InvalidCustomerNumber, NotFound, QuestionnaireVersion.DoesNotExist, ValueError) as problem:
            error = str(problem) if not isinstance(problem, QuestionnaireVersion.DoesNotExist) else "请选择问卷"
        else:
            return redirect("surveys:respond", response_id=response.pk)
    return render(request, "surveys/respond_start.html", {"versions": versions, "error": error,
                                                         "posted": request.POST}, status=400 if error else 200)


@login_required
def respond(request: HttpRequest, response_id: int) -> HttpResponse:
    response = access_response(request.user, response_id)
    return render(request, "surveys/respond.html", _context(request, response))


@login_required
@require_POST
def answer(request: HttpRequest, response_id: int) -> HttpResponse:
    """Save one answer (or a skip) and show the next question; on a refused answer the same question again with
    the reason, nothing saved."""
    response = access_response(request.user, response_id)
    if not request.user.has_perm("surveys.add_response"):
        raise PermissionDenied
    code = request.POST.get("question", "")
    question = services.definition_of(response.version).question(code)
    value: Any = None
    if question is not None:
        value = request.POST.getlist("value") if question.kind == "multiple" else request.POST.get("value", "")
    error = ""
    try:
        services.save_answer(actor=request.user, response=response, question_code=code, value=value or None,
                             other_text=request.POST.get("other_text", ""),
                             skipped_reason=request.POST.get("skipped_reason", ""), channel="phone")
    except services.QuestionnaireError as problem:
        error = str(problem)
    response.refresh_from_db()
    return render(request, "surveys/_respond_body.html", _context(request, response, error),
                  status=422 if error else 200)


@login_required
@require_POST
def finish(request: HttpRequest, response_id: int) -> HttpResponse:
    response = access_response(request.user, response_id)
    if not request.user.has_perm("surveys.add_response"):
        raise PermissionDenied
    services.finish_response(actor=request.user, response=response)
    response.refresh_from_db()
    return render(request, "surveys/_respond_body.html", _context(request, response))
