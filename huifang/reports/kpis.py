"""The KPIs of the callback centre (回访指标), defined as data: each has a code, a Chinese name, its formula written
out in Chinese, an optional target with its direction, and a measure that counts its numerator and denominator
in the database, in all or grouped by branch or agent. The report "kpis" (回访指标) shows them all; the
quarterly roll-up shares the callback counts (`callback_counts`).

Where the figures come from:
- contact rate, average handle time, successes per agent-day: the roll-ups (calls.rollups), by the day of the
  registration / the call, the call's branch and agent;
- success rate, on-time rate, questionnaire completion: the callbacks due in the period (due date in the period,
  cancelled ones left out: a cancelled callback is no task any more), by the callback's branch and its agent;
- quota fulfilment: the callback types with a quota (CallbackType.quota / quota_period) and the population their
  sample rule draws from;
- annual coverage: the customers, their closing events and the successful registrations of the year."""

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from huifang.calendars.queries import CalendarNotCovered, work_calendar
from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import CallCallback
from huifang.campaigns.choices import RuleKind
from huifang.campaigns.compiler import customer_q
from huifang.campaigns.models import CallbackType, Rule
from huifang.campaigns.rule_kinds import SampleRule, parse_rule
from huifang.customers.choices import CustomerStatus, EventType
from huifang.customers.models import Customer, CustomerEvent
from huifang.org.models import Branch, User
from huifang.org.queries import visible_branches
from huifang.org.scoping import branch_q
from huifang.reports.periods import Period, period_containing
from huifang.reports.registry import register
from huifang.reports.tables import Chart, Figure, Report, Table
from huifang.surveys.choices import ResponseStatus
from huifang.surveys.models import Response

#: (numerator, denominator) per group key; the key is None when not grouped
Counts = dict[Any, tuple[float, float]]
#: measure(user, period, branch_id, agent_id, by) with by None, "branch" or "agent"
Measure = Callable[[Any, Period, int | None, int | None, str | None], Counts]

STATUS_TEXT = {"ok": "达标", "warn": "接近目标", "bad": "未达标", "": ""}
#: within this share of the target a KPI is "near" (warn) rather than missed (bad)
NEAR = 0.1


# --- definitions ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """What a KPI should reach: at least (">=") or at most ("<=") `value`, or the Django setting `setting`
    (read each time, so a changed setting applies at once)."""

    direction: str
    value: float = 0.0
    setting: str = ""

    def resolved(self) -> float:
        return float(getattr(settings, self.setting)) if self.setting else self.value

    def status(self, value: float | None) -> str:
        """"ok" when reached, "warn" when within NEAR of it, "bad" otherwise; "" without a value."""
        if value is None:
            return ""
        goal = self.resolved()
        if self.direction == ">=":
            return "ok" if value >= goal else "warn" if value >= goal * (1 - NEAR) else "bad"
        return "ok" if value <= goal else "warn" if value <= goal * (1 + NEAR) else "bad"


@dataclass(frozen=True)
class Kpi:
    code: str
    #: 名称, in Chinese
    name: str
    #: the formula in Chinese, numerator and denominator spelled out
    formula: str
    measure: Measure
    #: how the value reads: "percent", "seconds" or "number"
    unit: str = "percent"
    target: Target | None = None
    #: the groupings it is counted by (the agent table leaves out those without "agent")
    groups: tuple[str, ...] = ("branch", "agent")

    def compute(self, user: Any, period: Period, branch_id: int | None,
                agent_id: int | None = None) -> tuple[float, float, float | None]:
        """(numerator, denominator, value) over what `user` sees; value None when the denominator is 0."""
        numerator, denominator = self.compute_by(None, user, period, branch_id, agent_id).get(None, (0, 0))
        return numerator, denominator, ratio(numerator, denominator)

    def compute_by(self, by: str | None, user: Any, period: Period, branch_id: int | None,
                   agent_id: int | None = None) -> Counts:
        if agent_id is not None and "agent" not in self.groups:
            raise ValueError(f"“{self.name}”不按回访人员统计")
        if by is not None and by not in self.groups:
            raise ValueError(f"“{self.name}”不按 {by} 统计")
        found = self.measure(user, period, branch_id, agent_id, by)
        if by is None:
            found.setdefault(None, (0, 0))
        return found

    def format(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.unit == "percent":
            return f"{value:.1%}"
        if self.unit == "seconds":
            minutes, seconds = divmod(round(value), 60)
            return f"{minutes}分{seconds:02d}秒"
        return f"{value:,.1f}"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        goal = self.target.resolved()
        shown = f"{goal:.0%}" if self.unit == "percent" else f"{goal:g}"
        return f"{'≥' if self.target.direction == '>=' else '≤'} {shown}"

    def status(self, value: float | None) -> str:
        return self.target.status(value) if self.target is not None else ""


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# --- shared counts --------------------------------------------------------------------------------------------

def due_callbacks(user: Any, period: Period, branch_id: int | None = None,
                  agent_id: int | None = None) -> QuerySet[Callback]:
    """The callbacks due in the period (due date in [start, end]) that `user` sees, cancelled ones left out."""
    rows = Callback.objects.visible_to(user).filter(due_date__gte=period.start, due_date__lte=period.end) \
        .exclude(state=State.CANCELLED)
    if branch_id is not None:
        rows = rows.filter(branch_id=branch_id)
    if agent_id is not None:
        rows = rows.filter(agent_id=agent_id)
    return rows


#: done and its last outcome 成功回访
SUCCESS_Q = Q(state=State.DONE, result=rollups.SUCCESS)
#: done on or before its due date: the local date (settings.TIME_ZONE) of closing ≤ the due date
ON_TIME_Q = Q(state=State.DONE, closed_at__isnull=False, closed_at__date__lte=F("due_date"))


def callback_counts(rows: QuerySet[Callback], by: Iterable[str]) -> list[dict[str, Any]]:
    """due / done / success / on_time over `rows`, grouped by the fields `by` (e.g. branch_id, callback_type_id)."""
    columns = list(by)
    sums = {"due": Count("id"), "done": Count("id", filter=Q(state=State.DONE)),
            "success": Count("id", filter=SUCCESS_Q), "on_time": Count("id", filter=ON_TIME_Q)}
    if not columns:
        return [rows.aggregate(**sums)]
    return list(rows.values(*columns).annotate(**sums).order_by(*columns))


_GROUP = {None: [], "branch": ["branch_id"], "agent": ["agent_id"]}


def _keyed(rows: list[dict[str, Any]], by: str | None, numerator: str, denominator: str) -> Counts:
    column = _GROUP[by][0] if by else None
    return {(row[column] if column else None): (row[numerator], row[denominator]) for row in rows}


# --- the measures -----------------------------------------------------------------------------------------------

def _span(user: Any, period: Period, branch_id: int | None, agent_id: int | None) -> dict[str, Any]:
    return {"start": period.start, "end": period.end, "user": user, "branch_id": branch_id, "agent_id": agent_id}


def _contact(user: Any, period: Period, branch_id: int | None, agent_id: int | None, by: str | None) -> Counts:
    rows = rollups.outcome_totals(**_span(user, period, branch_id, agent_id), by=[by] if by else [])
    return _keyed(rows, by, "connected", "attempts")


def _handle_time(user: Any, period: Period, branch_id: int | None, agent_id: int | None, by: str | None) -> Counts:
    rows = rollups.call_totals(**_span(user, period, branch_id, agent_id), by=[by] if by else [])
    return _keyed(rows, by, "handle_seconds", "calls")


def _per_agent_day(user: Any, period: Period, branch_id: int | None, agent_id: int | None,
                   by: str | None) -> Counts:
    successes = _keyed(rollups.outcome_totals(**_span(user, period, branch_id, agent_id), by=[by] if by else []),
                       by, "successes", "attempts")
    calendar = work_calendar()
    working: dict[dt.date, bool] = {}
    agent_days: dict[Any, set[tuple[int, dt.date]]] = defaultdict(set)
    group = ["day", "agent", *(["branch"] if by == "branch" else [])]
    for row in rollups.call_totals(**_span(user, period, branch_id, agent_id), by=group):
        if row["calls"] <= 0:
            continue
        day = row["day"]
        if day not in working:
            working[day] = calendar.is_working_day(day)
        if working[day]:
            key = row["branch_id"] if by == "branch" else row["agent_id"] if by == "agent" else None
            agent_days[key].add((row["agent_id"], day))
    keys = set(successes) | set(agent_days)
    return {key: (successes.get(key, (0, 0))[0], len(agent_days.get(key, ()))) for key in keys}


def _success(user: Any, period: Period, branch_id: int | None, agent_id: int | None, by: str | None) -> Counts:
    rows = callback_counts(due_callbacks(user, period, branch_id, agent_id), _GROUP[by])
    return _keyed(rows, by, "success", "due")


def _on_time(user: Any, period: Period, branch_id: int | None, agent_id: int | None, by: str | None) -> Counts:
    rows = callback_counts(due_callbacks(user, period, branch_id, agent_id), _GROUP[by])
    return _keyed(rows, by, "on_time", "due")


def questionnaire_complete_q() -> Q:
    """The callback's questionnaire is complete, as callbacks.attempts.questionnaire_complete decides it: its own
    response (Callback.response) is complete; or, without one, the customer has a complete response to the
    callback's questionnaire version started after the callback was created (for its business event, if any)."""
    complete = Response.objects.filter(customer_id=OuterRef("customer_id"),
                                       version_id=OuterRef("questionnaire_version_id"),
                                       status=ResponseStatus.COMPLETE, started_at__gte=OuterRef("created_at"))
    return (Q(response__isnull=False, response__status=ResponseStatus.COMPLETE)
            | Q(response__isnull=True, event__isnull=True) & Q(Exists(complete))
            | Q(response__isnull=True, event__isnull=False) & Q(Exists(complete.filter(event_id=OuterRef("event_id")))))


def _completion(user: Any, period: Period, branch_id: int | None, agent_id: int | None, by: str | None) -> Counts:
    connected = CallCallback.objects.filter(callback_id=OuterRef("pk"), outcome__connected=True)
    rows = due_callbacks(user, period, branch_id, agent_id).filter(questionnaire_version__isnull=False) \
        .filter(Exists(connected))
    sums = {"reached": Count("id"), "complete": Count("id", filter=questionnaire_complete_q())}
    columns = _GROUP[by]
    found = [rows.aggregate(**sums)] if not columns else list(rows.values(*columns).annotate(**sums).order_by())
    return _keyed(found, by, "complete", "reached")


# --- quota fulfilment -------------------------------------------------------------------------------------------

@dataclass
class QuotaUnit:
    """One quota to meet: a client manager's month (客户经理客户回访) or a branch's quarter (基金/理财产品回访)."""

    callback_type: str
    period_key: str
    branch_id: int
    #: the client manager, for a quota per manager; None for a quota per branch
    manager_id: int | None
    #: the population the sample is drawn from
    eligible: int
    #: min(quota, eligible)
    required: int
    #: distinct customers with a successful callback of the type for the period
    achieved: int
    #: the quota period has not ended yet
    running: bool = False

    @property
    def met(self) -> bool:
        return self.achieved >= self.required


_QUOTA_KINDS = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}


def _quota_periods(kind: str, period: Period) -> list[Period]:
    found, day = [], period.start
    while day <= period.end:
        current = period_containing(kind, day)
        found.append(current)
        day = current.end + dt.timedelta(days=1)
    return found


def _sample_rule(callback_type: CallbackType) -> SampleRule | None:
    for rule in Rule.objects.filter(callback_type=callback_type, kind=RuleKind.SAMPLE, is_active=True).order_by("id"):
        config = parse_rule(rule.kind, rule.config)
        if isinstance(config, SampleRule):
            return config
    return None


def quota_units(user: Any, period: Period, branch_id: int | None = None) -> list[QuotaUnit]:
    """Every quota of the quota periods that overlap `period` (each counted over its whole quota period), for
    the branches `user` sees. A type's quota is per client manager or per branch as its sample rule groups
    (group_by); the population is the customers its rule's conditions select as of the quota period's first day
    (and, with bought_in_period, who had such events in the quota period); without a sample rule, the customers
    with a callback of the type for the period. Achieved: distinct customers whose callback of the type for that
    period (period key) is done with 成功回访."""
    today = timezone.localdate()
    units: list[QuotaUnit] = []
    customers = Customer.objects.visible_to(user)
    callbacks = Callback.objects.filter(branch_q(user, "customer__branch"))
    if branch_id is not None:
        customers = customers.filter(branch_id=branch_id)
        callbacks = callbacks.filter(customer__branch_id=branch_id)
    for callback_type in CallbackType.objects.filter(quota__isnull=False, is_active=True).exclude(quota_period="") \
            .order_by("id"):
        kind = _QUOTA_KINDS.get(callback_type.quota_period)
        quota = int(callback_type.quota or 0)
        if kind is None or quota <= 0:
            continue
        config = _sample_rule(callback_type)
        by_manager = config is not None and config.group_by == "manager"
        group = ["branch_id", "manager_id"] if by_manager else ["branch_id"]
        for quota_period in _quota_periods(kind, period):
            of_type = callbacks.filter(callback_type=callback_type, period_key=quota_period.key)
            if config is not None:
                population = customers
                for condition in config.customer_conditions:
                    population = population.filter(customer_q(condition, path="", as_of=quota_period.start))
                if by_manager:
                    population = population.filter(manager__isnull=False)
                if config.bought_in_period:
                    low, high = quota_period.bounds()
                    bought = CustomerEvent.objects.filter(customer_id=OuterRef("pk"), type__in=config.bought_in_period,
                                                          occurred_at__gte=low, occurred_at__lt=high)
                    population = population.filter(Exists(bought))
            else:
                population = customers.filter(Exists(of_type.exclude(state=State.CANCELLED)
                                                      .filter(customer_id=OuterRef("pk"))))
            eligible = {tuple(row[c] for c in group): row["n"]
                        for row in population.values(*group).annotate(n=Count("id")).order_by()}
            achieved_rows = of_type.filter(SUCCESS_Q).values(
                *[f"customer__{c}" for c in group]).annotate(n=Count("customer_id", distinct=True)).order_by()
            achieved = {tuple(row[f"customer__{c}"] for c in group): row["n"] for row in achieved_rows}
            for key, n in sorted(eligible.items(), key=lambda item: tuple(v or 0 for v in item[0])):
                units.append(QuotaUnit(
                    callback_type=callback_type.name, period_key=quota_period.key, branch_id=key[0],
                    manager_id=key[1] if by_manager else None, eligible=n, required=min(quota, n),
                    achieved=achieved.get(key, 0), running=quota_period.end >= today))
    return units


def _quota(user: Any, period: Period, branch_id: int | None, agent_id: int | None, by: str | None) -> Counts:
    met: Counter[Any] = Counter()
    total: Counter[Any] = Counter()
    for unit in quota_units(user, period, branch_id):
        if unit.required <= 0:
            continue
        key = unit.branch_id if by == "branch" else None
        total[key] += 1
        met[key] += int(unit.met)
    return {key: (met[key], total[key]) for key in total}


# --- annual coverage ------------------------------------------------------------------------------------------

CLOSED_STATUSES = (CustomerStatus.CLOSED, CustomerStatus.DESIGNATION_WITHDRAWN)
CLOSING_EVENTS = (EventType.ACCOUNT_CLOSED, EventType.DESIGNATION_WITHDRAWN)


def coverage_base(user: Any, year: int, branch_id: int | None = None) -> QuerySet[Customer]:
    """The customers of the previous year's end, as far as the data tells: opened on or before 31 December of
    year - 1 (open date known), not dormant now (dormancy has no history), and not closed / designation withdrawn
    unless the closing event came after that year end (then they were still customers at it)."""
    zone = timezone.get_current_timezone()
    year_start = dt.datetime(year, 1, 1, tzinfo=zone)
    closed_later = CustomerEvent.objects.filter(customer_id=OuterRef("pk"), type__in=CLOSING_EVENTS,
                                                occurred_at__gte=year_start)
    rows = Customer.objects.visible_to(user).filter(open_date__isnull=False, open_date__lte=dt.date(year - 1, 12, 31)) \
        .exclude(status=CustomerStatus.DORMANT) \
        .exclude(Q(status__in=CLOSED_STATUSES) & ~Q(Exists(closed_later)))
    if branch_id is not None:
        rows = rows.filter(branch_id=branch_id)
    return rows


def _coverage(user: Any, period: Period, branch_id: int | None, agent_id: int | None, by: str | None) -> Counts:
    year = period.end.year
    zone = timezone.get_current_timezone()
    low = dt.datetime(year, 1, 1, tzinfo=zone)
    high = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    # an uncorrelated IN (the database reads the year's successes once), not an EXISTS per customer
    succeeded = CallCallback.objects.filter(outcome__code=rollups.SUCCESS, registered_at__gte=low,
                                            registered_at__lt=high).values("callback__customer_id")
    base = coverage_base(user, year, branch_id)
    sums = {"customers": Count("id"), "covered": Count("id", filter=Q(pk__in=succeeded))}
    found: list[dict[str, Any]] = (
        [base.aggregate(**sums)] if by is None
        else [dict(row) for row in base.values("branch_id").annotate(**sums).order_by()])
    return _keyed(found, by, "covered", "customers")


# --- the catalogue ------------------------------------------------------------------------------------------------

KPIS: tuple[Kpi, ...] = (
    Kpi("contact_rate", "外呼成功率",
        "外呼成功率 = 接通次数 ÷ 外呼次数（回访登记计，按登记日；一次通话服务多个任务时各计一次）",
        _contact),
    Kpi("success_rate", "回访成功率",
        "回访成功率 = 本期到期任务中已完成且结果为“成功回访”的任务数 ÷ 本期到期任务数"
        "（到期日在本期内，不含已取消）",
        _success),
    Kpi("questionnaire_completion", "问卷完成率",
        "问卷完成率 = 本期到期、带问卷且至少接通过一次的任务中问卷已完成（答卷状态“已完成”）的任务数 ÷ "
        "本期到期、带问卷且至少接通过一次的任务数（不含已取消）",
        _completion),
    Kpi("handle_time", "平均处理时长",
        "平均处理时长 = 处理时长之和（拨号到挂断）÷ 通话次数（已结束的通话，按拨号日）",
        _handle_time, unit="seconds"),
    Kpi("successes_per_agent_day", "人均日成功回访数",
        "人均日成功回访数 = 成功回访数 ÷ 坐席工作日数（每位坐席在本期内有外呼的工作日天数之和）",
        _per_agent_day, unit="number", target=Target(">=", setting="HUIFANG_DAILY_SUCCESS_TARGET")),
    Kpi("on_time_rate", "按时完成率",
        "按时完成率 = 本期到期任务中在到期日当天或之前（完成时间的本地日期 ≤ 到期日）完成的任务数 ÷ "
        "本期到期任务数（不含已取消）",
        _on_time),
    Kpi("quota_fulfilment", "定额完成率",
        "定额完成率 = 达到定额的考核单位数 ÷ 考核单位数；考核单位：客户经理客户回访每位客户经理每月"
        "成功回访 ≥ min(3, 开户满 3 个月的正常客户数)，基金/理财产品回访每个营业部每季度成功回访 ≥ "
        "min(30, 本季度购买产品的客户数)（按回访类型的定额与抽样规则；报表期所涉的每个定额周期按整期计）",
        _quota, target=Target(">=", 1.0), groups=("branch",)),
    Kpi("annual_coverage", "年度回访覆盖率",
        "年度回访覆盖率 = 上年末客户中本年初至期末有“成功回访”登记的客户数 ÷ 上年末客户数；"
        "上年末客户 = 开户日期不晚于上年 12 月 31 日、当前非休眠，且未销户/撤指定（销户、撤指定事件"
        "在本年内发生的仍计入）的客户（近似：休眠状态无历史记录，按当前状态）",
        _coverage, target=Target(">=", setting="HUIFANG_COVERAGE_GOAL"), groups=("branch",)),
)

KPI_BY_CODE = {kpi.code: kpi for kpi in KPIS}


# --- the report ---------------------------------------------------------------------------------------------------

def agent_label(name: str, username: str, agent_no: str | None) -> str:
    return f"{name or username}（{agent_no}）" if agent_no else (name or username)


def agent_names(ids: Iterable[Any]) -> dict[Any, str]:
    wanted = [pk for pk in ids if pk is not None]
    names = {pk: agent_label(name, username, agent_no) for pk, name, username, agent_no in
             User.objects.filter(pk__in=wanted).values_list("id", "name", "username", "agent_no")}
    names[None] = "未分配"
    return names


@dataclass
class _Computed:
    kpi: Kpi
    total: tuple[float, float, float | None] = (0, 0, None)
    by: dict[str, Counts] = field(default_factory=dict)
    error: str = ""


def _compute_all(user: Any, period: Period, branch_id: int | None) -> list[_Computed]:
    found = []
    for kpi in KPIS:
        item = _Computed(kpi)
        try:
            item.total = kpi.compute(user, period, branch_id)
            for by in kpi.groups:
                item.by[by] = kpi.compute_by(by, user, period, branch_id)
        except CalendarNotCovered as error:
            item.error = str(error)
        found.append(item)
    return found


def _value(item: _Computed, counts: tuple[float, float] | None) -> str:
    if counts is None:
        return "—"
    return item.kpi.format(ratio(*counts))


def _number(value: float) -> Any:
    return int(value) if float(value).is_integer() else round(value, 2)


@register("kpis", title="回访指标", order=40,
          description="外呼成功率、回访成功率、问卷完成率、平均处理时长、人均日成功回访数、按时完成率、定额完成率、"
                      "年度覆盖率：每项附公式与目标，按营业部、回访人员")
def kpi_report(user: Any, period: Period, branch_id: int | None) -> Report:
    computed = _compute_all(user, period, branch_id)
    branches = dict(Branch.objects.values_list("id", "name"))
    report = Report(code="kpis", title="回访指标", period=period,
                    scope=branches.get(branch_id, "") if branch_id else "")
    overview = Table(title="指标一览", headers=["指标", "公式", "分子", "分母", "数值", "目标", "状态"],
                     note="分子、分母按公式计；“—”：分母为 0。")
    for index, item in enumerate(computed):
        kpi = item.kpi
        numerator, denominator, value = item.total
        status = kpi.status(value)
        shown = kpi.format(value) if not item.error else "—"
        report.figures.append(Figure(kpi.name, shown, kpi.formula, status if not item.error else ""))
        overview.rows.append([kpi.name, kpi.formula, _number(numerator), _number(denominator), shown,
                              kpi.target_text(), STATUS_TEXT[status] if not item.error else item.error])
        if status == "bad" or item.error:
            overview.flagged.add(index)
        if item.error:
            report.notes.append(f"{kpi.name}：{item.error}")
    report.tables.append(overview)

    branch_kpis = [item for item in computed if "branch" in item.kpi.groups]
    branch_ids = sorted({key for item in branch_kpis for key in item.by.get("branch", {})},
                        key=lambda pk: branches.get(pk, ""))
    visible = set(visible_branches(user).values_list("id", flat=True))
    by_branch = Table(title="按营业部", headers=["营业部", *[item.kpi.name for item in branch_kpis]],
                      note="各指标的口径见“指标一览”；营业部：通话的营业部（外呼、时长、人均日成功）或任务的营业部（其余）。")
    for pk in branch_ids:
        if pk not in visible:
            continue
        by_branch.rows.append([branches.get(pk, str(pk)),
                               *[_value(item, item.by.get("branch", {}).get(pk)) for item in branch_kpis]])
    by_branch.total = ["合计", *[item.kpi.format(item.total[2]) if not item.error else "—" for item in branch_kpis]]
    report.tables.append(by_branch)

    agent_kpis = [item for item in computed if "agent" in item.kpi.groups]
    agent_ids = {key for item in agent_kpis for key in item.by.get("agent", {})}
    names = agent_names(agent_ids)
    by_agent = Table(title="按回访人员", headers=["回访人员", *[item.kpi.name for item in agent_kpis]],
                     note="回访人员：通话的坐席（外呼、时长、人均日成功）或任务的当前坐席（其余；“未分配”：尚无坐席）。"
                          "定额与覆盖率按营业部考核，不按人员统计。")
    target = KPI_BY_CODE["successes_per_agent_day"]
    per_day = next(item for item in agent_kpis if item.kpi is target)
    for pk in sorted(agent_ids, key=lambda key: names.get(key, "")):
        by_agent.rows.append([names.get(pk, str(pk)),
                              *[_value(item, item.by.get("agent", {}).get(pk)) for item in agent_kpis]])
        counts = per_day.by.get("agent", {}).get(pk)
        if counts is not None and target.status(ratio(*counts)) == "bad":
            by_agent.flagged.add(len(by_agent.rows) - 1)
    report.tables.append(by_agent)

    units = quota_units(user, period, branch_id)
    managers = agent_names({unit.manager_id for unit in units})
    quotas = Table(title="定额完成情况",
                   headers=["回访类型", "定额周期", "营业部", "客户经理", "可抽样客户数", "应完成", "已成功",
                            "是否达标"],
                   note="应完成 = min(定额, 可抽样客户数)；已成功 = 该周期成功回访的不同客户数；未达标的行标出。")
    for unit in units:
        quotas.rows.append([unit.callback_type, unit.period_key, branches.get(unit.branch_id, ""),
                            managers.get(unit.manager_id, "") if unit.manager_id else "—", unit.eligible,
                            unit.required, unit.achieved,
                            "达标" if unit.met else ("进行中" if unit.running else "未达标")])
        if not unit.met:
            quotas.flagged.add(len(quotas.rows) - 1)
    report.tables.append(quotas)

    names_row = [row[0] for row in by_branch.rows]
    rate_items = [item for item in branch_kpis if item.kpi.unit == "percent"
                  and item.kpi.code in ("contact_rate", "success_rate", "on_time_rate")]
    report.charts.append(Chart("各营业部的外呼成功率、回访成功率与按时完成率", {
        "tooltip": {}, "legend": {"data": [item.kpi.name for item in rate_items]},
        "xAxis": {"type": "category", "data": names_row},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}, "max": 100},
        "series": [{"name": item.kpi.name, "type": "bar",
                    "data": [round(100 * (ratio(*item.by["branch"][pk]) or 0), 1)
                             if pk in item.by.get("branch", {}) else 0
                             for pk in branch_ids if pk in visible]} for item in rate_items],
    }))
    return report
