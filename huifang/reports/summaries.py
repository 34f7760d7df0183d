"""Report builders read from the roll-ups (calls.rollups), scoped to what the user sees. Registered in
reports.registry; each returns a tables.Report."""

from collections.abc import Iterable
from typing import Any

from huifang.calls import rollups
from huifang.campaigns.models import CallbackType
from huifang.org.models import Branch, User
from huifang.reports.periods import Period
from huifang.reports.registry import register
from huifang.reports.tables import Chart, Figure, Report, Table, share

HEADERS = ["外呼次数", "接通次数", "成功回访数", "外呼成功率", "成功占比"]


def _figures(attempts: int, connected: int, successes: int) -> list[Any]:
    return [attempts, connected, successes, share(connected, attempts), share(successes, attempts)]


def _table(title: str, label: str, rows: Iterable[dict[str, Any]], key: str, names: dict[int, str]) -> Table:
    rows = list(rows)
    body = [[names.get(row[key], str(row[key])), *_figures(row["attempts"], row["connected"], row["successes"])]
            for row in rows]
    body.sort(key=lambda line: (-line[1], line[0]))
    totals = [sum(row[name] for row in rows) for name in ("attempts", "connected", "successes")]
    return Table(title=title, headers=[label, *HEADERS], rows=body, total=["合计", *_figures(*totals)],
                 note=("外呼成功率 = 接通次数 ÷ 外呼次数；成功占比 = 成功回访数 ÷ 外呼次数"
                       "（按回访登记计，一次通话服务多个任务时各计一次）"))


@register("daily", title="回访日报", order=10,
          description="外呼次数、接通与成功回访，按回访类型、回访人员、营业部；日报、周报、月报等按所选周期")
def daily(user: Any, period: Period, branch_id: int | None) -> Report:
    span: dict[str, Any] = {"start": period.start, "end": period.end, "user": user, "branch_id": branch_id}
    by_type = rollups.outcome_totals(**span, by=["callback_type"])
    by_agent = rollups.outcome_totals(**span, by=["agent"])
    by_branch = rollups.outcome_totals(**span, by=["branch"])
    [whole] = rollups.outcome_totals(**span)
    [calls] = rollups.call_totals(start=period.start, end=period.end, user=user, branch_id=branch_id)
    types = dict(CallbackType.objects.values_list("id", "name"))
    agents = {pk: f"{name or username}（{agent_no}）" if agent_no else (name or username)
              for pk, name, username, agent_no in User.objects.filter(
                  pk__in=[row["agent_id"] for row in by_agent]).values_list("id", "name", "username", "agent_no")}
    branches = dict(Branch.objects.values_list("id", "name"))
    report = Report(code="daily", title="回访日报" if period.kind == "day" else f"回访{_kind_title(period.kind)}",
                    period=period, scope=branches.get(branch_id, "") if branch_id else "")
    report.figures = [
        Figure("外呼次数", f"{whole['attempts']:,}", "回访登记的条数"),
        Figure("外呼成功率", share(whole["connected"], whole["attempts"]), "接通次数 ÷ 外呼次数"),
        Figure("成功回访数", f"{whole['successes']:,}", "回访结果为“成功回访”的登记数"),
        Figure("通话时长", f"{calls['talk_seconds'] / 60:,.0f} 分钟", "接通到挂断的时长之和"),
    ]
    report.tables = [
        _table("按回访类型", "回访类型", by_type, "callback_type_id", types),
        _table("按回访人员", "回访人员", by_agent, "agent_id", agents),
        _table("按营业部", "营业部", by_branch, "branch_id", branches),
    ]
    first = report.tables[0]
    report.charts = [Chart("各回访类型的外呼与成功", {
        "tooltip": {}, "legend": {"data": ["外呼次数", "成功回访数"]},
        "xAxis": {"type": "category", "data": [row[0] for row in first.rows]},
        "yAxis": {"type": "value"},
        "series": [{"name": "外呼次数", "type": "bar", "data": [row[1] for row in first.rows]},
                   {"name": "成功回访数", "type": "bar", "data": [row[3] for row in first.rows]}],
    })]
    return report


def _kind_title(kind: str) -> str:
    return {"week": "周报", "month": "月报", "quarter": "季报", "half": "半年报", "year": "年报"}.get(kind, "日报")
