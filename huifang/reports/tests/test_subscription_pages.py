"""The subscription pages (/reports/subscriptions/): who may manage them (403 for others), a branch's operator
sees and touches only their branch's (404 for another's), bad input is refused with 422 naming the field and
saves nothing, and 立即发送 mails the last complete period once through a real SMTP server and shows the result."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page

from huifang.audit.models import AuditEntry
from huifang.conftest import PASSWORD
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.reports import delivery
from huifang.reports.models import ReportSubscription
from huifang.reports.tests.test_delivery import SmtpServer, smtp  # noqa: F401  (the fixture)
from huifang.tests.browser import log_in

HTMX = {"HX-Request": "true"}


def _subscription(by: User, branch: Branch | None, name: str, **extra: Any) -> ReportSubscription:
    return delivery.create_subscription(data={
        "name": name, "report_code": "daily", "frequency": extra.pop("frequency", "daily"), "branch": branch,
        "recipients": extra.pop("recipients", "boss@example.com"), "attach_excel": True, "attach_pdf": False,
        "is_enabled": True}, by=by)


@pytest.fixture
def three(hq_supervisor: User, branch_a: Branch, branch_b: Branch) -> dict[str, ReportSubscription]:
    return {"all": _subscription(hq_supervisor, None, "全辖日报"),
            "a": _subscription(hq_supervisor, branch_a, "浦东日报"),
            "b": _subscription(hq_supervisor, branch_b, "天河日报")}


def _form(**values: Any) -> dict[str, Any]:
    return {"name": "浦东周报", "report_code": "daily", "frequency": "weekly", "recipients": "a@example.com",
            "attach_excel": "on", "is_enabled": "on", **values}


@pytest.mark.django_db
def test_the_hq_supervisor_sees_every_subscription_and_a_branch_operator_only_their_branchs(
        login: Callable[[User], Client], three: dict[str, ReportSubscription], hq_supervisor: User,
        operator_a: User) -> None:
    page = login(hq_supervisor).get(reverse("subscriptions:list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert all(name in text for name in ("全辖日报", "浦东日报", "天河日报"))

    text = login(operator_a).get(reverse("subscriptions:list")).content.decode()
    assert "浦东日报" in text and "天河日报" not in text and "全辖日报" not in text
    # the branch choice offers their own branch only, and no "every branch"
    assert "广州天河营业部" not in text and "全部营业部</option>" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.AUDITOR, Role.QA_INSPECTOR])
def test_roles_that_do_not_manage_subscriptions_get_403(
        login: Callable[[User], Client], make_user: Callable[..., User], branch_a: Branch,
        three: dict[str, ReportSubscription], role: str) -> None:
    client = login(make_user(branch_a, role))
    mine = three["a"].pk
    assert client.get(reverse("subscriptions:list")).status_code == 403
    assert client.post(reverse("subscriptions:create"), _form(branch=branch_a.pk)).status_code == 403
    assert client.get(reverse("subscriptions:edit", args=[mine])).status_code == 403
    assert client.post(reverse("subscriptions:disable", args=[mine])).status_code == 403
    assert client.post(reverse("subscriptions:send", args=[mine])).status_code == 403
    assert ReportSubscription.objects.count() == 3 and ReportSubscription.objects.get(pk=mine).is_enabled


@pytest.mark.django_db
def test_another_branchs_subscription_or_one_of_every_branch_is_404_for_a_branch_operator(
        login: Callable[[User], Client], three: dict[str, ReportSubscription], operator_a: User,
        hq_supervisor: User, branch_a: Branch) -> None:
    client = login(operator_a)
    for key in ("b", "all"):
        pk = three[key].pk
        assert client.get(reverse("subscriptions:edit", args=[pk])).status_code == 404
        assert client.post(reverse("subscriptions:edit", args=[pk]), _form(branch=branch_a.pk)).status_code == 404
        assert client.post(reverse("subscriptions:disable", args=[pk]), headers=HTMX).status_code == 404
        assert client.post(reverse("subscriptions:send", args=[pk]), headers=HTMX).status_code == 404
    assert ReportSubscription.objects.filter(is_enabled=True).count() == 3
    assert ReportSubscription.objects.get(pk=three["b"].pk).name == "天河日报"
    assert not AuditEntry.objects.filter(actor=operator_a).exclude(action="login").exists()
    # HQ opens every one of them
    hq = login(hq_supervisor)
    assert all(hq.get(reverse("subscriptions:edit", args=[s.pk])).status_code == 200 for s in three.values())


@pytest.mark.django_db
def test_a_branch_operator_creates_a_subscription_of_their_branch_as_its_creator(
        login: Callable[[User], Client], operator_a: User, branch_a: Branch) -> None:
    response = login(operator_a).post(reverse("subscriptions:create"),
                                      _form(branch=branch_a.pk, recipients="a@example.com，b@example.com"))
    assert response.status_code == 302
    created = ReportSubscription.objects.get()
    assert (created.name, created.branch_id, created.frequency, created.created_by_id) == (
        "浦东周报", branch_a.pk, "weekly", operator_a.pk)
    assert created.recipients == "a@example.com\nb@example.com"
    assert (created.attach_excel, created.attach_pdf) == (True, False)
    assert AuditEntry.objects.filter(action="create", object_id=str(created.pk), actor=operator_a).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("values", "field", "says"), [
    ({"recipients": "good@example.com\nboss@@example"}, "recipients", "收件人地址无效：boss@@example"),
    ({"recipients": " "}, "recipients", "必填"),
    ({"attach_excel": ""}, "attach_excel", "请至少选择一种附件"),
    ({"frequency": "hourly"}, "frequency", "hourly"),
    ({"report_code": "nonesuch"}, "report_code", "nonesuch"),
    ({"name": ""}, "name", ""),
])
def test_bad_input_is_refused_with_422_naming_the_field_and_nothing_is_saved(
        login: Callable[[User], Client], operator_a: User, branch_a: Branch, values: dict[str, str], field: str,
        says: str) -> None:
    response = login(operator_a).post(reverse("subscriptions:create"), _form(branch=branch_a.pk, **values))
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors
    assert says in " ".join(form.errors[field])
    assert ReportSubscription.objects.count() == 0


@pytest.mark.django_db
def test_a_branch_operator_may_not_choose_another_branch_or_every_branch(
        login: Callable[[User], Client], operator_a: User, branch_b: Branch) -> None:
    client = login(operator_a)
    assert client.post(reverse("subscriptions:create"), _form(branch=branch_b.pk)).status_code == 422
    response = client.post(reverse("subscriptions:create"), _form(branch=""))
    assert response.status_code == 422 and "branch" in response.context["form"].errors
    assert ReportSubscription.objects.count() == 0


@pytest.mark.django_db
def test_editing_saves_the_changes_keeps_the_creator_and_a_bad_address_is_422(
        login: Callable[[User], Client], three: dict[str, ReportSubscription], operator_a: User,
        hq_supervisor: User, branch_a: Branch) -> None:
    client = login(operator_a)
    mine = three["a"]
    page = client.get(reverse("subscriptions:edit", args=[mine.pk]))
    assert page.status_code == 200 and "浦东日报" in page.content.decode()

    bad = client.post(reverse("subscriptions:edit", args=[mine.pk]),
                      _form(branch=branch_a.pk, recipients="x@example.com, y@"))
    assert bad.status_code == 422 and "收件人地址无效：y@" in bad.content.decode()
    mine.refresh_from_db()
    assert mine.recipients == "boss@example.com"

    ok = client.post(reverse("subscriptions:edit", args=[mine.pk]),
                     _form(name="浦东月报", frequency="monthly", branch=branch_a.pk, recipients="x@example.com"))
    assert ok.status_code == 302
    mine.refresh_from_db()
    assert (mine.name, mine.frequency, mine.recipients, mine.created_by_id) == (
        "浦东月报", "monthly", "x@example.com", hq_supervisor.pk)
    entry = AuditEntry.objects.get(action="update", object_id=str(mine.pk))
    assert entry.changes["frequency"] == ["daily", "monthly"]


@pytest.mark.django_db
def test_disabling_swaps_the_row_and_the_schedule_skips_it(
        login: Callable[[User], Client], three: dict[str, ReportSubscription], operator_a: User) -> None:
    response = login(operator_a).post(reverse("subscriptions:disable", args=[three["a"].pk]), headers=HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert f'id="subscription-{three["a"].pk}"' in text and "已停用" in text and "立即发送" not in text
    assert not ReportSubscription.objects.get(pk=three["a"].pk).is_enabled
    assert AuditEntry.objects.filter(action="deactivate", object_id=str(three["a"].pk)).exists()


@pytest.mark.django_db
def test_send_now_mails_the_last_complete_period_once_and_shows_the_result(
        smtp: SmtpServer, login: Callable[[User], Client], operator_a: User,  # noqa: F811
        branch_a: Branch) -> None:
    mine = _subscription(operator_a, branch_a, "浦东日报", recipients="boss@example.com")
    client = login(operator_a)

    first = client.post(reverse("subscriptions:send", args=[mine.pk]), headers=HTMX)
    assert first.status_code == 200
    assert 'data-result="sent"' in first.content.decode()
    assert "发送给 1 位收件人：boss@example.com" in first.content.decode()
    [(recipients, _)] = smtp.inbox.received
    assert recipients == ["boss@example.com"]
    [message] = smtp.inbox.messages()
    assert message["subject"].startswith("【回访】回访日报 ") and message["subject"].endswith("（上海浦东营业部）")
    entry = AuditEntry.objects.get(action="mail_report", object_id=str(mine.pk))
    assert entry.actor_id == operator_a.pk

    again = client.post(reverse("subscriptions:send", args=[mine.pk]), headers=HTMX)
    assert 'data-result="already_sent"' in again.content.decode() and "不再重复发送" in again.content.decode()
    assert len(smtp.inbox.received) == 1

    # the list shows the period sent
    mine.refresh_from_db()
    assert mine.last_period_key in client.get(reverse("subscriptions:list")).content.decode()


@pytest.mark.django_db
def test_send_now_shows_an_smtp_failure_and_keeps_it_on_the_row(
        smtp: SmtpServer, login: Callable[[User], Client], hq_supervisor: User) -> None:  # noqa: F811
    subscription = _subscription(hq_supervisor, None, "全辖日报", recipients="gone@example.com")
    smtp.inbox.refused.add("gone@example.com")

    response = login(hq_supervisor).post(reverse("subscriptions:send", args=[subscription.pk]), headers=HTMX)

    text = response.content.decode()
    assert response.status_code == 200 and 'data-result="failed"' in text and "SMTPRecipientsRefused" in text
    subscription.refresh_from_db()
    assert subscription.last_period_key == "" and "SMTPRecipientsRefused" in subscription.last_error
    assert "data-last-error" in login(hq_supervisor).get(reverse("subscriptions:list")).content.decode()


# --- in a browser -------------------------------------------------------------------------------------------------

@pytest.fixture
def browser_page(page: Page) -> Iterator[Page]:
    page.set_default_timeout(15_000)
    yield page


@pytest.mark.browser
def test_a_branch_operator_subscribes_in_a_browser_and_sends_the_report_now(
        shipped_data: None, live_server: Any, browser_page: Page, smtp: SmtpServer,  # noqa: F811
        operator_a: User, branch_a: Branch) -> None:
    page = browser_page
    log_in(page, live_server.url, operator_a.username, PASSWORD)
    page.goto(f"{live_server.url}/reports/subscriptions/")
    assert page.inner_text("h1") == "报表订阅"

    page.fill("#id_name", "浦东日报")
    page.select_option("#id_frequency", "daily")
    page.fill("#id_recipients", "boss@example.com\nnot-an-address")
    page.click("#subscription-create-form button[type=submit]")
    assert "收件人地址无效：not-an-address" in page.inner_text("[data-field=recipients]")

    page.fill("#id_recipients", "boss@example.com")
    page.click("#subscription-create-form button[type=submit]")
    page.wait_for_selector("#subscriptions tr[data-subscription]")
    created = ReportSubscription.objects.get()
    assert created.branch_id == branch_a.pk and created.created_by_id == operator_a.pk

    page.click(f"#subscription-{created.pk} >> text=立即发送")
    page.wait_for_selector(f"#subscription-{created.pk} [data-result=sent]")
    assert "boss@example.com" in page.inner_text(f"#subscription-{created.pk} [data-result]")
    assert len(smtp.inbox.received) == 1
    page.screenshot(path="/tmp/huifang-subscriptions.png", full_page=True)
