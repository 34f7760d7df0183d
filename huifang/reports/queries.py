"""Read-only figures for the home page. Every query is branch-scoped through org's `visible_to`."""

from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from huifang.audit.models import AuditEntry
from huifang.customers.queries import visible_customers
from huifang.org.choices import Role
from huifang.org.models import User
from huifang.org.queries import visible_branches


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


def home_panels(user: Any) -> list[dict[str, Any]]:
    """The panels of the home page for this user's roles, most important first."""
    panels: list[dict[str, Any]] = [_profile(user)]
    if user.has_role(Role.HQ_SUPERVISOR, Role.ADMIN, Role.BRANCH_OPERATOR, Role.AUDITOR) or user.is_superuser:
        panels.append(_branch_overview(user))
    if user.has_role(Role.AGENT, Role.TEAM_LEAD, Role.QA_INSPECTOR) and user.team_id:
        panels.append(_team(user))
    if user.has_perm("audit.view_auditentry"):
        panels.append(_recent_audit())
    return panels
