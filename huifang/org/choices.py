from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles of DOMAIN.md; each is a permission group of the same name (migration 0002)."""

    ADMIN = "admin", _("System administrator")
    HQ_SUPERVISOR = "hq_supervisor", _("HQ callback supervisor")
    BRANCH_OPERATOR = "branch_operator", _("Branch CC operator")
    AGENT = "agent", _("Callback agent")
    TEAM_LEAD = "team_lead", _("Team lead")
    QA_INSPECTOR = "qa_inspector", _("QA inspector")
    CLIENT_MANAGER = "client_manager", _("Client manager")
    RISK_OFFICER = "risk_officer", _("Risk / compliance officer")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    AUDITOR = "auditor", _("Auditor")


class ApiScope(models.TextChoices):
    """What an API client may do; a client holds a list of these codes."""

    CUSTOMERS_READ = "customers:read", _("Read customers")
    CUSTOMERS_WRITE = "customers:write", _("Create and update customers")
    EVENTS_WRITE = "events:write", _("Record customer events")
    CALLBACKS_READ = "callbacks:read", _("Read callbacks and projects")
    CALLBACKS_WRITE = "callbacks:write", _("Create callbacks")
    RULES_RUN = "rules:run", _("Run the callback rules")
    PROJECTS_WRITE = "projects:write", _("Create projects and assign their callbacks")
    REPORTS_READ = "reports:read", _("Read reports")
