"""Scheduled delivery of reports by mail (定时发送): each ReportSubscription mails its report for the last complete
period of its frequency — daily: yesterday; weekly: last week (Monday to Sunday); monthly: last month — to its
recipients, with the Excel workbook and/or the printable PDF attached.

The report is built as the subscription's creator (`created_by`) sees it, through registry.build_report, so
branch isolation is that user's: an inactive creator, a creator who no longer sees the subscription's branch (or
no longer sees every branch, for a subscription of every branch) gets nothing mailed, and the reason is stored in
`last_error`. A period is mailed once (`last_period_key`); an SMTP failure is stored in `last_error` and the next
run tries again. Recording a delivery (last_period_key, last_sent_at, last_error cleared) and its audit entry
("mail_report") are one transaction, after the message has left.

The mail itself is sent outside any transaction (a slow SMTP server must not hold the database's write lock).
Between the check of `last_period_key` and the record after sending there is therefore a window in which a second
delivery of the same subscription (the 07:00 job and a "立即发送" at the same second) could mail it twice; the
second one finds the period recorded and only the mail is doubled, never the record."""

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from huifang.audit.services import model_changes, record_action
from huifang.org.choices import Role
from huifang.org.queries import NotFound, visible_branches
from huifang.org.scoping import sees_all_branches
from huifang.reports.models import Frequency, ReportSubscription
from huifang.reports.periods import Period, PeriodError, period_containing
from huifang.reports.registry import build_report, report_spec
from huifang.reports.tables import Report

logger = logging.getLogger(__name__)

#: the period kind each frequency mails
FREQUENCY_KINDS = {Frequency.DAILY: "day", Frequency.WEEKLY: "week", Frequency.MONTHLY: "month"}
#: at most this many recipients per subscription
MAX_RECIPIENTS = 50

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DeliveryError(ValueError):
    """A subscription that cannot be delivered or saved as given; the message says why, in Chinese."""


# --- recipients -------------------------------------------------------------------------------------------------

def parse_recipients(text: str) -> list[str]:
    """The addresses in `text` (one per line, or separated by commas, semicolons or spaces; Chinese punctuation
    too), each checked; duplicates dropped, order kept. DeliveryError naming every bad address otherwise."""
    for separator in ("，", "；", ";", "、", "\r", "\n", "\t", " "):
        text = text.replace(separator, ",")
    found: list[str] = []
    bad: list[str] = []
    for item in text.split(","):
        address = item.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
            continue
        if address.lower() not in {known.lower() for known in found}:
            found.append(address)
    if bad:
        raise DeliveryError(f"收件人地址无效：{'、'.join(bad)}")
    if not found:
        raise DeliveryError("请填写至少一个收件人地址（每行一个，或用逗号分隔）")
    if len(found) > MAX_RECIPIENTS:
        raise DeliveryError(f"收件人最多 {MAX_RECIPIENTS} 个，现有 {len(found)} 个")
    return found


# --- periods ----------------------------------------------------------------------------------------------------

def period_kind(frequency: str) -> str:
    try:
        return FREQUENCY_KINDS[Frequency(frequency)]
    except ValueError:
        raise DeliveryError(f"未知的发送频率“{frequency}”（可选：每日、每周、每月）") from None


def due_period(subscription: ReportSubscription, today: dt.date) -> Period:
    """The last complete period of the subscription's frequency before `today`: yesterday, last week (Monday to
    Sunday) or last month."""
    return period_containing(period_kind(subscription.frequency), today).previous()


# --- one delivery -----------------------------------------------------------------------------------------------

#: what a delivery came to (Outcome.status)
SENT, ALREADY_SENT, DISABLED, REFUSED, FAILED = "sent", "already_sent", "disabled", "refused", "failed"


@dataclass
class Outcome:
    status: str
    #: in Chinese, for the page and the job's answer
    message: str
    period_key: str = ""


def _refusal(subscription: ReportSubscription, period: Period) -> str:
    """Why the creator may not have the report mailed, or "" when they may."""
    user = subscription.created_by
    if user is None:
        return "订阅的创建人已不存在，无法按其权限出具报表；请重新创建订阅"
    if not user.is_active:
        return f"订阅的创建人 {user} 已停用，不再发送；请由在职人员重新创建订阅"
    if subscription.branch_id is None:
        if not sees_all_branches(user):
            return f"订阅的创建人 {user} 已不能查看全部营业部，不再发送全辖报表"
    elif not visible_branches(user).filter(pk=subscription.branch_id).exists():
        return f"订阅的创建人 {user} 已不能查看该营业部，不再发送"
    spec = report_spec(subscription.report_code)
    if spec is None:
        return f"报表“{subscription.report_code}”已不存在"
    if period.kind not in spec.kinds:
        return f"《{spec.title}》不按所选频率出具"
    return ""


def subject_of(report: Report) -> str:
    """【回访】回访日报 2026年11月5日（上海浦东营业部）"""
    return f"【回访】{report.title} {report.period.label}" + (f"（{report.scope}）" if report.scope else "")


def body_of(subscription: ReportSubscription, report: Report, attachments: list[str]) -> str:
    lines = ["您好：", "",
             f"以下是{report.period.label}的{report.title}" + (f"（{report.scope}）" if report.scope else "（全辖）")
             + "，主要数据：", ""]
    for figure in report.figures:
        lines.append(f"  {figure.label}：{figure.value}" + (f"（{figure.formula}）" if figure.formula else ""))
    if not report.figures:
        lines.append("  （本报表无汇总指标，详见附件）")
    lines.append("")
    if attachments:
        lines.append("附件：" + "、".join(attachments))
    for note in report.notes:
        lines.append(note)
    lines += ["", f"本邮件由回访系统按订阅“{subscription.name}”自动发送，请勿直接回复。"]
    return "\n".join(lines)


def _message(subscription: ReportSubscription, report: Report,
             recipients: list[str]) -> tuple[EmailMessage, list[str]]:
    from huifang.reports.exports import excel_bytes, export_filename, pdf_bytes

    files: list[tuple[str, bytes, str]] = []
    if subscription.attach_excel:
        files.append((export_filename(report, "xlsx"), excel_bytes(report), XLSX_TYPE))
    if subscription.attach_pdf:
        creator = subscription.created_by
        printed_by = (creator.name or creator.username) if creator is not None else ""
        files.append((export_filename(report, "pdf"), pdf_bytes(report, printed_by=printed_by), "application/pdf"))
    message = EmailMessage(subject=subject_of(report), body=body_of(subscription, report, [f[0] for f in files]),
                           from_email=settings.DEFAULT_FROM_EMAIL, to=recipients)
    for name, content, mimetype in files:
        message.attach(name, content, mimetype)
    return message, [name for name, _, _ in files]


def _record_error(subscription_id: int, error: str) -> None:
    ReportSubscription.objects.filter(pk=subscription_id).update(last_error=error[:2000])


def _deliver(subscription: ReportSubscription, today: dt.date, by: Any = None) -> Outcome:
    try:
        period = due_period(subscription, today)
    except DeliveryError as error:
        _record_error(subscription.pk, str(error))
        return Outcome(REFUSED, str(error))
    if subscription.last_period_key == period.key:
        return Outcome(ALREADY_SENT, f"{period.label}的报表已于 "
                       f"{_when(subscription.last_sent_at)} 发送，不再重复发送", period.key)
    refusal = _refusal(subscription, period)
    if not refusal:
        try:
            recipients = parse_recipients(subscription.recipients)
        except DeliveryError as error:
            refusal = str(error)
    if refusal:
        _record_error(subscription.pk, refusal)
        return Outcome(REFUSED, refusal, period.key)
    try:
        report = build_report(subscription.report_code, user=subscription.created_by, period=period,
                              branch_id=subscription.branch_id)
    except (LookupError, PeriodError, NotFound) as error:
        _record_error(subscription.pk, str(error))
        return Outcome(REFUSED, str(error), period.key)
    try:
        message, attached = _message(subscription, report, recipients)
    except Exception as error:  # a file that cannot be made (e.g. the PDF renderer): recorded, retried next run
        logger.exception("report subscription %s: the files of %s could not be made", subscription.pk, period.key)
        text = (f"{timezone.localtime():%Y-%m-%d %H:%M} 生成{period.label}的报表附件失败："
                f"{type(error).__name__}: {error}")
        _record_error(subscription.pk, text)
        return Outcome(FAILED, text, period.key)
    try:
        message.send(fail_silently=False)
    except Exception as error:  # SMTP refusals, connection errors, timeouts: recorded, the next run retries
        logger.warning("report subscription %s: mailing %s failed: %s", subscription.pk, period.key, error)
        text = f"{timezone.localtime():%Y-%m-%d %H:%M} 发送{period.label}的报表失败：{type(error).__name__}: {error}"
        _record_error(subscription.pk, text)
        return Outcome(FAILED, text, period.key)
    with transaction.atomic():
        current = ReportSubscription.objects.select_for_update().get(pk=subscription.pk)
        current.last_period_key = period.key
        current.last_sent_at = timezone.now()
        current.last_error = ""
        current.save(update_fields=["last_period_key", "last_sent_at", "last_error"])
        record_action(actor=by, action="mail_report", obj=current,
                      summary=f"邮件发送{report.title}（{period.label}"
                              + (f"，{report.scope}" if report.scope else "") + f"）给 {len(recipients)} 位收件人",
                      changes={"report": subscription.report_code, "period": period.key,
                               "recipients": recipients, "created_by": subscription.created_by_id,
                               "attachments": attached})
    return Outcome(SENT, f"已将{period.label}的{report.title}发送给 {len(recipients)} 位收件人："
                   f"{'、'.join(recipients)}", period.key)


def _when(moment: dt.datetime | None) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "—"


def deliver_outcome(subscription_id: int, *, today: dt.date | None = None, by: Any = None) -> Outcome:
    """Deliver one subscription's due period (see the module's doc); never raises for a refusal or an SMTP
    failure, which are stored in last_error and returned. `by`: who pressed 立即发送 (None: the schedule), for
    the audit entry; the report is still built as the creator sees it."""
    today = today or timezone.localdate()
    subscription = ReportSubscription.objects.select_related("created_by", "branch").get(pk=subscription_id)
    if not subscription.is_enabled:
        return Outcome(DISABLED, f"订阅“{subscription.name}”已停用")
    return _deliver(subscription, today, by)


def deliver(subscription_id: int, *, today: dt.date | None = None, by: Any = None) -> str:
    """Deliver the subscription's last complete period before `today` (default: today, local time) unless it was
    already sent; returns what happened, in Chinese."""
    return deliver_outcome(subscription_id, today=today, by=by).message


@dataclass
class Summary:
    today: str
    sent: list[int] = field(default_factory=list)
    already_sent: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"today": self.today, "sent": self.sent, "already_sent": self.already_sent,
                "refused": {str(k): v for k, v in self.refused.items()},
                "failed": {str(k): v for k, v in self.failed.items()}}


def deliver_due(today: dt.date | None = None) -> Summary:
    """Deliver every enabled subscription whose due period has not been sent yet. One failing subscription (SMTP
    down, an error building its report) is recorded on it and does not stop the others."""
    today = today or timezone.localdate()
    summary = Summary(today=today.isoformat())
    for subscription in (ReportSubscription.objects.filter(is_enabled=True)
                         .select_related("created_by", "branch").order_by("pk")):
        try:
            outcome = _deliver(subscription, today)
        except Exception as error:  # a bug in one report must not stop the others' mail
            logger.exception("report subscription %s failed", subscription.pk)
            text = f"出具报表时出错：{type(error).__name__}: {error}"
            _record_error(subscription.pk, text)
            outcome = Outcome(FAILED, text)
        if outcome.status == SENT:
            summary.sent.append(subscription.pk)
        elif outcome.status == ALREADY_SENT:
            summary.already_sent.append(subscription.pk)
        elif outcome.status == REFUSED:
            summary.refused[subscription.pk] = outcome.message
        else:
            summary.failed[subscription.pk] = outcome.message
    return summary


# --- managing subscriptions -------------------------------------------------------------------------------------

#: who creates, edits, disables and sends subscriptions (their own branch's; HQ's: any branch or every branch)
MANAGING_ROLES = (Role.HQ_SUPERVISOR, Role.ADMIN, Role.BRANCH_OPERATOR)
#: the fields a form sets
EDITABLE = ("name", "report_code", "frequency", "branch", "recipients", "attach_excel", "attach_pdf", "is_enabled")


def may_manage(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)
                and (user.is_superuser or user.has_role(*MANAGING_ROLES)))


def _snapshot(subscription: ReportSubscription) -> dict[str, Any]:
    return {name: (subscription.branch_id if name == "branch" else getattr(subscription, name))
            for name in EDITABLE}


def _check(data: dict[str, Any], by: Any) -> dict[str, Any]:
    """`data` (EDITABLE fields, branch a Branch or None) checked and normalised; DeliveryError otherwise."""
    if not may_manage(by):
        raise DeliveryError("只有总部回访主管、系统管理员或营业部客服主管可以管理报表订阅")
    name = str(data.get("name") or "").strip()
    if not name:
        raise DeliveryError("请填写订阅名称")
    kind = period_kind(str(data.get("frequency") or ""))
    spec = report_spec(str(data.get("report_code") or ""))
    if spec is None:
        raise DeliveryError(f"没有报表“{data.get('report_code')}”")
    if kind not in spec.kinds:
        raise DeliveryError(f"《{spec.title}》不按{Frequency(data['frequency']).label}出具")
    branch = data.get("branch")
    if branch is None:
        if not sees_all_branches(by):
            raise DeliveryError("请选择营业部：您只能订阅本营业部的报表")
    elif not visible_branches(by).filter(pk=branch.pk).exists():
        raise NotFound("没有该营业部")
    recipients = parse_recipients(str(data.get("recipients") or ""))
    if not data.get("attach_excel") and not data.get("attach_pdf"):
        raise DeliveryError("请至少选择一种附件（Excel 或 PDF）")
    return {**{key: data[key] for key in EDITABLE if key in data}, "name": name, "recipients": "\n".join(recipients),
            "is_enabled": bool(data.get("is_enabled", True))}


@transaction.atomic
def create_subscription(*, data: dict[str, Any], by: Any) -> ReportSubscription:
    """A new subscription made by `by` (whose view of the branches the mailed report will have). Audited."""
    values = _check(data, by)
    subscription = ReportSubscription.objects.create(**values, created_by=by)
    record_action(actor=by, action="create", obj=subscription,
                  summary=f"新建报表订阅“{subscription.name}”：{subscription.report_code}，"
                          f"{subscription.get_frequency_display()}，{len(values['recipients'].splitlines())} 位收件人")
    return subscription


@transaction.atomic
def update_subscription(*, subscription: ReportSubscription, data: dict[str, Any], by: Any) -> ReportSubscription:
    """Change a subscription. Changing its report or branch forgets the last period sent (the new report has not
    been mailed). The creator, whose view the report is built with, stays. Audited with the changes."""
    values = _check(data, by)
    current = ReportSubscription.objects.select_for_update().get(pk=subscription.pk)
    before = _snapshot(current)
    for key, value in values.items():
        setattr(current, key, value)
    changes = model_changes(before, _snapshot(current))
    if "report_code" in changes or "branch" in changes:
        current.last_period_key = ""
    current.save()
    if changes:
        record_action(actor=by, action="update", obj=current, summary=f"修改报表订阅“{current.name}”",
                      changes={key: [str(old), str(new)] for key, (old, new) in changes.items()})
    return current


@transaction.atomic
def disable_subscription(*, subscription: ReportSubscription, by: Any) -> ReportSubscription:
    if not may_manage(by):
        raise DeliveryError("只有总部回访主管、系统管理员或营业部客服主管可以管理报表订阅")
    current = ReportSubscription.objects.select_for_update().get(pk=subscription.pk)
    if current.is_enabled:
        current.is_enabled = False
        current.save(update_fields=["is_enabled"])
        record_action(actor=by, action="deactivate", obj=current, summary=f"停用报表订阅“{current.name}”")
    return current
