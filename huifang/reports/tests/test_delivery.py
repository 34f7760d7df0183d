"""Scheduled delivery of reports (定时发送) through a real SMTP server on loopback (aiosmtpd): daily, weekly and
monthly subscriptions each mail their last complete period with the Excel and PDF attached, once; an SMTP
failure is recorded and retried; the report is the creator's view (branch A's user mails branch A only)."""

import datetime as dt
import email
import email.policy
import io
import socket
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook

from huifang.audit.models import AuditEntry
from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, OutcomeCode
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.reports import delivery
from huifang.reports.jobs import deliver_reports
from huifang.reports.models import ReportSubscription
from huifang.reports.periods import Period, parse_period
from huifang.scheduling.models import ScheduledJob, resolve_task

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
#: a Monday: the daily report mails Sunday 2026-11-01, the weekly 2026-W44 (10-26 … 11-01), the monthly 2026-10
TODAY = dt.date(2026, 11, 2)
#: outcomes per branch code and local day: each period of the test has its own total
PLAN = {"3101": {dt.date(2026, 10, 15): 3, dt.date(2026, 10, 27): 2, dt.date(2026, 11, 1): 4, TODAY: 1},
        "4401": {dt.date(2026, 10, 15): 5, dt.date(2026, 10, 27): 1, dt.date(2026, 11, 1): 2, TODAY: 3}}


class Inbox:
    """An aiosmtpd handler keeping every message it accepts; refuses the recipients in `refused`."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(content, policy=email.policy.default)
                for _, content in self.received]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self, settings: Any) -> None:
        self.inbox = Inbox()
        self.port = _free_port()
        self.controller: Controller | None = None
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                        "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 10}}}
        settings.DEFAULT_FROM_EMAIL = "huifang@example.com"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    server = SmtpServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outcomes(branch_a: Branch, branch_b: Branch, agent_a: User, agent_b: User) -> list[CallCallback]:
    """The outcomes of PLAN as raw rows, the roll-ups rebuilt from them."""
    callback_type = CallbackType.objects.order_by("code")[0]
    success = OutcomeCode.objects.get(code="success")
    links = []
    n = 0
    for branch, agent in ((branch_a, agent_a), (branch_b, agent_b)):
        for day, count in PLAN[branch.code].items():
            for _ in range(count):
                n += 1
                moment = dt.datetime.combine(day, dt.time(10, n % 50), tzinfo=SHANGHAI)
                customer = Customer.objects.create(customer_no=f"{branch.code}{n:09d}", name="客户", branch=branch)
                callback = Callback.objects.create(customer=customer, callback_type=callback_type, period_key="t",
                                                   branch=branch, due_date=day, created_at=moment,
                                                   updated_at=moment)
                call = Call.objects.create(serial=f"D{n:07d}", agent=agent, customer=customer,
                                           phone_masked="138****0000", branch=branch, state="ended",
                                           dialed_at=moment, answered_at=moment, duration_seconds=60,
                                           ended_at=moment + dt.timedelta(seconds=90))
                links.append(CallCallback.objects.create(call=call, callback=callback, outcome=success,
                                                         registered_at=moment + dt.timedelta(seconds=95),
                                                         registered_by=agent))
    rollups.rebuild()
    return links


def _expected(period: Period, branch_code: str | None = None) -> int:
    return sum(count for code, days in PLAN.items() if branch_code in (None, code)
               for day, count in days.items() if period.contains(day))


def _subscribe(user: User, frequency: str, *, branch: Branch | None = None, recipients: str = "boss@example.com",
               **extra: Any) -> ReportSubscription:
    return delivery.create_subscription(data={
        "name": f"{frequency} 订阅", "report_code": "daily", "frequency": frequency, "branch": branch,
        "recipients": recipients, "attach_excel": extra.pop("attach_excel", True),
        "attach_pdf": extra.pop("attach_pdf", True), "is_enabled": True, **extra}, by=user)


def _attachments(message: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in message.iter_attachments():
        name = part.get_filename()
        assert name is not None
        found[name] = part.get_content()
    return found


def _workbook_figures(content: bytes) -> tuple[dict[str, Any], dict[str, int]]:
    """The 指标 sheet as {label: value} and the 按营业部 sheet as {branch name: 外呼次数}."""
    book = load_workbook(io.BytesIO(content), read_only=True)
    figures = {row[0]: row[1] for row in book["指标"].iter_rows(min_row=5, values_only=True) if row[0]}
    branches = {row[0]: row[1] for row in book["按营业部"].iter_rows(min_row=5, values_only=True)
                if row[0] and row[0] != "合计" and isinstance(row[1], int)}
    return figures, branches


@pytest.mark.django_db
def test_daily_weekly_and_monthly_subscriptions_each_mail_their_last_complete_period_with_both_files(
        smtp: SmtpServer, outcomes: list[CallCallback], hq_supervisor: User) -> None:
    subscriptions = {frequency: _subscribe(hq_supervisor, frequency, recipients=f"{frequency}@example.com")
                     for frequency in ("daily", "weekly", "monthly")}
    periods = {"daily": parse_period("2026-11-01"), "weekly": parse_period("2026-W44"),
               "monthly": parse_period("2026-10")}
    for frequency, subscription in subscriptions.items():
        assert delivery.due_period(subscription, TODAY) == periods[frequency]

    summary = delivery.deliver_due(TODAY)

    assert sorted(summary.sent) == sorted(s.pk for s in subscriptions.values())
    assert not summary.failed and not summary.refused
    by_recipient = {rcpt[0]: email.message_from_bytes(content, policy=email.policy.default)
                    for rcpt, content in smtp.inbox.received}
    assert set(by_recipient) == {"daily@example.com", "weekly@example.com", "monthly@example.com"}
    titles = {"daily": "回访日报", "weekly": "回访周报", "monthly": "回访月报"}
    for frequency, period in periods.items():
        message = by_recipient[f"{frequency}@example.com"]
        assert message["subject"] == f"【回访】{titles[frequency]} {period.label}"
        assert message["from"] == "huifang@example.com"
        body = message.get_body(preferencelist=("plain",))
        assert body is not None and f"外呼次数：{_expected(period)}" in body.get_content()
        files = _attachments(message)
        assert set(files) == {f"{titles[frequency]}_{period.key}.xlsx", f"{titles[frequency]}_{period.key}.pdf"}
        figures, branches = _workbook_figures(files[f"{titles[frequency]}_{period.key}.xlsx"])
        assert figures["外呼次数"] == f"{_expected(period):,}"
        assert branches == {"上海浦东营业部": _expected(period, "3101"), "广州天河营业部": _expected(period, "4401")}
        assert files[f"{titles[frequency]}_{period.key}.pdf"].startswith(b"%PDF")
        subscription = ReportSubscription.objects.get(pk=subscriptions[frequency].pk)
        assert subscription.last_period_key == period.key
        assert subscription.last_sent_at is not None and subscription.last_error == ""
    entries = AuditEntry.objects.filter(action="mail_report").order_by("id")
    assert [entry.object_id for entry in entries] == [str(s.pk) for s in subscriptions.values()]
    assert entries[0].changes["period"] == "2026-11-01"
    assert entries[0].changes["recipients"] == ["daily@example.com"]


@pytest.mark.django_db
def test_a_period_already_mailed_is_not_mailed_again_and_the_next_period_is(
        smtp: SmtpServer, outcomes: list[CallCallback], hq_supervisor: User) -> None:
    daily = _subscribe(hq_supervisor, "daily", attach_pdf=False)
    weekly = _subscribe(hq_supervisor, "weekly", attach_pdf=False)

    first = delivery.deliver_due(TODAY)
    again = delivery.deliver_due(TODAY)
    message = delivery.deliver(daily.pk, today=TODAY)
    tuesday = delivery.deliver_due(TODAY + dt.timedelta(days=1))

    assert sorted(first.sent) == sorted([daily.pk, weekly.pk])
    assert sorted(again.already_sent) == sorted([daily.pk, weekly.pk]) and not again.sent
    assert "不再重复发送" in message
    # Tuesday: the daily report of Monday goes out; last week was mailed already
    assert tuesday.sent == [daily.pk] and tuesday.already_sent == [weekly.pk]
    mailed = smtp.inbox.messages()
    assert Counter(m["subject"] for m in mailed) == Counter([
        "【回访】回访日报 2026年11月1日", "【回访】回访周报 2026年第44周（10月26日—11月1日）",
        "【回访】回访日报 2026年11月2日"])
    assert set(_attachments(mailed[0])) == {"回访日报_2026-11-01.xlsx"}


@pytest.mark.django_db
def test_an_smtp_failure_is_recorded_does_not_stop_the_others_and_the_next_run_retries(
        smtp: SmtpServer, outcomes: list[CallCallback], hq_supervisor: User) -> None:
    refused = _subscribe(hq_supervisor, "daily", recipients="gone@example.com", attach_pdf=False)
    fine = _subscribe(hq_supervisor, "monthly", recipients="boss@example.com", attach_pdf=False)
    smtp.inbox.refused.add("gone@example.com")

    summary = delivery.deliver_due(TODAY)

    assert summary.sent == [fine.pk] and list(summary.failed) == [refused.pk]
    refused.refresh_from_db()
    assert "SMTPRecipientsRefused" in refused.last_error and "2026年11月1日" in refused.last_error
    assert refused.last_period_key == "" and refused.last_sent_at is None
    assert not AuditEntry.objects.filter(action="mail_report", object_id=str(refused.pk)).exists()

    # the server is down: both fail (the monthly one was already sent and is not tried again)
    smtp.stop()
    down = delivery.deliver_due(TODAY)
    assert list(down.failed) == [refused.pk] and down.already_sent == [fine.pk]
    refused.refresh_from_db()
    assert "ConnectionRefusedError" in refused.last_error

    # back up, the address accepted again: the next run sends the period it missed
    smtp.inbox.refused.clear()
    smtp.start()
    retry = delivery.deliver_due(TODAY)
    assert retry.sent == [refused.pk]
    refused.refresh_from_db()
    assert refused.last_error == "" and refused.last_period_key == "2026-11-01"
    assert [rcpt for rcpt, _ in smtp.inbox.received] == [["boss@example.com"], ["gone@example.com"]]


@pytest.mark.django_db
def test_a_subscription_made_by_a_branch_a_user_mails_only_branch_a_figures(
        smtp: SmtpServer, outcomes: list[CallCallback], operator_a: User, branch_a: Branch) -> None:
    subscription = _subscribe(operator_a, "monthly", branch=branch_a, attach_pdf=False)

    assert delivery.deliver(subscription.pk, today=TODAY).startswith("已将2026年10月的回访月报发送给 1 位收件人")

    [message] = smtp.inbox.messages()
    assert message["subject"] == "【回访】回访月报 2026年10月（上海浦东营业部）"
    [content] = _attachments(message).values()
    figures, branches = _workbook_figures(content)
    assert branches == {"上海浦东营业部": _expected(parse_period("2026-10"), "3101")}
    assert figures["外呼次数"] == str(_expected(parse_period("2026-10"), "3101"))


@pytest.mark.django_db
def test_a_branch_user_may_not_subscribe_to_every_branch_or_another_branch(
        operator_a: User, branch_b: Branch) -> None:
    with pytest.raises(delivery.DeliveryError, match="请选择营业部"):
        _subscribe(operator_a, "daily")
    with pytest.raises(Exception, match="没有该营业部"):
        _subscribe(operator_a, "daily", branch=branch_b)
    assert not ReportSubscription.objects.exists()


@pytest.mark.django_db
def test_a_creator_who_left_the_branch_or_was_deactivated_gets_nothing_mailed_and_the_reason_is_kept(
        smtp: SmtpServer, outcomes: list[CallCallback], operator_a: User, branch_a: Branch,
        branch_b: Branch) -> None:
    subscription = _subscribe(operator_a, "daily", branch=branch_a)
    operator_a.branch = branch_b
    operator_a.save(update_fields=["branch"])

    summary = delivery.deliver_due(TODAY)

    assert list(summary.refused) == [subscription.pk]
    subscription.refresh_from_db()
    assert "已不能查看该营业部" in subscription.last_error and subscription.last_period_key == ""

    operator_a.branch = branch_a
    operator_a.is_active = False
    operator_a.save(update_fields=["branch", "is_active"])
    delivery.deliver_due(TODAY)
    subscription.refresh_from_db()
    assert "已停用" in subscription.last_error
    assert smtp.inbox.received == []


@pytest.mark.django_db
def test_a_disabled_subscription_is_not_mailed(smtp: SmtpServer, outcomes: list[CallCallback],
                                               hq_supervisor: User) -> None:
    subscription = _subscribe(hq_supervisor, "daily")
    delivery.disable_subscription(subscription=subscription, by=hq_supervisor)

    summary = delivery.deliver_due(TODAY)

    assert summary.sent == [] and summary.refused == {} and summary.failed == {}
    assert "已停用" in delivery.deliver(subscription.pk, today=TODAY)
    assert smtp.inbox.received == []


def test_recipients_are_read_from_lines_and_commas_and_a_bad_address_is_named() -> None:
    assert delivery.parse_recipients("a@example.com, b@example.com\nc@example.com；A@example.com\n\n") == [
        "a@example.com", "b@example.com", "c@example.com"]
    with pytest.raises(delivery.DeliveryError, match="收件人地址无效：not-an-address、x@y"):
        delivery.parse_recipients("ok@example.com\nnot-an-address, x@y")
    with pytest.raises(delivery.DeliveryError, match="至少一个收件人"):
        delivery.parse_recipients(" ,\n ")


@pytest.mark.django_db
def test_a_frequency_the_report_is_not_made_for_is_refused(hq_supervisor: User) -> None:
    from huifang.reports.registry import all_reports

    quarterly_only = [spec for spec in all_reports() if "day" not in spec.kinds]
    if not quarterly_only:
        pytest.skip("every report is made for days")
    with pytest.raises(delivery.DeliveryError, match="不按"):
        delivery.create_subscription(data={"name": "x", "report_code": quarterly_only[0].code,
                                           "frequency": "daily", "branch": None, "recipients": "a@example.com",
                                           "attach_excel": True, "attach_pdf": False}, by=hq_supervisor)


@pytest.mark.django_db
def test_the_job_is_scheduled_at_seven_every_day_and_delivers_what_is_due(
        smtp: SmtpServer, outcomes: list[CallCallback], hq_supervisor: User) -> None:
    job = ScheduledJob.objects.get(name="report-delivery")
    assert (job.time_of_day, job.day_kind, job.kwargs) == (dt.time(7, 0), "every_day", {})
    assert resolve_task(job.task_path) is deliver_reports
    subscription = _subscribe(hq_supervisor, "weekly", attach_pdf=False)

    answer = deliver_reports.call(as_of=TODAY.isoformat())

    assert answer == {"today": "2026-11-02", "sent": [subscription.pk], "already_sent": [], "refused": {},
                      "failed": {}}
    assert [m["subject"] for m in smtp.inbox.messages()] == ["【回访】回访周报 2026年第44周（10月26日—11月1日）"]


@pytest.mark.django_db
def test_changing_the_report_s_branch_mails_the_last_period_again_and_changing_recipients_does_not(
        smtp: SmtpServer, outcomes: list[CallCallback], hq_supervisor: User, branch_a: Branch,
        branch_b: Branch) -> None:
    subscription = _subscribe(hq_supervisor, "daily", branch=branch_a, attach_pdf=False)
    delivery.deliver_due(TODAY)
    data = {"name": "日报", "report_code": "daily", "frequency": "daily", "branch": branch_a,
            "recipients": "other@example.com", "attach_excel": True, "attach_pdf": False, "is_enabled": True}

    delivery.update_subscription(subscription=subscription, data=data, by=hq_supervisor)
    assert delivery.deliver_due(TODAY).already_sent == [subscription.pk]
    delivery.update_subscription(subscription=subscription, data={**data, "branch": branch_b}, by=hq_supervisor)
    assert delivery.deliver_due(TODAY).sent == [subscription.pk]

    assert [m["subject"] for m in smtp.inbox.messages()] == [
        "【回访】回访日报 2026年11月1日（上海浦东营业部）", "【回访】回访日报 2026年11月1日（广州天河营业部）"]
    assert [rcpt for rcpt, _ in smtp.inbox.received] == [["boss@example.com"], ["other@example.com"]]
