"""The quarterly roll-up (季度回访汇总): per branch and callback type, the callbacks due in the quarter, done,
successful and done on time; and each branch's filing of it (reports.filings): its deadline (the 5th working day
after the quarter's end), when it was filed and approved, flagged when not filed by the deadline or filed late."""

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.utils import timezone

from huifang.campaigns.models import CallbackType
from huifang.org.models import Branch
from huifang.reports.filings import filing_statuses
from huifang.reports.kpis import callback_counts, due_callbacks
from huifang.reports.periods import Period
from huifang.reports.registry import register
from huifang.reports.tables import Chart, Report, Table, share

SUMS = ("due", "done", "success", "on_time")
HEADERS = ["到期任务数", "已完成", "成功回访", "按时完成", "完成率", "成功率", "按时完成率"]


def _figures(row: dict[str, int]) -> list[Any]:
    return [row["due"], row["done"], row["success"], row["on_time"], share(row["done"], row["due"]),
            share(row["success"], row["due"]), share(row["on_time"], row["due"])]


def _when(moment: Any) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _person(user: Any) -> str:
    return (user.name or user.username) if user is not None else ""


NOTE = ("到期任务：到期日在本季度内的回访任务（不含已取消）；已完成：状态为已完成；成功回访：已完成且结果为“成功回访”；"
        "按时完成：完成时间的本地日期不晚于到期日。")


@register("quarterly", title="季度回访汇总", kinds=("quarter",), order=30,
          description="各营业部、各回访类型的到期、完成、成功与按时完成；各营业部季度汇总的报送与审核"
                      "（季度结束后 5 个工作日内报送，逾期标出）")
def quarterly(user: Any, period: Period, branch_id: int | None) -> Report:
    branches = dict(Branch.objects.values_list("id", "name"))
    types = dict(CallbackType.objects.values_list("id", "name"))
    rows = callback_counts(due_callbacks(user, period, branch_id), ["branch_id", "callback_type_id"])
    report = Report(code="quarterly", title="季度回访汇总", period=period,
                    scope=branches.get(branch_id, "") if branch_id else "")

    detail = Table(title="按营业部与回访类型", headers=["营业部", "回访类型", *HEADERS], note=NOTE)
    per_branch: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SUMS, 0))
    whole = dict.fromkeys(SUMS, 0)
    for row in sorted(rows, key=lambda r: (branches.get(r["branch_id"], ""), types.get(r["callback_type_id"], ""))):
        detail.rows.append([branches.get(row["branch_id"], ""), types.get(row["callback_type_id"], ""),
                            *_figures(row)])
        for name in SUMS:
            per_branch[row["branch_id"]][name] += row[name]
            whole[name] += row[name]
    detail.total = ["合计", "", *_figures(whole)]

    statuses = filing_statuses(user, period, branch_id)
    by_branch = Table(title="按营业部", headers=["营业部", *HEADERS, "报送状态"], note=NOTE)
    state_of = {status.branch.pk: status for status in statuses}
    for pk in sorted(set(per_branch) | set(state_of), key=lambda key: branches.get(key, "")):
        status = state_of.get(pk)
        by_branch.rows.append([branches.get(pk, ""), *_figures(per_branch[pk]),
                               status.state_text if status else "—"])
        if status is not None and status.flagged:
            by_branch.flagged.add(len(by_branch.rows) - 1)
    by_branch.total = ["合计", *_figures(whole), ""]

    days = settings.HUIFANG_QUARTERLY_FILING_WORKING_DAYS
    filings = Table(title="报送情况",
                    headers=["营业部", "报送期限", "报送时间", "报送人", "审核时间", "审核人", "状态"],
                    note=f"报送期限：季度结束后第 {days} 个工作日（按节假日日历）；逾期未报送或逾期报送的标出。")
    for index, status in enumerate(statuses):
        filing = status.filing
        filings.rows.append([
            status.branch.name,
            f"{status.deadline:%Y-%m-%d}" if status.deadline else "—",
            _when(filing.filed_at) if filing else "", _person(filing.filed_by) if filing and filing.filed_at else "",
            _when(filing.approved_at) if filing else "",
            _person(filing.approved_by) if filing and filing.approved_at else "",
            status.state_text,
        ])
        if status.flagged:
            filings.flagged.add(index)
    report.tables = [by_branch, detail, filings]

    deadline = next((s.deadline for s in statuses if s.deadline), None)
    errors = {s.deadline_error for s in statuses if s.deadline_error}
    if deadline is not None:
        report.notes.append(f"报送期限：{deadline:%Y-%m-%d}（季度结束后第 {days} 个工作日）")
    report.notes.extend(f"无法计算报送期限：{error}" for error in sorted(errors))
    late = [s.branch.name for s in statuses if s.late]
    missing = [s.branch.name for s in statuses if s.missing]
    if missing:
        report.notes.append(f"逾期未报送：{'、'.join(missing)}")
    if late:
        report.notes.append(f"逾期报送：{'、'.join(late)}")

    names = [row[0] for row in by_branch.rows]
    report.charts = [Chart("各营业部的到期、完成与按时完成", {
        "tooltip": {}, "legend": {"data": ["到期任务数", "已完成", "按时完成"]},
        "xAxis": {"type": "category", "data": names},
        "yAxis": {"type": "value"},
        "series": [{"name": name, "type": "bar", "data": [row[1 + i] for row in by_branch.rows]}
                   for i, name in ((0, "到期任务数"), (1, "已完成"), (3, "按时完成"))],
    })]
    return report
