"""Branch isolation, for every page and every API endpoint that exists.

Each route that takes an object id is listed in OBJECT_ROUTES with a way to make such an object in branch A.
A user of branch B must get 404 for it (the same answer as for a missing object); an HQ user gets 200.
Each list route is in LIST_ROUTES with text that only branch A's data shows. The coverage tests at the end
fail when a route exists that is in neither table (nor in NOT_BRANCH_DATA with the reason), so a new page or
endpoint cannot ship without its isolation test."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.api import api
from huifang.audit.models import AuditEntry
from huifang.customers.imports.runs import imports_root
from huifang.customers.models import ContactPoint, Customer, ImportRun, ImportStatus
from huifang.lib.fieldcrypt import field_cipher
from huifang.lib.masking import mask_id_number
from huifang.org.choices import Role
from huifang.org.models import Branch, Department, Team, User
from huifang.org.services import create_api_client


@dataclass
class World:
    branch_a: Branch
    branch_b: Branch
    hq_user: User
    user_b: User  # a branch B operator: has every view permission a branch user can have
    person_a: User
    team_a: Team
    department_a: Department
    customer_a: Customer
    phone_a: ContactPoint


ID_NO_A = "31011519900307123X"


@pytest.fixture
def world(hq: Branch, branch_a: Branch, branch_b: Branch, hq_supervisor: User, make_user: Callable[..., User]) -> World:
    team_a = Team.objects.create(branch=branch_a, name="浦东二组")
    department_a = Department.objects.create(branch=branch_a, code="PD-OPS", name="浦东运营部")
    person_a = make_user(branch_a, Role.AGENT, username="person_a", name="浦东张三", team=team_a)
    user_b = make_user(branch_b, Role.BRANCH_OPERATOR, username="operator_b")
    customer_a = Customer.objects.create(customer_no="0031019990001", name="浦东李四", branch=branch_a,
                                         open_date=date(2025, 1, 6), id_type="id_card",
                                         id_no_encrypted=field_cipher().encrypt(ID_NO_A),
                                         id_no_masked=mask_id_number(ID_NO_A),
                                         id_no_hash=field_cipher().lookup_hash(ID_NO_A))
    phone_a = ContactPoint.objects.create(customer=customer_a, kind="mobile", number="13900001111")
    _import_run_of(branch_a, person_a)
    _questionnaire_of(branch_a, hq_supervisor)
    _callback_of(customer_a)
    _project_of(branch_a, person_a)
    _subscription_of(branch_a, hq_supervisor)
    _correction_of(customer_a, phone_a)
    return World(branch_a, branch_b, hq_supervisor, user_b, person_a, team_a, department_a, customer_a, phone_a)


IMPORT_FILE_A = "浦东客户资料.csv"


def _import_run_of(branch: Branch, user: User) -> ImportRun:
    """A finished import of `branch` with a rejects file (the import page lists it, opens it, serves the file)."""
    run = ImportRun.objects.create(kind="customers", file_name=IMPORT_FILE_A, stored_file="a/upload.csv",
                                   status=ImportStatus.DONE, read_count=1, rejected_count=1,
                                   rejects_file=f"isolation-{branch.pk}/rejects.csv", created_by=user, branch=branch)
    target = imports_root() / run.rejects_file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("客户编号,行号,错误原因\n0031019990002,2,营业部不存在\n", encoding="utf-8-sig")
    return run


def _import_run_a(world: World) -> dict[str, Any]:
    return {"run_id": ImportRun.objects.get(file_name=IMPORT_FILE_A, branch=world.branch_a).pk}


QUESTIONNAIRE_A = "浦东开户回访问卷"


def _questionnaire_of(branch: Branch, user: User) -> None:
    """A questionnaire owned by `branch` (the designer lists, opens, previews and exports it)."""
    from huifang.surveys.services import create_questionnaire

    create_questionnaire(actor=user, code=f"pd_{branch.code}", name=QUESTIONNAIRE_A, owner_branch=branch,
                         questions=[{"code": "Q1", "kind": "yes_no", "text": "是否本人"}])


def _questionnaire_a(world: World) -> dict[str, Any]:
    from huifang.surveys.models import Questionnaire

    return {"questionnaire_id": Questionnaire.objects.get(name=QUESTIONNAIRE_A).pk}


def _callback_of(customer: Customer) -> None:
    """An open, overdue callback of the customer's branch (list, deadline views, detail, API); overdue needs no
    calendar."""
    from huifang.callbacks.services import create_callback
    from huifang.campaigns.models import CallbackType

    create_callback(customer=customer, callback_type=CallbackType.objects.get(code="risk_aml"), origin="api",
                    reason="isolation", due=date(2026, 1, 5), period="isolation", today=date(2026, 1, 5))


def _callback_a(world: World) -> dict[str, Any]:
    from huifang.callbacks.models import Callback

    return {"callback_id": Callback.objects.get(customer=world.customer_a).pk}


PROJECT_A = "浦东年末满意度项目"


def _project_of(branch: Branch, user: User) -> None:
    """A manual project of `branch` (the project pages and API list and open it)."""
    from django.utils import timezone

    from huifang.callbacks.projects import create_project
    from huifang.campaigns.models import CallbackType

    today = timezone.localdate()
    create_project(name=PROJECT_A, callback_type=CallbackType.objects.get(code="satisfaction"), period_start=today,
                   period_end=today + timedelta(days=30), branch=branch, owner=user)


SUBSCRIPTION_A = "浦东日报订阅"


def _subscription_of(branch: Branch, by: User) -> None:
    from huifang.reports.models import ReportSubscription

    ReportSubscription.objects.create(name=SUBSCRIPTION_A, report_code="daily", frequency="daily", branch=branch,
                                      recipients="boss@example.com", created_by=by)


def _subscription_a(world: World) -> dict[str, Any]:
    from huifang.reports.models import ReportSubscription

    return {"subscription_id": ReportSubscription.objects.get(name=SUBSCRIPTION_A).pk}


def _project_a(world: World) -> dict[str, Any]:
    from huifang.campaigns.models import Project

    return {"project_id": Project.objects.get(name=PROJECT_A).pk}


def _correction_of(customer: Customer, phone: ContactPoint) -> None:
    """An open contact correction of the customer's branch (the correction list shows it)."""
    from django.utils import timezone

    from huifang.calls.models import ContactCorrection

    ContactCorrection.objects.create(branch=customer.branch, customer=customer, phone=phone,
                                     phone_masked=phone.masked_number, kind="invalid", outcome="invalid_number",
                                     found_at=timezone.now())


def _call_a(world: World) -> dict[str, Any]:
    """A finished call of branch A with its recording (the call page and API, playback and download)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from huifang.calls.models import Call, CallRecording
    from huifang.calls.services import recording_storage

    call, _ = Call.objects.get_or_create(serial="C20260105000001", defaults={
        "agent": world.person_a, "customer": world.customer_a, "phone": world.phone_a,
        "phone_masked": world.phone_a.masked_number, "branch": world.branch_a, "state": "ended",
        "dialed_at": timezone.now(), "ended_at": timezone.now()})
    if not CallRecording.objects.filter(call=call).exists():
        key = recording_storage().save(f"isolation/{call.serial}.wav", ContentFile(b"RIFF0000WAVE"))
        CallRecording.objects.create(call=call, storage_key=key, duration_seconds=1, size=12, sha256="0" * 64,
                                     created_at=timezone.now())
    return {"serial": call.serial}


def _attachment_a(world: World) -> dict[str, Any]:
    """A scanned paper questionnaire attached to branch A's callback (calls:attachment shows it)."""
    import io

    from huifang.callbacks.models import Callback
    from huifang.calls.models import Attachment
    from huifang.calls.services import attach_file

    attachment = Attachment.objects.first() or attach_file(
        callback=Callback.objects.get(customer=world.customer_a), by=world.person_a, name="纸质问卷.pdf",
        source=io.BytesIO(b"%PDF-1.4\n%%EOF"))
    return {"attachment_id": attachment.pk}


# route name (pages) or API path -> the URL parameters naming an object of branch A (read with GET)
OBJECT_ROUTES: dict[str, Callable[[World], dict[str, Any]]] = {
    "customers:detail": lambda w: {"customer_no": w.customer_a.customer_no},
    "/api/v1/customers/{customer_no}": lambda w: {"customer_no": w.customer_a.customer_no},
    "org:user": lambda w: {"user_id": w.person_a.pk},
    "org:branch": lambda w: {"branch_id": w.branch_a.pk},
    "dashboards:branch": lambda w: {"branch_id": w.branch_a.pk},
    "/api/v1/org/users/{user_id}": lambda w: {"user_id": w.person_a.pk},
    "/api/v1/org/branches/{branch_id}": lambda w: {"branch_id": w.branch_a.pk},
    "/api/v1/org/teams/{team_id}": lambda w: {"team_id": w.team_a.pk},
    "/api/v1/org/departments/{department_id}": lambda w: {"department_id": w.department_a.pk},
    "imports:run": _import_run_a,
    "imports:rejects": _import_run_a,
    "surveys:designer": _questionnaire_a,
    "surveys:preview": _questionnaire_a,
    "surveys:export": _questionnaire_a,
    "callbacks:detail": _callback_a,
    "/api/v1/callbacks/{callback_id}": _callback_a,
    "projects:detail": _project_a,
    "/api/v1/projects/{project_id}": _project_a,
    "calls:detail": _call_a,
    "calls:recording": _call_a,
    "calls:recording_download": _call_a,
    "/api/v1/calls/{serial}": _call_a,
    "calls:attachment": _attachment_a,
    "subscriptions:edit": _subscription_a,
}

# routes that act on an object of branch A with POST: same rule, and nothing happens for the outsider
POST_ROUTES: dict[str, Callable[[World], dict[str, Any]]] = {
    "customers:reveal_phone": lambda w: {"customer_no": w.customer_a.customer_no, "phone_id": w.phone_a.pk},
    "/api/v1/customers/{customer_no}/phones/{phone_id}/reveal": lambda w: {
        "customer_no": w.customer_a.customer_no, "phone_id": w.phone_a.pk},
    "customers:reveal_id": lambda w: {"customer_no": w.customer_a.customer_no},
    "/api/v1/customers/{customer_no}/id-number/reveal": lambda w: {"customer_no": w.customer_a.customer_no},
}

# list route -> text that appears only with branch A's data
LIST_ROUTES: dict[str, str] = {
    "customers:list": "浦东李四",
    "/api/v1/customers": "浦东李四",
    "org:users": "浦东张三",
    "org:branches": "上海浦东营业部",
    "home": "上海浦东营业部",
    "/api/v1/org/users": "浦东张三",
    "/api/v1/org/branches": "上海浦东营业部",
    "/api/v1/org/teams": "浦东二组",
    "/api/v1/org/departments": "浦东运营部",
    "imports:index": IMPORT_FILE_A,
    "surveys:list": QUESTIONNAIRE_A,
    "callbacks:list": "浦东李四",
    "callbacks:deadlines": "上海浦东营业部",
    "/api/v1/callbacks": "0031019990001",
    "projects:list": PROJECT_A,
    "/api/v1/projects": PROJECT_A,
    "calls:corrections": "0031019990001",
    "subscriptions:list": SUBSCRIPTION_A,
}

#: the dashboards and filings: role-gated pages, scoped lists and POSTs this module's tables cannot express
DASHBOARD_TESTS = "covered by reports/tests/test_dashboards.py and test_quarterly.py"
#: the report pages and exports: a report code and a ?branch= parameter, not an object id
REPORT_TESTS = ("covered by reports/tests/test_report_pages.py and test_report_api.py (another branch 404, "
                "figures of the own branch only)")

# routes that hold no branch data, with the reason
NOT_BRANCH_DATA: dict[str, str] = {
    "login": "the login form",
    "logout": "ends the own session",
    "set_language": "the own language choice",
    "dashboards:index": DASHBOARD_TESTS,
    "dashboards:hq": DASHBOARD_TESTS,
    "dashboards:me": DASHBOARD_TESTS,
    "dashboards:filings": DASHBOARD_TESTS,
    "dashboards:file_quarterly": DASHBOARD_TESTS,
    "dashboards:approve_quarterly": DASHBOARD_TESTS,
    "reports:index": "the catalogue of reports: names and descriptions, no figures",
    "reports:page": REPORT_TESTS,
    "reports:excel": REPORT_TESTS,
    "reports:pdf": REPORT_TESTS,
    "subscriptions:create": "makes a subscription of a branch the user sees (reports/tests/test_subscription_pages.py)",
    "subscriptions:disable": "POST on a subscription: another branch 404 in reports/tests/test_subscription_pages.py",
    "subscriptions:send": "POST on a subscription: another branch 404 in reports/tests/test_subscription_pages.py",
    "/api/v1/reports": "the catalogue of reports: names and descriptions, no figures",
    "/api/v1/reports/{code}": REPORT_TESTS,
    "audit:search": "HQ and auditors only (permission test in audit/tests)",
    "/api/v1/audit/entries": "HQ and auditors only (permission test in audit/tests)",
    "/api/v1/org/me": "the own user",
    "org:api_clients": "HQ administrators only (permission tests in org/tests/test_api_client_pages.py)",
    "org:api_client_create": "HQ administrators only (permission tests in org/tests/test_api_client_pages.py)",
    "org:api_client_rotate": "HQ administrators only (permission tests in org/tests/test_api_client_pages.py)",
    "org:api_client_deactivate": "HQ administrators only (permission tests in org/tests/test_api_client_pages.py)",
    "/api/v1/openapi.json": "the API's description",
    "/api/v1/customers/batch": "POST with a body: branch limits in customers/tests/test_import_api.py",
    "/api/v1/questionnaires": "company and branch questionnaires: isolation in surveys/tests/test_api.py",
    "/api/v1/questionnaires/{code}": "company and branch questionnaires: isolation in surveys/tests/test_api.py",
    "/api/v1/questionnaires/{code}/versions/{number}": "isolation in surveys/tests/test_api.py",
    "/api/v1/responses/{response_id}": "through the customer's branch: isolation in surveys/tests/test_api.py",
    "surveys:start": "a form; the customer is access-checked (surveys/tests/test_respond.py)",
    "surveys:copy": "copies a visible template into the own branch: surveys/tests/test_copy.py",
    "surveys:properties": "a POST on a designable questionnaire: surveys/tests/test_copy.py",
    "surveys:statistics": "counts only visible customers' answers: surveys/tests/test_statistics.py",
    "surveys:respond": "through the customer's branch: isolation in surveys/tests/test_respond.py",
    "surveys:answer": "through the customer's branch: isolation in surveys/tests/test_respond.py",
    "surveys:finish": "through the customer's branch: isolation in surveys/tests/test_respond.py",
    "/api/v1/events/batch": "POST with a body: branch limits in customers/tests/test_import_api.py",
    "/api/v1/docs": "the API's description",
    "calendars:index": "the national calendar is the same for every branch",
    "calendars:set_day": "the national calendar (administrators only)",
    "calendars:clear_day": "the national calendar (administrators only)",
    "calendars:cover_year": "the national calendar (administrators only)",
    "calendars:import_year": "the national calendar (administrators only)",
    "imports:upload": "imports into the own branch only (customers/tests/test_import_page.py)",
    "imports:mapping": "a waiting upload of the own session only (customers/tests/test_import_page.py)",
    "surveys:create": "creates a questionnaire of the own branch (surveys/tests/test_designer.py)",
    "surveys:import": "creates or drafts a questionnaire of the own branch (surveys/tests/test_designer.py)",
    "surveys:save": "POST on a questionnaire: 404 for another branch's in surveys/tests/test_designer.py",
    "callbacks:rules": "the company-wide catalogue; a branch sees its own run counts (callbacks/tests/test_queries.py)",
    "callbacks:run_rules": "HQ only (callbacks.add_rulerun): callbacks/tests/test_pages.py",
    "callbacks:explain_rule": "the customer is access-checked, 404 otherwise: callbacks/tests/test_pages.py",
    "callbacks:referral": "visible customers only: branch limits in callbacks/tests/test_pages.py",
    "/api/v1/callbacks/risk-referral": "POST with a body: another branch's customer answers 404 in "
                                       "callbacks/tests/test_api.py",
    "/api/v1/rules/run": "a company-wide run, HQ supervisors and administrators only (callbacks/tests/test_api.py)",
    "projects:create": "creates a project of a visible branch only (callbacks/tests/test_project_pages.py)",
    "projects:assign": "POST on a project: 404 for another branch's in callbacks/tests/test_project_pages.py",
    "projects:reassign": "POST on a project: 404 for another branch's in callbacks/tests/test_project_pages.py",
    "projects:cancel": "POST on a project: 404 for another branch's in callbacks/tests/test_project_pages.py",
    "/api/v1/projects/{project_id}/assignments": "POST with a body: 404 for another branch's project in "
                                                 "callbacks/tests/test_project_api.py",
    "/api/v1/agents/me/next": "the agent's own queue: only the own branch's callbacks (HQ agents every branch), "
                              "in callbacks/tests/test_queue.py",
    "calls:corrections_export": "the same rows as calls:corrections, as XLSX: calls/tests/test_pages.py",
    "calls:workbench": "the agent's own panel: the queue's own branch only (calls/tests/test_workbench.py)",
    "calls:workbench_next": "the own queue: another branch's callback never shows (calls/tests/test_workbench.py)",
    "calls:workbench_release": "hands back only the agent's own held callbacks (calls/tests/test_workbench.py)",
    "calls:workbench_dial": "dials only the agent's own held callbacks' customer (calls/tests/test_workbench.py)",
    "calls:workbench_events": "the agent's own count and call (calls/tests/test_workbench.py)",
    "calls:workbench_call": "the agent's own call only, 404 otherwise (calls/tests/test_workbench.py)",
    "calls:workbench_hangup": "the agent's own call only, 404 otherwise (calls/tests/test_workbench.py)",
    "calls:workbench_answer": "a callback of the own panel only, 404 otherwise (calls/tests/test_workbench.py)",
    "calls:workbench_finish": "a callback of the own panel only, 404 otherwise (calls/tests/test_workbench.py)",
    "calls:workbench_outcome": "a callback of the own panel only, 404 otherwise (calls/tests/test_workbench.py)",
    "calls:workbench_confirm": "a callback of the own panel only, 404 otherwise (calls/tests/test_workbench.py)",
    "/api/v1/calls": "POST with a body: another branch's customer or callback answers 404 in calls/tests/test_api.py",
    "/api/v1/callbacks/{callback_id}/outcome": "POST with a body: another branch's callback or call answers 404 in "
                                               "calls/tests/test_api.py",
    "calls:workbench_attach": "a callback of the own panel only, 404 otherwise (calls/tests/test_attachment_routes.py)",
    "/api/v1/callbacks/{callback_id}/attachments": "POST with a file: another branch's callback answers 404 in "
                                                   "calls/tests/test_attachment_routes.py",
}
CALENDAR_PREFIX = "/api/v1/calendar/"  # the national calendar holds no branch data


def _page_routes(resolver: URLResolver | None = None, namespace: str = "") -> Iterator[tuple[str, str]]:
    """(name, route) of every named page outside the admin site and the API."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            prefix = str(entry.pattern)
            if prefix.startswith(("manage/", "api/")):
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _page_routes(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", str(entry.pattern)


def _api_paths() -> list[str]:
    return [*api.get_openapi_schema()["paths"], "/api/v1/openapi.json"]


def _clients(world: World) -> tuple[Client, Client]:
    """(a user of branch B, an HQ user), both logged in."""
    outsider, insider = Client(), Client()
    outsider.force_login(world.user_b)
    insider.force_login(world.hq_user)
    return outsider, insider


def _url(route: str, params: dict[str, Any]) -> str:
    if route.startswith("/"):
        return route.format(**params)
    return reverse(route, kwargs=params)


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
def test_user_of_another_branch_gets_not_found_and_hq_sees_it(world: World, route: str) -> None:
    url = _url(route, OBJECT_ROUTES[route](world))
    outsider, insider = _clients(world)
    assert outsider.get(url).status_code == 404, url
    assert insider.get(url).status_code == 200, url


@pytest.mark.parametrize("route", sorted(POST_ROUTES))
def test_user_of_another_branch_cannot_act_on_it_and_nothing_is_recorded(world: World, route: str) -> None:
    url = _url(route, POST_ROUTES[route](world))
    outsider, insider = _clients(world)
    assert outsider.post(url).status_code == 404, url
    assert not AuditEntry.objects.filter(action="reveal").exists()
    assert insider.post(url).status_code == 200, url
    assert AuditEntry.objects.filter(action="reveal", actor_name=world.hq_user.username).count() == 1


@pytest.mark.parametrize("route", sorted(LIST_ROUTES))
def test_lists_show_another_branch_nothing_and_hq_everything(world: World, route: str) -> None:
    url = route if route.startswith("/") else reverse(route)
    outsider, insider = _clients(world)
    hidden = outsider.get(url)
    assert hidden.status_code == 200, url
    assert LIST_ROUTES[route] not in hidden.content.decode(), url
    assert LIST_ROUTES[route] in insider.get(url).content.decode(), url


def test_a_missing_object_answers_exactly_like_a_forbidden_one(world: World) -> None:
    client = Client()
    client.force_login(world.user_b)
    forbidden = client.get(f"/api/v1/org/users/{world.person_a.pk}")
    missing = client.get("/api/v1/org/users/987654")
    assert (forbidden.status_code, forbidden.json()) == (missing.status_code, missing.json())


def test_every_page_is_covered_by_an_isolation_test() -> None:
    known = set(OBJECT_ROUTES) | set(POST_ROUTES) | set(LIST_ROUTES) | set(NOT_BRANCH_DATA)
    missing = [name for name, _ in _page_routes() if name not in known]
    assert missing == [], f"pages without a branch isolation case: {missing}"


def test_every_api_endpoint_is_covered_by_an_isolation_test() -> None:
    known = set(OBJECT_ROUTES) | set(POST_ROUTES) | set(LIST_ROUTES) | set(NOT_BRANCH_DATA)
    missing = [path for path in _api_paths() if path not in known and not path.startswith(CALENDAR_PREFIX)]
    assert missing == [], f"API endpoints without a branch isolation case: {missing}"


def test_branch_staff_in_the_admin_site_see_only_their_branch(world: World, make_user: Callable[..., User]) -> None:
    staff_b = make_user(world.branch_b, Role.ADMIN, username="admin_b")
    client = Client()
    client.force_login(staff_b)
    listing = client.get("/manage/org/user/")
    assert listing.status_code == 200
    assert "person_a" not in listing.content.decode()
    response = client.get(f"/manage/org/user/{world.person_a.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" answer
    assert client.get(f"/manage/org/team/{world.team_a.pk}/change/").status_code == 302


def _api_client_of_branch_b(world: World) -> Client:
    """An API client limited to branch B, with every scope."""
    _, token = create_api_client(name="crm-b", branches=[world.branch_b])
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("route", sorted(r for r in {*OBJECT_ROUTES, *POST_ROUTES} if r.startswith("/api/")))
def test_an_api_client_of_another_branch_reaches_no_object_of_branch_a(world: World, route: str) -> None:
    params = (OBJECT_ROUTES.get(route) or POST_ROUTES[route])(world)
    api = _api_client_of_branch_b(world)
    response = api.post(_url(route, params)) if route in POST_ROUTES else api.get(_url(route, params))
    assert response.status_code in (403, 404), route  # 403: the route grants API clients no scope
    assert not AuditEntry.objects.filter(action="reveal").exists()


@pytest.mark.parametrize("route", sorted(r for r in LIST_ROUTES if r.startswith("/api/")))
def test_an_api_client_of_another_branch_lists_nothing_of_branch_a(world: World, route: str) -> None:
    response = _api_client_of_branch_b(world).get(route)
    assert response.status_code in (200, 403), route
    assert LIST_ROUTES[route] not in response.content.decode(), route
