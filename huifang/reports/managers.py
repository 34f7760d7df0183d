"""《客户经理客户回访工作汇总表》: per client manager (a user with the client-manager role whose customers the user
sees), their customers, those opened at least 3 months before the period's end, the client-manager callbacks
(客户经理客户回访, type code "manager_customers") of the period's months and their successes, against the quota of
the callback type (at least 3 successful a month, or every eligible customer if fewer: kpis.quota_units, the rule
the KPI "定额完成率" counts by), flagged when a month's quota is not met. The callbacks of a month are done by the
30th (the month's end in February).

A manager is counted in the branch of their customers (a manager whose customers sit in two branches has a row in
each); the callbacks are those of their customers, cancelled ones left out."""

import calendar as month_calendar
import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User
from huifang.reports.kpis import SUCCESS_Q, QuotaUnit, agent_names, quota_units
from huifang.reports.periods import Period, period_containing
from huifang.reports.registry import register
from huifang.reports.tables import Chart, Figure, Report, Table, share

CODE = "managers"
TITLE = "《客户经理客户回访工作汇总表》"
CALLBACK_TYPE = "manager_customers"
#: a customer counts as "opened at least this many months" by the period's end
SEASONED_MONTHS = 3
#: the day of the month by which the month's callbacks are done
DONE_BY_DAY = 30

HEADERS = ["营业部", "客户经理", "名下客户数", "其中开户满3个月", "回访任务数", "成功回访数", "目标", "完成率",
           "是否达标"]
NOTE = ("名下客户数：该客户经理名下、您可见的客户；其中开户满3个月：开户日期不晚于期末前 3 个月的当日；"
        "回访任务数：这些客户的“客户经理客户回访”任务中所属月份（任务周期）在本期内的（不含已取消）；"
        "成功回访数：其中已完成且结果为“成功回访”的；目标：每月 min(3, 当月初开户满 3 个月的正常客户数) 之和"
        "（按回访类型的定额与抽样规则）；完成率 = 成功回访数 ÷ 目标；是否达标：本期每个月都达到当月目标"
        "（未达标的行标出；当月尚未结束的为“进行中”）。")


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (the month's last day if it has fewer days)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def month_keys(period: Period) -> list[Period]:
    found, day = [], period.start
    while day <= period.end:
        month = period_containing("month", day)
        found.append(month)
        day = month.end + dt.timedelta(days=1)
    return found


def done_by(month: Period) -> dt.date:
    """The day the month's callbacks are done by: the 30th, or the month's last day if it is earlier."""
    return month.start.replace(day=min(DONE_BY_DAY, month.end.day))


def _status(units: list[QuotaUnit]) -> tuple[str, bool]:
    """(是否达标 text, flagged) of a manager's quota units over the period."""
    if not units:
        return "—", False
    missed = [unit for unit in units if not unit.met]
    if not missed:
        return "达标", False
    if all(unit.running for unit in missed):
        return "进行中", True
    return "未达标", True


@register(CODE, title=TITLE, kinds=("month", "quarter", "half", "year"), order=25,
          description="各客户经理名下客户、开户满 3 个月的客户、客户经理客户回访任务与成功回访，对照每月至少 3 户的"
                      "定额，未达标标出；当月 30 日前完成")
def build(user: Any, period: Period, branch_id: int | None) -> Report:
    branches = dict(Branch.objects.values_list("id", "name"))
    managers = User.objects.filter(groups__name=Role.CLIENT_MANAGER).values("id")
    customers = Customer.objects.visible_to(user).filter(manager_id__in=managers)
    callbacks = Callback.objects.visible_to(user).filter(customer__manager_id__in=managers)
    if branch_id is not None:
        customers = customers.filter(branch_id=branch_id)
        callbacks = callbacks.filter(customer__branch_id=branch_id)
    cutoff = months_before(period.end, SEASONED_MONTHS)
    months = month_keys(period)

    people: dict[tuple[int, int], dict[str, int]] = defaultdict(
        lambda: {"customers": 0, "seasoned": 0, "tasks": 0, "success": 0})
    for row in customers.values("branch_id", "manager_id").annotate(
            n=Count("id"), seasoned=Count("id", filter=Q(open_date__lte=cutoff))).order_by():
        people[row["branch_id"], row["manager_id"]].update(customers=row["n"], seasoned=row["seasoned"])
    for row in callbacks.filter(callback_type__code=CALLBACK_TYPE, period_key__in=[m.key for m in months]) \
            .exclude(state=State.CANCELLED).values("customer__branch_id", "customer__manager_id") \
            .annotate(n=Count("id"), success=Count("id", filter=SUCCESS_Q)).order_by():
        people[row["customer__branch_id"], row["customer__manager_id"]].update(tasks=row["n"], success=row["success"])

    type_name = CallbackType.objects.filter(code=CALLBACK_TYPE).values_list("name", flat=True).first()
    units: dict[tuple[int, int], list[QuotaUnit]] = defaultdict(list)
    for unit in quota_units(user, period, branch_id):
        if unit.callback_type == type_name and unit.manager_id is not None:
            units[unit.branch_id, unit.manager_id].append(unit)
    names = agent_names({manager for _branch, manager in people})

    report = Report(code=CODE, title=TITLE, period=period, scope=branches.get(branch_id, "") if branch_id else "")
    table = Table(title="按客户经理", headers=HEADERS, note=NOTE)
    totals = {"customers": 0, "seasoned": 0, "tasks": 0, "success": 0, "target": 0}
    met = 0
    for key in sorted(people, key=lambda k: (branches.get(k[0], ""), names.get(k[1], ""), k[1])):
        counts = people[key]
        target = sum(unit.required for unit in units.get(key, []))
        status, flagged = _status(units.get(key, []))
        table.rows.append([branches.get(key[0], str(key[0])), names.get(key[1], str(key[1])), counts["customers"],
                           counts["seasoned"], counts["tasks"], counts["success"], target,
                           share(counts["success"], target), status])
        if flagged:
            table.flagged.add(len(table.rows) - 1)
        met += int(status == "达标")
        for name in counts:
            totals[name] += counts[name]
        totals["target"] += target
    assessed = sum(1 for key in people if units.get(key))
    table.total = ["合计", f"{len(people)} 人", totals["customers"], totals["seasoned"], totals["tasks"],
                   totals["success"], totals["target"], share(totals["success"], totals["target"]),
                   f"{met}/{assessed} 达标" if assessed else "—"]
    report.tables = [table]

    report.figures = [
        Figure("客户经理人数", f"{len(people):,}", "名下有您可见客户的客户经理人数（按营业部计）"),
        Figure("成功回访数", f"{totals['success']:,}",
               "本期各月“客户经理客户回访”任务中已完成且结果为“成功回访”的数量"),
        Figure("完成率", share(totals["success"], totals["target"]),
               "完成率 = 成功回访数 ÷ 目标（各客户经理目标之和）"),
        Figure("达标人数", f"{met} / {assessed}" if assessed else "—",
               "达标人数 = 本期每月均达到当月目标的客户经理数 ÷ 有考核目标的客户经理数",
               status="" if not assessed else ("ok" if met == assessed else "bad")),
    ]
    today = timezone.localdate()
    deadlines = "、".join(f"{done_by(month):%Y-%m-%d}" for month in months)
    report.notes.append(f"完成期限：每月 {DONE_BY_DAY} 日前完成当月的客户经理客户回访（本期：{deadlines}）")
    if any(month.end >= today for month in months):
        report.notes.append("本期尚未结束：未结束月份的未达标标为“进行中”")

    report.charts = [Chart("各客户经理的目标与成功回访", {
        "tooltip": {}, "legend": {"data": ["目标", "成功回访数"]},
        "xAxis": {"type": "category", "data": [f"{row[1]}（{row[0]}）" for row in table.rows]},
        "yAxis": {"type": "value"},
        "series": [{"name": "目标", "type": "bar", "data": [row[6] for row in table.rows]},
                   {"name": "成功回访数", "type": "bar", "data": [row[5] for row in table.rows]}],
    })]
    return report
