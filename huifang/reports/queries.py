"""Read-only figures for the home page. Every query is branch-scoped through org's `visible_to`."""

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from huifang.audit.models import AuditEntry
from huifang.customers.choices import EventType
from huifang.customers.models import CustomerEvent
from huifang.customers.queries import visible_customers
from huifang.org.choices import Role
from huifang.org.models import User
from huifang.org.queries import visible_branches
from huifang.surveys.statistics import rotation_hints

#: the period the home page's rotation hints look back over
ROTATION_WINDOW_DAYS = 90


def _profile(user: User) -> dict[str, Any]:
    rows = [
        (_("Agent number"), user.agent_no or "—"),
        (_("Extension"), user.extension or "—"),
        (_("Branch"), user.branch.name if user.branch else "—"),
        (_("Team"), user.team.name if user.team else "—"),
    ]
    return {"kind": "facts", "title": _("My details"), "rows": rows}


def _branch_overview(user: User) -> dict[str, Any]:
    branches = visible_branches(user).annotate(
        people=Count("users", filter=Q(users__is_active=True), distinct=True),
        agents=Count("users", filter=Q(users__groups__name=Role.AGENT), distinct=True),
        managers=Count("users", filter=Q(users__groups__name=Role.CLIENT_MANAGER), distinct=True),
    )
    # Counted apart, grouped by branch: a join with users would multiply the customer rows.
    per_branch = visible_customers(user).order_by().values("branch_id").annotate(n=Count("id"))
    customers = {row["branch_id"]: row["n"] for row in per_branch}
    header = [_("Branch"), _("Staff"), _("Callback agents"), _("Client managers"), _("Customers")]
    rows = [[b.name, b.people, b.agents, b.managers, customers.get(b.pk, 0)] for b in branches]
    return {"kind": "table", "title": _("Branches at a glance"), "header": header, "rows": rows}


def _team(user: User) -> dict[str, Any]:
    members = User.objects.visible_to(user).filter(team_id=user.team_id) if user.team_id else User.objects.none()
    header = [_("Agent number"), _("Full name"), _("Extension")]
    rows = [[m.agent_no or "", m.name or m.username, m.extension] for m in members.order_by("agent_no")]
    return {"kind": "table", "title": _("My team"), "header": header, "rows": rows}


def _recent_audit() -> dict[str, Any]:
    entries = AuditEntry.objects.order_by("-at", "-id")[:10]
    header = [_("Time"), _("User"), _("Action"), _("Summary")]
    rows = [[f"{e.at:%Y-%m-%d %H:%M}", e.actor_name, e.action_label, e.summary] for e in entries]
    return {"kind": "table", "title": _("Latest audit entries"), "header": header, "rows": rows,
            "link": ("audit:search", _("Search the audit log"))}


def _customer_rows(customers: Any) -> list[list[Any]]:
    return [[c.customer_no, c.name, c.get_tier_display(), c.get_status_display(), c.open_date] for c in customers]


def _my_customers(user: User) -> dict[str, Any]:
    mine = visible_customers(user).filter(manager=user)
    header = [_("Customer number"), _("Name"), _("Tier"), _("Status"), _("Opened on")]
    title = _("My customers (%(count)s), newest accounts first") % {"count": mine.count()}
    return {"kind": "table", "title": title, "header": header,
            "rows": _customer_rows(mine.order_by("-open_date", "customer_no")[:10])}


def _event_rows(events: Any) -> list[list[Any]]:
    rows = []
    for event in events:
        amount = event.data.get("amount")
        detail = f"¥{amount}" if amount else ""
        rows.append([f"{timezone.localtime(event.occurred_at):%Y-%m-%d %H:%M}", event.customer.customer_no,
                     event.customer.name, event.get_type_display(), detail])
    return rows


def _recent_events(user: User, title: str, **filters: Any) -> dict[str, Any]:
    events = (CustomerEvent.objects.visible_to(user).filter(**filters).select_related("customer")
              .order_by("-occurred_at")[:10])
    header = [_("Time"), _("Customer number"), _("Name"), _("Event"), _("Amount")]
    return {"kind": "table", "title": title, "header": header, "rows": _event_rows(events)}


def _department(user: User) -> dict[str, Any]:
    department = user.department
    colleagues = User.objects.visible_to(user).filter(department=department) if department else User.objects.none()
    header = [_("Full name"), _("Agent number"), _("Extension")]
    title = _("My department: %(name)s") % {"name": department.name} if department else _("My department")
    rows = [[c.name or c.username, c.agent_no or "", c.extension] for c in colleagues.order_by("username")]
    return {"kind": "table", "title": title, "header": header, "rows": rows}


def _branch_agents(user: User) -> dict[str, Any]:
    agents = User.objects.visible_to(user).filter(groups__name=Role.AGENT, is_active=True).select_related("team")
    header = [_("Agent number"), _("Full name"), _("Branch"), _("Team")]
    rows = [[a.agent_no or "", a.name or a.username, a.branch.name if a.branch else "", a.team.name if a.team else ""]
            for a in agents.select_related("branch").order_by("branch__code", "agent_no")]
    return {"kind": "table", "title": _("Callback agents I inspect"), "header": header, "rows": rows}


def _shortcuts(user: User) -> dict[str, Any]:
    links = [("customers:list", _("Find a customer"))]
    if user.has_perm("org.view_user"):
        links.append(("org:users", _("People and roles")))
    if user.has_perm("audit.view_auditentry"):
        links.append(("audit:search", _("Search the audit log")))
    if user.has_perm("calendars.view_specialday"):
        links.append(("calendars:index", _("Working and trading days")))
    if user.has_perm("surveys.view_questionnaire"):
        links.append(("surveys:list", _("Questionnaires")))
    if user.has_perm("surveys.add_response"):
        links.append(("surveys:start", _("Fill in a questionnaire")))
    if user.is_staff:
        links.append(("admin:index", _("Administration")))
    return {"kind": "links", "title": _("Shortcuts"), "links": links}


def _rotation_hints() -> dict[str, Any]:
    """The questions to rotate (DOMAIN.md, seed 002), over the last 90 days."""
    until = timezone.now()
    hints = rotation_hints(since=until - dt.timedelta(days=ROTATION_WINDOW_DAYS), until=until)
    header = [_("Questionnaire"), _("Question"), _("Best answer"), _("Share"), _("Answers")]
    rows = [[h.questionnaire, f"{h.question} {h.text}", h.best, f"{h.share:.0%}", h.answered] for h in hints]
    return {"kind": "table", "title": _("Questions to rotate (last 90 days)"), "header": header, "rows": rows,
            "link": ("surveys:list", _("Questionnaires"))}


def home_panels(user: Any) -> list[dict[str, Any]]:
    """The panels of the home page for this user's roles, most important first."""
    panels: list[dict[str, Any]] = [_profile(user), _shortcuts(user)]
    if user.has_role(Role.CLIENT_MANAGER):
        panels.append(_my_customers(user))
        panels.append(_recent_events(user, _("Latest business events of my customers"), customer__manager=user))
    if user.has_role(Role.RISK_OFFICER):
        panels.append(_recent_events(user, _("Latest risk flags"), type=EventType.RISK_FLAGGED))
        panels.append(_recent_events(user, _("Latest transfers out"), type=EventType.TRANSFER_OUT))
    if user.has_role(Role.HQ_SUPERVISOR, Role.ADMIN, Role.BRANCH_OPERATOR, Role.AUDITOR) or user.is_superuser:
        panels.append(_branch_overview(user))
    if user.has_role(Role.AGENT, Role.TEAM_LEAD) and user.team_id:
        panels.append(_team(user))
    if user.has_role(Role.QA_INSPECTOR):
        panels.append(_branch_agents(user))
    if user.has_role(Role.DEPARTMENT_HANDLER):
        panels.append(_department(user))
    if user.has_role(Role.HQ_SUPERVISOR):
        panels.append(_rotation_hints())
    if user.has_perm("audit.view_auditentry"):
        panels.append(_recent_audit())
    return panels
