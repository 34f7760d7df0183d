"""《新客户回访信息汇总表》: the customers whose accounts were opened in the period and their new-account callbacks
(新开户回访, type code "new_account"), per branch: opened, callbacks generated, successful, closed without success,
still open, the callback rate (成功 ÷ 新开客户数) and the successes done by their due date; then the callbacks by
their last outcome (结果分布). The table itself is due by the end of the 5th working day of the next month (the
holiday table decides working days).

What counts: customers of the branches the user sees (and `branch_id`) with open_date in [start, end]; their
new-account callbacks that the user sees, cancelled ones left out (a cancelled callback is no task any more), each
counted in its customer's branch."""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet

from huifang.calendars.queries import CalendarNotCovered, nth_working_day
from huifang.callbacks.choices import OPEN_STATES, State
from huifang.callbacks.models import Callback
from huifang.calls.models import OutcomeCode
from huifang.customers.models import Customer
from huifang.org.models import Branch
from huifang.reports.kpis import ON_TIME_Q, SUCCESS_Q
from huifang.reports.periods import Period
from huifang.reports.registry import register
from huifang.reports.tables import Chart, Figure, Report, Table, share

CODE = "new_customers"
TITLE = "《新客户回访信息汇总表》"
CALLBACK_TYPE = "new_account"
#: the table is due by the end of this working day of the month after the period
FILING_WORKING_DAY = 5

SUMS = ("opened", "tasks", "success", "unsuccessful", "open", "on_time")
HEADERS = ["新开客户数", "已生成回访任务", "成功回访", "未成功", "未完成", "回访率", "按时完成"]
NOTE = ("新开客户：开户日期在本期内的客户；回访任务：这些客户的“新开户回访”任务（不含已取消）；"
        "成功回访：已完成且结果为“成功回访”；未成功：已结束但未成功（结果非成功、失败、已过期）；"
        "未完成：待分配、已分配或进行中；回访率 = 成功回访 ÷ 新开客户数；"
        "按时完成：成功回访且完成时间的本地日期不晚于到期日。")
RESULT_NOTE = ("回访结果：任务最后一次回访登记的结果（“未登记”：尚无回访登记）；占比 = 任务数 ÷ 已生成回访任务。"
               "按任务的状态分为成功回访、未成功与未完成。")
NO_RESULT = "未登记"

#: closed without success: a done callback whose last outcome is not 成功回访, a failed or an expired one
UNSUCCESSFUL_Q = ~Q(state__in=OPEN_STATES) & ~SUCCESS_Q


def _figures(row: dict[str, int]) -> list[Any]:
    return [row["opened"], row["tasks"], row["success"], row["unsuccessful"], row["open"],
            share(row["success"], row["opened"]), row["on_time"]]


def filing_deadline(period: Period) -> dt.date:
    """The end of the 5th working day of the month after the period. Raises CalendarNotCovered when the holiday
    table lacks that year."""
    following = period.end + dt.timedelta(days=1)
    return nth_working_day(following.year, following.month, FILING_WORKING_DAY)


def new_customers(user: Any, period: Period, branch_id: int | None = None) -> QuerySet[Customer]:
    """The customers `user` sees opened in the period (open date in [start, end]), limited to `branch_id`."""
    rows = Customer.objects.visible_to(user).filter(open_date__gte=period.start, open_date__lte=period.end)
    if branch_id is not None:
        rows = rows.filter(branch_id=branch_id)
    return rows


def new_account_callbacks(user: Any, customers: QuerySet[Customer]) -> QuerySet[Callback]:
    """The new-account callbacks of `customers` that `user` sees, cancelled ones left out."""
    return Callback.objects.visible_to(user).filter(callback_type__code=CALLBACK_TYPE, customer__in=customers) \
        .exclude(state=State.CANCELLED)


_CALLBACK_SUMS = {"tasks": Count("id"), "success": Count("id", filter=SUCCESS_Q),
                  "unsuccessful": Count("id", filter=UNSUCCESSFUL_Q),
                  "open": Count("id", filter=Q(state__in=OPEN_STATES)),
                  "on_time": Count("id", filter=SUCCESS_Q & ON_TIME_Q)}


@register(CODE, title=TITLE, kinds=("month", "quarter", "half", "year"), order=20,
          description="本期新开户客户的新开户回访：各营业部新开客户数、已生成回访任务、成功、未成功、未完成、"
                      "回访率与按时完成，回访结果分布；次月第 5 个工作日前报送")
def build(user: Any, period: Period, branch_id: int | None) -> Report:
    branches = dict(Branch.objects.values_list("id", "name"))
    customers = new_customers(user, period, branch_id)
    callbacks = new_account_callbacks(user, customers)
    per_branch: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SUMS, 0))
    opened: list[dict[str, Any]] = [
        dict(row) for row in customers.values("branch_id").annotate(n=Count("id")).order_by()]
    for row in opened:
        per_branch[row["branch_id"]]["opened"] = row["n"]
    counted: list[dict[str, Any]] = [
        dict(row) for row in callbacks.values("customer__branch_id").annotate(**_CALLBACK_SUMS).order_by()]
    for row in counted:
        for name in _CALLBACK_SUMS:
            per_branch[row["customer__branch_id"]][name] = row[name]
    whole = {name: sum(row[name] for row in per_branch.values()) for name in SUMS}

    report = Report(code=CODE, title=TITLE, period=period, scope=branches.get(branch_id, "") if branch_id else "")
    by_branch = Table(title="按营业部", headers=["营业部", *HEADERS], note=NOTE)
    for pk in sorted(per_branch, key=lambda key: branches.get(key, "")):
        by_branch.rows.append([branches.get(pk, str(pk)), *_figures(per_branch[pk])])
    by_branch.total = ["合计", *_figures(whole)]

    labels = dict(OutcomeCode.objects.values_list("code", "label"))
    results = Table(title="结果分布", headers=["回访结果", "任务数", "成功回访", "未成功", "未完成", "占比"],
                    note=RESULT_NOTE)
    found: list[dict[str, Any]] = [
        dict(row) for row in callbacks.values("result").annotate(**_CALLBACK_SUMS).order_by()]
    found.sort(key=lambda row: (-row["tasks"], row["result"]))
    for row in found:
        label = labels.get(row["result"], row["result"]) if row["result"] else NO_RESULT
        results.rows.append([label, row["tasks"], row["success"], row["unsuccessful"], row["open"],
                             share(row["tasks"], whole["tasks"])])
    results.total = ["合计", whole["tasks"], whole["success"], whole["unsuccessful"], whole["open"],
                     share(whole["tasks"], whole["tasks"])]
    report.tables = [by_branch, results]

    report.figures = [
        Figure("新开客户数", f"{whole['opened']:,}", "开户日期在本期内的客户数"),
        Figure("已生成回访任务", f"{whole['tasks']:,}", "这些客户的“新开户回访”任务数（不含已取消）"),
        Figure("成功回访", f"{whole['success']:,}", "已完成且结果为“成功回访”的任务数"),
        Figure("回访率", share(whole["success"], whole["opened"]), "回访率 = 成功回访 ÷ 新开客户数"),
        Figure("按时完成率", share(whole["on_time"], whole["tasks"]),
               "按时完成率 = 到期日当天或之前成功回访的任务数 ÷ 已生成回访任务"),
    ]
    try:
        deadline = filing_deadline(period)
        report.notes.append(f"报送期限：{deadline:%Y-%m-%d}（本期结束后次月第 {FILING_WORKING_DAY} 个工作日，含当日）")
    except CalendarNotCovered as error:
        report.notes.append(f"无法计算报送期限：{error}")

    report.charts = [Chart("各营业部新开客户数与成功回访", {
        "tooltip": {}, "legend": {"data": ["新开客户数", "成功回访"]},
        "xAxis": {"type": "category", "data": [row[0] for row in by_branch.rows]},
        "yAxis": {"type": "value"},
        "series": [{"name": "新开客户数", "type": "bar", "data": [row[1] for row in by_branch.rows]},
                   {"name": "成功回访", "type": "bar", "data": [row[3] for row in by_branch.rows]}],
    })]
    return report
