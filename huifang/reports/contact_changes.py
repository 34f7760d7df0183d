"""号码变更统计 (contact-change statistics): the contact corrections the calls found in the period (号码纠错: a number
found invalid 无效号码 or changed 号码变更, calls.ContactCorrection, by the local date it was found) and the
customers' information-changed events (信息变更, customers.CustomerEvent of type info_changed, by the local date it
occurred): by branch, by the agent whose call found the correction, and by day for the trend.

Counts only: no customer and no number is listed, so nothing here needs masking."""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet

from huifang.calls.choices import KIND_TEXT, CorrectionKind
from huifang.calls.models import ContactCorrection
from huifang.campaigns.compiler import local_day
from huifang.customers.choices import EventType
from huifang.customers.models import CustomerEvent
from huifang.org.models import Branch
from huifang.reports.kpis import agent_names
from huifang.reports.periods import Period
from huifang.reports.registry import register
from huifang.reports.tables import Chart, Figure, Report, Table

CODE = "contact_changes"
TITLE = "号码变更统计"
INVALID = KIND_TEXT[CorrectionKind.INVALID]
CHANGED = KIND_TEXT[CorrectionKind.CHANGED]
EVENTS = "信息变更事件"
#: the agent column of corrections no call found (entered otherwise)
NO_CALL = "无关联通话"

NOTE = (f"{INVALID}、{CHANGED}：本期发现（按发现时间的本地日期）并列入号码纠错清单的号码，每个号码在未处理前只列一次；"
        f"{EVENTS}：本期发生的客户联系方式或身份信息变更事件（柜台或 CRM 导入）；合计 = 三者之和。"
        "仅统计数量，不列号码。")
AGENT_NOTE = f"回访人员：发现该号码问题的通话的坐席；{NO_CALL}：并非由通话发现的纠错。"

_CORRECTION_SUMS = {"invalid": Count("id", filter=Q(kind=CorrectionKind.INVALID)),
                    "changed": Count("id", filter=Q(kind=CorrectionKind.CHANGED))}


def corrections_in(user: Any, period: Period, branch_id: int | None) -> QuerySet[ContactCorrection]:
    low, high = period.bounds()
    rows = ContactCorrection.objects.visible_to(user).filter(found_at__gte=low, found_at__lt=high)
    return rows.filter(branch_id=branch_id) if branch_id is not None else rows


def info_events_in(user: Any, period: Period, branch_id: int | None) -> QuerySet[CustomerEvent]:
    low, high = period.bounds()
    rows = CustomerEvent.objects.visible_to(user).filter(type=EventType.INFO_CHANGED, occurred_at__gte=low,
                                                         occurred_at__lt=high)
    return rows.filter(customer__branch_id=branch_id) if branch_id is not None else rows


def _counts() -> dict[str, int]:
    return {"invalid": 0, "changed": 0, "events": 0}


def _line(counts: dict[str, int], events: bool = True) -> list[int]:
    values = [counts["invalid"], counts["changed"], *([counts["events"]] if events else [])]
    return [*values, sum(values)]


@register(CODE, title=TITLE, order=50,
          description="本期发现的无效号码、号码变更与客户信息变更事件：按营业部、回访人员与日期（趋势），仅统计数量")
def build(user: Any, period: Period, branch_id: int | None) -> Report:
    branches = dict(Branch.objects.values_list("id", "name"))
    corrections = corrections_in(user, period, branch_id)
    events = info_events_in(user, period, branch_id)

    per_branch: dict[int, dict[str, int]] = defaultdict(_counts)
    rows: list[dict[str, Any]] = [dict(row) for row in
                                  corrections.values("branch_id").annotate(**_CORRECTION_SUMS).order_by()]
    for row in rows:
        per_branch[row["branch_id"]].update(invalid=row["invalid"], changed=row["changed"])
    rows = [dict(row) for row in events.values("customer__branch_id").annotate(n=Count("id")).order_by()]
    for row in rows:
        per_branch[row["customer__branch_id"]]["events"] = row["n"]
    whole = {name: sum(counts[name] for counts in per_branch.values()) for name in _counts()}

    report = Report(code=CODE, title=TITLE, period=period, scope=branches.get(branch_id, "") if branch_id else "")
    by_branch = Table(title="按营业部", headers=["营业部", INVALID, CHANGED, EVENTS, "合计"], note=NOTE)
    for pk in sorted(per_branch, key=lambda key: branches.get(key, "")):
        by_branch.rows.append([branches.get(pk, str(pk)), *_line(per_branch[pk])])
    by_branch.total = ["合计", *_line(whole)]

    per_agent: dict[Any, dict[str, int]] = defaultdict(_counts)
    rows = [dict(row) for row in corrections.values("found_by_call__agent_id").annotate(**_CORRECTION_SUMS).order_by()]
    for row in rows:
        per_agent[row["found_by_call__agent_id"]].update(invalid=row["invalid"], changed=row["changed"])
    names = agent_names(per_agent)
    names[None] = NO_CALL
    by_agent = Table(title="按回访人员", headers=["回访人员", INVALID, CHANGED, "合计"], note=AGENT_NOTE)
    for pk in sorted(per_agent, key=lambda key: (key is None, names.get(key, ""))):
        by_agent.rows.append([names.get(pk, str(pk)), *_line(per_agent[pk], events=False)])
    by_agent.total = ["合计", *_line(whole, events=False)]

    days = [period.start, period.end]
    per_day: dict[dt.date, dict[str, int]] = defaultdict(_counts)
    rows = [dict(row) for row in corrections.annotate(day=local_day("found_at", days)).values("day")
            .annotate(**_CORRECTION_SUMS).order_by()]
    for row in rows:
        per_day[row["day"]].update(invalid=row["invalid"], changed=row["changed"])
    rows = [dict(row) for row in events.annotate(day=local_day("occurred_at", days)).values("day")
            .annotate(n=Count("id")).order_by()]
    for row in rows:
        per_day[row["day"]]["events"] = row["n"]
    by_day = Table(title="按日期", headers=["日期", INVALID, CHANGED, EVENTS, "合计"],
                   note="按发现或发生时间的本地日期（北京时间）；只列有记录的日期。")
    for day in sorted(per_day):
        by_day.rows.append([f"{day:%Y-%m-%d}", *_line(per_day[day])])
    by_day.total = ["合计", *_line(whole)]
    report.tables = [by_branch, by_agent, by_day]

    total = sum(_line(whole)[:3])
    report.figures = [
        Figure(INVALID, f"{whole['invalid']:,}", "本期列入号码纠错清单、问题为“无效号码”的号码数"),
        Figure(CHANGED, f"{whole['changed']:,}", "本期列入号码纠错清单、问题为“号码变更”的号码数"),
        Figure(EVENTS, f"{whole['events']:,}", "本期发生的“信息变更”客户事件数"),
        Figure("合计", f"{total:,}", f"合计 = {INVALID} + {CHANGED} + {EVENTS}"),
    ]

    every_day = [period.start + dt.timedelta(days=n) for n in range(period.days)]
    report.charts = [Chart("号码变更趋势", {
        "tooltip": {"trigger": "axis"}, "legend": {"data": [INVALID, CHANGED, EVENTS]},
        "xAxis": {"type": "category", "data": [f"{day:%m-%d}" for day in every_day]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"name": label, "type": "line", "data": [per_day[day][name] if day in per_day else 0
                                                             for day in every_day]}
                   for name, label in (("invalid", INVALID), ("changed", CHANGED), ("events", EVENTS))],
    })]
    return report
