from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from huifang.audit.forms import AuditSearchForm
from huifang.audit.queries import audit_actions, search_audit_entries
from huifang.lib.web import HtmxHttpRequest


@login_required
@permission_required("audit.view_auditentry", raise_exception=True)
def search(request: HtmxHttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    entries = search_audit_entries(**form.cleaned_data) if form.is_valid() else search_audit_entries()
    if form.is_bound and not form.is_valid():
        entries = entries.none()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "actions": audit_actions(), "query": query.urlencode()}
    template = "audit/_rows.html" if request.htmx else "audit/search.html"
    return render(request, template, context)
