"""Which permissions each role's group carries. Pure data: applied by `sync_role_groups` (services)."""

from huifang.org.choices import Role

ORG_MODELS = ("branch", "department", "team", "user")
# the import page (客户资料导入): its runs and the saved column-mapping profiles
IMPORT_MODELS = ("importrun", "importprofile")


def _all(app: str, models: tuple[str, ...], actions: tuple[str, ...]) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in actions]


ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.ADMIN: [
        *_all("org", ORG_MODELS, ("add", "change", "view", "delete")),
        "calendars.add_specialday",
        "calendars.change_specialday",
        "calendars.delete_specialday",
        "calendars.view_specialday",
        "calendars.add_coveredyear",
        "calendars.change_coveredyear",
        "calendars.view_coveredyear",
        "audit.view_auditentry",
        "customers.view_customer",
        "customers.change_customer",
        # lifting a lock-out: delete the user's access attempts
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "scheduling.view_scheduledjob",
        "scheduling.change_scheduledjob",
        *_all("customers", IMPORT_MODELS, ("add", "view")),
    ],
    Role.HQ_SUPERVISOR: [*_all("org", ORG_MODELS, ("view",)), "audit.view_auditentry", "calendars.view_specialday",
                         *_all("customers", IMPORT_MODELS, ("add", "view"))],
    Role.BRANCH_OPERATOR: [*_all("org", ORG_MODELS, ("view",)), *_all("customers", IMPORT_MODELS, ("add", "view"))],
    Role.AGENT: [],
    Role.TEAM_LEAD: [*_all("org", ("team", "user"), ("view",))],
    Role.QA_INSPECTOR: [],
    Role.CLIENT_MANAGER: [],
    Role.RISK_OFFICER: [],
    Role.DEPARTMENT_HANDLER: [],
    Role.AUDITOR: [*_all("org", ORG_MODELS, ("view",)), "audit.view_auditentry", "calendars.view_specialday"],
}

# Roles whose members are staff (may open the administration pages).
STAFF_ROLES = {Role.ADMIN}

# the questionnaire designer (问卷设计): HQ designs and publishes; branch operators see the questionnaires
SURVEY_MODELS = ("questionnaire", "questionnaireversion")
ROLE_PERMISSIONS[Role.HQ_SUPERVISOR] += _all("surveys", SURVEY_MODELS, ("add", "change", "view"))
# branch operators adapt copies of the company templates for their own branch (适用单位)
ROLE_PERMISSIONS[Role.BRANCH_OPERATOR] += _all("surveys", SURVEY_MODELS, ("add", "change", "view"))
# filling in questionnaires (答卷): whoever calls customers, and their supervisors, who also read the answers
for _role in (Role.AGENT, Role.TEAM_LEAD, Role.BRANCH_OPERATOR, Role.HQ_SUPERVISOR):
    ROLE_PERMISSIONS[_role] += _all("surveys", ("response",), ("add", "view"))
ROLE_PERMISSIONS[Role.AUDITOR] += _all("surveys", ("questionnaire", "questionnaireversion", "response"), ("view",))

# callback types and rules (回访类型、触发规则): HQ owns the catalogue and runs the rules; everyone who works or
# supervises callbacks sees them
CATALOGUE_MODELS = ("callbacktype", "rule")
ROLE_PERMISSIONS[Role.HQ_SUPERVISOR] += [*_all("campaigns", CATALOGUE_MODELS, ("add", "change", "view")),
                                         "callbacks.add_rulerun", "callbacks.view_rulerun"]
ROLE_PERMISSIONS[Role.ADMIN] += [*_all("campaigns", CATALOGUE_MODELS, ("add", "change", "view")),
                                 "callbacks.add_rulerun", "callbacks.view_rulerun"]
for _role in (Role.BRANCH_OPERATOR, Role.TEAM_LEAD, Role.AUDITOR, Role.RISK_OFFICER):
    ROLE_PERMISSIONS[_role] += _all("campaigns", CATALOGUE_MODELS, ("view",))
# callbacks (回访任务) and manual projects (回访项目): operators create projects and assign; team leads reassign
for _role in (Role.HQ_SUPERVISOR, Role.BRANCH_OPERATOR):
    ROLE_PERMISSIONS[_role] += [*_all("campaigns", ("project",), ("add", "change", "view")),
                                *_all("callbacks", ("callback",), ("add", "change", "view"))]
ROLE_PERMISSIONS[Role.TEAM_LEAD] += ["campaigns.view_project", "callbacks.view_callback", "callbacks.change_callback"]
ROLE_PERMISSIONS[Role.AUDITOR] += ["campaigns.view_project", "callbacks.view_callback", "callbacks.view_rulerun"]
ROLE_PERMISSIONS[Role.AGENT] += ["callbacks.view_callback"]
# risk referral (风险转介): risk and compliance staff raise risk-monitoring callbacks for any branch's customer
ROLE_PERMISSIONS[Role.RISK_OFFICER] += ["callbacks.add_callback", "callbacks.view_callback"]
# calls and recordings (通话、录音): agents dial and register outcomes; who supervises or checks calls sees them
# and plays recordings; only HQ supervisors, QA inspectors and auditors download them
for _role in (Role.AGENT, Role.TEAM_LEAD, Role.BRANCH_OPERATOR, Role.HQ_SUPERVISOR, Role.QA_INSPECTOR, Role.AUDITOR):
    ROLE_PERMISSIONS[_role] += ["calls.view_call", "calls.view_callrecording"]
ROLE_PERMISSIONS[Role.AGENT] += ["calls.add_call"]
for _role in (Role.HQ_SUPERVISOR, Role.QA_INSPECTOR, Role.AUDITOR):
    ROLE_PERMISSIONS[_role] += ["calls.download_callrecording"]
# the contact-correction list (号码纠错清单) for the account-opening counter
for _role in (Role.BRANCH_OPERATOR, Role.TEAM_LEAD, Role.HQ_SUPERVISOR, Role.AUDITOR):
    ROLE_PERMISSIONS[_role] += ["calls.view_contactcorrection"]
