"""Trigger rules compiled to one query each: the candidates of a run, built with Django expressions and evaluated
by the database over every customer at once — never a Python loop over customers.

`compile_rule` turns a rule (its kind's validated config), its callback type and the as-of date into a
`CompiledRule`:
- `base`: the rows the rule looks at (the events in its window, or the customers);
- `conditions`: each condition of the rule as a labelled step over `base`, so that `explain` can apply them one
  by one to one customer's rows — the same expressions, not a second implementation;
- `select_sql()`: one SELECT of the candidate callbacks with the columns of `CANDIDATE_COLUMNS`, which
  callbacks.services wraps in INSERT … SELECT (or, for a dry run, in a count per branch).

Dates come from `rules` through the calendar: the compiler asks for the due date, period key, expiry and
not-before day of every trigger day the window can hold (a few hundred at most) and hands them to the
database as CASE expressions over the trigger day."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat, Greatest, RowNumber, TruncDate

from huifang.campaigns import rules
from huifang.campaigns.models import CallbackType, Rule
from huifang.campaigns.rule_kinds import (
    CHANGE_EVENTS,
    AttributeRule,
    ClusterRule,
    CustomerCondition,
    DataCondition,
    EventRule,
    RuleConfig,
    SampleRule,
    parse_rule,
)
from huifang.customers.models import Customer, CustomerEvent
from huifang.lib.workdays import CalendarNotCovered, WorkCalendar

#: the columns of a compiled rule's SELECT, in order
CANDIDATE_COLUMNS = ("customer_id", "branch_id", "event_id", "trigger_day", "period_key", "due_date",
                     "not_before", "expires_on")


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


class LocalDay(Func):
    """The local calendar day of a timestamp. SQLite: date() shifted by the zone's fixed offset (Asia/Shanghai
    has had no daylight saving since 1991) — TruncDate would call a Python function for every row; PostgreSQL:
    AT TIME ZONE. Only for windows over which the zone's offset does not change (checked by `local_day`)."""

    output_field = DateField()

    def __init__(self, expression: Any, *, zone: str, offset_seconds: int) -> None:
        super().__init__(expression)
        self.zone, self.offset_seconds = zone, offset_seconds

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, '{self.offset_seconds:+d} seconds')", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql}) AT TIME ZONE %s)::date", (*params, self.zone)


def local_day(field_name: str, days: list[dt.date]) -> Any:
    """The local day of `field_name`, for timestamps within `days`."""
    zone = local_zone()
    offsets = {dt.datetime.combine(day, dt.time(12), tzinfo=zone).utcoffset() for day in (days[0], days[-1])}
    if len(offsets) != 1 or connection.vendor not in ("sqlite", "postgresql"):
        return TruncDate(field_name, tzinfo=zone)
    offset = next(iter(offsets))
    assert offset is not None
    return LocalDay(F(field_name), zone=str(zone), offset_seconds=int(offset.total_seconds()))


@dataclass(frozen=True)
class Condition:
    """One condition of a rule, applied to a queryset of the rule's base rows. `grouped` conditions apply
    after the rows are grouped per customer and day (a daily sum)."""

    label: str
    apply: Callable[[QuerySet[Any]], QuerySet[Any]]
    grouped: bool = False


@dataclass
class CompiledRule:
    rule: Rule
    callback_type: CallbackType
    config: RuleConfig
    as_of: dt.date
    base: QuerySet[Any]
    #: restricts `base` to one customer (explain)
    for_customer: Callable[[QuerySet[Any], int], QuerySet[Any]]
    conditions: list[Condition]
    #: base + conditions -> the candidates' queryset with CANDIDATE_COLUMNS (maybe more)
    finish: Callable[[QuerySet[Any]], QuerySet[Any]]
    #: SQL wrapped around the candidates (the sample rule's second window); "{inner}" is replaced
    wrapper: str = ""
    wrapper_params: list[Any] = field(default_factory=list)
    #: trigger days left out (calendar not covered), in words
    warnings: list[str] = field(default_factory=list)

    def candidates(self, base: QuerySet[Any] | None = None) -> QuerySet[Any]:
        rows = self.base if base is None else base
        rows = _apply(rows, [c for c in self.conditions if not c.grouped])
        return self.finish(rows)

    def select_sql(self, base: QuerySet[Any] | None = None) -> tuple[str, list[Any]]:
        """One SELECT of CANDIDATE_COLUMNS, ready to be wrapped in INSERT … SELECT."""
        queryset = self.candidates(base)
        sql, params = queryset.query.sql_with_params()
        columns = ", ".join(f"c.{name}" for name in CANDIDATE_COLUMNS)
        inner = f"({sql})"
        if self.wrapper:
            inner = "(" + self.wrapper.replace("{inner}", inner) + ")"
            params = (*params, *self.wrapper_params)
        return f"SELECT {columns} FROM {inner} c", list(params)

    def explain(self, customer_id: int) -> list[dict[str, Any]]:
        """Each condition of the rule for one customer: whether it holds on its own, in the rule's order, and
        finally whether the whole rule selects the customer. Built from the same conditions as the run."""
        own = self.for_customer(self.base, customer_id)
        steps = []
        for condition in self.conditions:
            if condition.grouped:
                ungrouped = _apply(own, [c for c in self.conditions if not c.grouped])
                holds = condition.apply(ungrouped).exists()
            else:
                holds = condition.apply(own).exists()
            steps.append({"condition": condition.label, "holds": holds})
        sql, params = self.select_sql(own)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) e WHERE e.customer_id = %s", [*params, customer_id])
            selected = cursor.fetchone()[0] > 0
        steps.append({"condition": "全部条件（含配额与抽样）", "holds": selected})
        return steps


def _apply(rows: QuerySet[Any], conditions: list[Condition]) -> QuerySet[Any]:
    for condition in conditions:
        rows = condition.apply(rows)
    return rows


def _filter(q: Q) -> Callable[[QuerySet[Any]], QuerySet[Any]]:
    return lambda rows: rows.filter(q)


# --- customer conditions -------------------------------------------------------------------------------------

def _months_back(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    # The 31st of a shorter month is its last day.
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def _opened_q(path: str, op: str, n: int, cutoff: Callable[[int], dt.date]) -> Q:
    """"opened N (months|days) ago" op value, as a range of open_date: opened more than N ago is earlier than
    the cutoff N back from the as-of date."""
    field = f"{path}open_date"
    if op == "gte":
        return Q(**{f"{field}__lte": cutoff(n)})
    if op == "gt":
        return Q(**{f"{field}__lt": cutoff(n)})
    if op == "lte":
        return Q(**{f"{field}__gte": cutoff(n)})
    if op == "lt":
        return Q(**{f"{field}__gt": cutoff(n)})
    if op == "eq":
        return Q(**{f"{field}__lte": cutoff(n), f"{field}__gt": cutoff(n + 1)})
    return ~Q(**{f"{field}__lte": cutoff(n), f"{field}__gt": cutoff(n + 1)})


_LOOKUPS = {"eq": "exact", "in": "in", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


def _compare(lookup_path: str, op: str, value: Any) -> Q:
    if op == "ne":
        return ~Q(**{lookup_path: value})
    if op == "not_in":
        return ~Q(**{f"{lookup_path}__in": value})
    return Q(**{f"{lookup_path}__{_LOOKUPS[op]}": value})


def customer_q(condition: CustomerCondition, *, path: str, as_of: dt.date) -> Q:
    """One customer condition as a Q over `path` (\"\" on customers, \"customer__\" on events)."""
    name, op, value = condition.field, condition.op, condition.value
    if name == "opened_months_ago":
        return _opened_q(path, op, int(value), lambda n: _months_back(as_of, n)) & Q(
            **{f"{path}open_date__isnull": False})
    if name == "opened_days_ago":
        return _opened_q(path, op, int(value), lambda n: as_of - dt.timedelta(days=n)) & Q(
            **{f"{path}open_date__isnull": False})
    if name == "has_manager":
        has = bool(value) if op == "eq" else not bool(value)
        return Q(**{f"{path}manager__isnull": not has})
    if name == "branch":
        return _compare(f"{path}branch__code", op, value)
    return _compare(f"{path}{name}", op, value)


def _customer_conditions(conditions: list[CustomerCondition], *, path: str, as_of: dt.date) -> list[Condition]:
    return [Condition(c.describe(), _filter(customer_q(c, path=path, as_of=as_of))) for c in conditions]


# --- event data ----------------------------------------------------------------------------------------------

def data_text(key: str) -> Any:
    """An event data value as plain text. Cast, so that lookups compare text: a bare KeyTextTransform takes
    JSON lookups (its `in` parses the values as JSON on SQLite)."""
    return Cast(KeyTextTransform(key, "data"), CharField())


def _data_alias(key: str, numeric: bool) -> tuple[str, Any]:
    if numeric:
        return f"d_{key}_n", Cast(KeyTextTransform(key, "data"), FloatField())
    return f"d_{key}_t", data_text(key)


def _data_condition(condition: DataCondition) -> Condition:
    numeric = condition.op in {"gt", "gte", "lt", "lte"} or (
        not isinstance(condition.value, bool) and isinstance(condition.value, int | float))
    name, expression = _data_alias(condition.key, numeric)
    value: Any = condition.value
    if not numeric:
        value = [str(v) for v in value] if isinstance(value, list) else str(value)

    def apply(rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.alias(**{name: expression}).filter(_compare(name, condition.op, value))

    return Condition(condition.describe(), apply)


# --- dates ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DayFacts:
    due: dt.date
    period_key: str
    expires_on: dt.date
    not_before_day: dt.date | None


def _policies(rule_config: RuleConfig, callback_type: CallbackType) -> tuple[rules.Deadline, rules.NotBefore]:
    deadline = rules.parse_deadline(rule_config.deadline or callback_type.deadline)
    not_before = rules.parse_not_before(rule_config.not_before or callback_type.not_before)
    return deadline, not_before


class DaysNotCovered(Exception):
    """Some trigger days of a window need a calendar year the table does not cover: they are left out (their
    callbacks are created once the year is entered) and the run reports them."""

    def __init__(self, days: list[dt.date], years: set[int]) -> None:
        self.days, self.years = days, years
        listed = "、".join(str(year) for year in sorted(years))
        super().__init__(f"{len(days)} 个触发日（{days[0]} 至 {days[-1]}）的期限需要 {listed} 年的节假日日历，"
                         "日历未录入，这些触发日暂不生成；请管理员在 管理后台 › 日历 中补录")


def day_facts(calendar: WorkCalendar, days: list[dt.date], *, deadline: rules.Deadline,
              not_before: rules.NotBefore, period: str, skipped: list[DaysNotCovered] | None = None,
              ) -> dict[dt.date, DayFacts]:
    """What the calendar says for every trigger day. A day it cannot answer (its deadline falls in a year the
    table does not cover) is left out and reported in `skipped`; if every day is, CalendarNotCovered is
    raised."""
    facts = {}
    uncovered: list[dt.date] = []
    years: set[int] = set()
    for day in days:
        try:
            due = rules.due_date(calendar, day, deadline)
            not_before_day = rules.not_before_day(calendar, day, not_before)
        except CalendarNotCovered as error:
            uncovered.append(day)
            years.add(error.year)
            continue
        facts[day] = DayFacts(due=due, period_key="" if period == "event" else rules.period_key(day, period),
                              expires_on=max(due, rules.expires_on(due, period)),
                              not_before_day=not_before_day)
    if uncovered:
        if not facts:
            raise CalendarNotCovered(min(years))
        if skipped is not None:
            skipped.append(DaysNotCovered(uncovered, years))
    return facts


def typed(value: Any, output: Any) -> Any:
    """A constant with its SQL type spelled out: PostgreSQL takes a bare NULL parameter for text, which does
    not go into a bigint or timestamptz column of INSERT … SELECT."""
    if value is None:
        return Cast(Value(None, output_field=output), output)
    return Value(value, output_field=output)


class DayMap(Func):
    """CASE <trigger day> WHEN d1 THEN v1 WHEN d2 THEN v2 … END: the trigger day is computed once per row (a
    searched CASE would compute it for every WHEN). Days whose value is None are left to the ELSE NULL."""

    def __init__(self, trigger: str, mapping: list[tuple[dt.date, Any]], output: Any) -> None:
        super().__init__(F(trigger), output_field=output)
        self.mapping = mapping

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        parts, values = [], list(params)
        for day, value in self.mapping:
            parts.append("WHEN %s THEN %s")
            values += [connection.ops.adapt_datefield_value(day), self._adapt(connection, value)]
        return f"CASE {sql} {' '.join(parts)} ELSE NULL END", tuple(values)

    def _adapt(self, connection: Any, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date):
            return connection.ops.adapt_datefield_value(value)
        return value


def _by_day(trigger: str, facts: dict[dt.date, DayFacts], pick: Callable[[dt.date, DayFacts], Any],
            output: Any) -> Any:
    """pick(day, facts) for the trigger day of each row: a CASE over the trigger day, NULL for other days."""
    mapping = [(day, pick(day, f)) for day, f in facts.items()]
    mapping = [(day, value) for day, value in mapping if value is not None]
    if not mapping:
        return typed(None, output)
    return DayMap(trigger, mapping, output)


def _morning(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, rules.WORK_STARTS_AT, tzinfo=local_zone())


def _window_days(as_of: dt.date, lookback: int) -> list[dt.date]:
    return [as_of - dt.timedelta(days=back) for back in range(lookback, -1, -1)]


def _window_bounds(days: list[dt.date]) -> tuple[dt.datetime, dt.datetime]:
    zone = local_zone()
    start = dt.datetime.combine(days[0], dt.time(), tzinfo=zone)
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start, end


# --- the kinds -----------------------------------------------------------------------------------------------

def compile_rule(rule: Rule, *, as_of: dt.date, calendar: WorkCalendar,
                 called: Callable[[str], QuerySet[Any]]) -> CompiledRule:
    """The compiled form of `rule` as of `as_of`. `called(period_key)` gives the callbacks of the rule's type
    that count as "already called" in a period (the sample rule skips and counts them). Raises PolicyError for
    a config that does not validate, CalendarNotCovered for a window the calendar cannot answer."""
    config = parse_rule(rule.kind, rule.config)
    callback_type = rule.callback_type
    deadline, not_before = _policies(config, callback_type)
    period = callback_type.dedupe_period
    skipped: list[DaysNotCovered] = []
    compiled: CompiledRule
    if isinstance(config, EventRule):
        compiled = _event_rule(rule, config, as_of, calendar, skipped, deadline, not_before, period)
    elif isinstance(config, AttributeRule):
        if config.became is not None:
            compiled = _became_rule(rule, config, as_of, calendar, skipped, deadline, not_before, period)
        else:
            compiled = _attribute_rule(rule, config, as_of, calendar, skipped, deadline, not_before, period)
    elif isinstance(config, SampleRule):
        compiled = _sample_rule(rule, config, as_of, calendar, skipped, deadline, not_before, period, called)
    else:
        compiled = _cluster_rule(rule, config, as_of, calendar, skipped, deadline, not_before, period)
    compiled.warnings = [str(warning) for warning in skipped]
    return compiled


def _events_in_window(types: list[str], days: list[dt.date]) -> QuerySet[Any]:
    start, end = _window_bounds(days)
    return CustomerEvent.objects.filter(type__in=types, occurred_at__gte=start, occurred_at__lt=end)


def _event_finish(*, facts: dict[dt.date, DayFacts], not_before: rules.NotBefore, period: str,
                  grouped: list[Condition], per_event: bool) -> Callable[[QuerySet[Any]], QuerySet[Any]]:
    """Events grouped per customer and local day (and per event for `event` periods), with the dates."""
    days = sorted(facts)

    def finish(rows: QuerySet[Any]) -> QuerySet[Any]:
        keys = ["customer_id", "trigger_day"] + (["id"] if per_event else [])
        rows = rows.annotate(trigger_day=local_day("occurred_at", days)).values(*keys)
        rows = rows.annotate(event_id=Min("id"), branch_id=Min("customer__branch_id"))
        rows = _apply(rows, grouped)
        if per_event:
            period_key = Concat(Value("E"), Cast("id", CharField()), output_field=CharField())
        else:
            period_key = _by_day("trigger_day", facts, lambda _, f: f.period_key, CharField())
        if isinstance(not_before, rules.HoursAfter):
            moments = [Cast(Coalesce(KeyTextTransform(key, "data"), Cast("occurred_at", CharField())),
                            DateTimeField()) for key in not_before.after]
            latest = Greatest(Cast("occurred_at", DateTimeField()), *moments) if moments else F("occurred_at")
            nb: Any = Max(ExpressionWrapper(latest + Value(dt.timedelta(hours=not_before.hours)),
                                            output_field=DateTimeField()))
        else:
            nb = _by_day("trigger_day", facts, lambda _, f: _morning(f.not_before_day), DateTimeField())
        return rows.annotate(
            period_key=period_key,
            due_date=_by_day("trigger_day", facts, lambda _, f: f.due, DateField()),
            not_before=nb,
            expires_on=_by_day("trigger_day", facts, lambda _, f: f.expires_on, DateField()),
        ).order_by()

    return finish


def _event_rule(rule: Rule, config: EventRule, as_of: dt.date, calendar: WorkCalendar,
        skipped: list[DaysNotCovered], deadline: rules.Deadline,
                not_before: rules.NotBefore, period: str) -> CompiledRule:
    days = _window_days(as_of, config.lookback_days)
    facts = day_facts(calendar, days, deadline=deadline, not_before=not_before, period=period,
                      skipped=skipped)
    conditions = [Condition(f"事件类型 属于 {'、'.join(config.event_types)}，"
                            f"发生在 {days[0]} 至 {days[-1]}", lambda rows: rows)]
    conditions += [_data_condition(c) for c in config.data_conditions]
    conditions += _customer_conditions(config.customer_conditions, path="customer__", as_of=as_of)
    grouped = []
    if config.daily_sum is not None:
        _, total = _data_alias(config.daily_sum.key, numeric=True)
        threshold = config.daily_sum.gte

        def daily(rows: QuerySet[Any]) -> QuerySet[Any]:
            if "trigger_day" not in rows.query.annotations:
                rows = rows.annotate(trigger_day=local_day("occurred_at", days)).values(
                    "customer_id", "trigger_day")
            return rows.annotate(day_total=Sum(total)).filter(day_total__gte=threshold)

        grouped.append(Condition(config.daily_sum.describe(), daily, grouped=True))
    conditions += grouped
    return CompiledRule(
        rule=rule, callback_type=rule.callback_type, config=config, as_of=as_of,
        base=_events_in_window(config.event_types, days),
        for_customer=lambda rows, customer_id: rows.filter(customer_id=customer_id),
        conditions=conditions,
        finish=_event_finish(facts=facts, not_before=not_before, period=period, grouped=grouped,
                             per_event=period == "event"),
    )


def _became_rule(rule: Rule, config: AttributeRule, as_of: dt.date, calendar: WorkCalendar,
        skipped: list[DaysNotCovered],
                 deadline: rules.Deadline, not_before: rules.NotBefore, period: str) -> CompiledRule:
    """A change of a customer field, read from the change events the imports record."""
    assert config.became is not None
    days = _window_days(as_of, config.lookback_days)
    facts = day_facts(calendar, days, deadline=deadline, not_before=not_before, period=period,
                      skipped=skipped)
    became = config.became
    conditions = [Condition(f"{became.describe()}，变更发生在 {days[0]} 至 {days[-1]}", lambda rows: rows)]
    if became.field == "status":
        values = list(became.values)
        conditions[0] = Condition(conditions[0].label, lambda rows: rows.alias(
            d_new_status=data_text("new_status")).filter(
            Q(d_new_status__in=values) | Q(d_new_status__isnull=True, type__in=[
                {"closed": "account_closed", "designation_withdrawn": "designation_withdrawn"}.get(v, v)
                for v in values])))
        # The customer is still in that state (a closure reverted since does not count).
        conditions.append(Condition(f"客户当前状态 属于 {'、'.join(values)}",
                                    _filter(Q(customer__status__in=values))))
    conditions += _customer_conditions(config.customer_conditions, path="customer__", as_of=as_of)
    return CompiledRule(
        rule=rule, callback_type=rule.callback_type, config=config, as_of=as_of,
        base=_events_in_window(list(CHANGE_EVENTS[became.field]), days),
        for_customer=lambda rows, customer_id: rows.filter(customer_id=customer_id),
        conditions=conditions,
        finish=_event_finish(facts=facts, not_before=not_before, period=period, grouped=[],
                             per_event=period == "event"),
    )


def _customer_finish(trigger: Any, facts: dict[dt.date, DayFacts], period: str,
                     not_before: rules.NotBefore) -> Callable[[QuerySet[Any]], QuerySet[Any]]:
    def finish(rows: QuerySet[Any]) -> QuerySet[Any]:
        rows = rows.annotate(
            customer_id=F("id"), event_id=typed(None, BigIntegerField()), trigger_day=trigger,
        )
        if isinstance(not_before, rules.HoursAfter):
            hours = dt.timedelta(hours=not_before.hours)
            # Counted from the start of the trigger day: a customer row has no time of its own.
            nb: Any = _by_day("trigger_day", facts, lambda day, _: dt.datetime.combine(
                day, dt.time(), tzinfo=local_zone()) + hours, DateTimeField())
        else:
            nb = _by_day("trigger_day", facts, lambda _, f: _morning(f.not_before_day), DateTimeField())
        key = (Concat(Value("C"), Cast("id", CharField()), output_field=CharField()) if period == "event"
               else _by_day("trigger_day", facts, lambda _, f: f.period_key, CharField()))
        return rows.annotate(
            period_key=key,
            due_date=_by_day("trigger_day", facts, lambda _, f: f.due, DateField()),
            not_before=nb,
            expires_on=_by_day("trigger_day", facts, lambda _, f: f.expires_on, DateField()),
        ).values(*CANDIDATE_COLUMNS).order_by()

    return finish


def _attribute_rule(rule: Rule, config: AttributeRule, as_of: dt.date, calendar: WorkCalendar,
        skipped: list[DaysNotCovered],
                    deadline: rules.Deadline, not_before: rules.NotBefore, period: str) -> CompiledRule:
    conditions: list[Condition] = []
    trigger: Any
    if config.date_field == "open_date":
        days = _window_days(as_of, config.lookback_days)
        base = Customer.objects.filter(open_date__gte=days[0], open_date__lte=days[-1])
        conditions.append(Condition(f"开户日期 在 {days[0]} 至 {days[-1]}", lambda rows: rows))
        trigger = F("open_date")
    else:
        days = [as_of]
        base = Customer.objects.all()
        trigger = Value(as_of, output_field=DateField())
    facts = day_facts(calendar, days, deadline=deadline, not_before=not_before, period=period,
                      skipped=skipped)
    conditions += _customer_conditions(config.customer_conditions, path="", as_of=as_of)
    return CompiledRule(
        rule=rule, callback_type=rule.callback_type, config=config, as_of=as_of, base=base,
        for_customer=lambda rows, customer_id: rows.filter(pk=customer_id),
        conditions=conditions, finish=_customer_finish(trigger, facts, period, not_before),
    )


def _sample_rule(rule: Rule, config: SampleRule, as_of: dt.date, calendar: WorkCalendar,
        skipped: list[DaysNotCovered],
                 deadline: rules.Deadline, not_before: rules.NotBefore, period: str,
                 called: Callable[[str], QuerySet[Any]]) -> CompiledRule:
    if period in ("once", "event", "day"):
        raise rules.PolicyError("抽样规则的回访类型需要按周、月、季度或年去重")
    facts = day_facts(calendar, [as_of], deadline=deadline, not_before=not_before, period=period,
                      skipped=skipped)
    key = facts[as_of].period_key
    group = "manager_id" if config.group_by == "manager" else "branch_id"
    conditions = _customer_conditions(config.customer_conditions, path="", as_of=as_of)
    if config.group_by == "manager":
        conditions.append(Condition("有客户经理", _filter(Q(manager__isnull=False))))
    if config.bought_in_period:
        start = rules.period_start(as_of, period)
        events = _events_in_window(config.bought_in_period, _window_days(as_of, (as_of - start).days))
        bought = events.filter(customer_id=OuterRef("pk"))
        conditions.append(Condition(f"{start} 至 {as_of} 有事件 {'、'.join(config.bought_in_period)}",
                                    _filter(Q(Exists(bought)))))
    already = called(key)
    conditions.append(Condition(f"本期（{key}）尚未生成同类回访",
                                _filter(~Q(Exists(already.filter(customer_id=OuterRef("pk")))))))
    # Already called per group, counted once per group and joined (a correlated count per candidate is
    # quadratic in the group's size on SQLite).
    group_called_sql, group_called_params = (
        already.values(called_grp=F(f"customer__{group}")).annotate(called=Count("id"))
        .values("called_grp", "called").order_by().query.sql_with_params())
    band = Case(*(When(assets__gte=bound, then=Value(index)) for index, bound in
                  reversed(list(enumerate(config.asset_bands)))), default=Value(0), output_field=IntegerField())
    one = next(iter(facts.values()))
    nb = (_morning(one.not_before_day) if not isinstance(not_before, rules.HoursAfter)
          else dt.datetime.combine(as_of, dt.time(), tzinfo=local_zone()) + dt.timedelta(hours=not_before.hours))

    def finish(rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.annotate(
            customer_id=F("id"), event_id=typed(None, BigIntegerField()),
            trigger_day=Value(as_of, output_field=DateField()),
            period_key=Value(key, output_field=CharField()),
            due_date=Value(one.due, output_field=DateField()),
            not_before=typed(nb, DateTimeField()),
            expires_on=Value(one.expires_on, output_field=DateField()),
            grp=F(group), band=band,
            # a spread that is the same every run, and not the order of customer numbers
            rnk=Window(RowNumber(), partition_by=[F(group), band],
                       order_by=[(F("id") * Value(7919)) % Value(10007), F("id")]),
        ).values(*CANDIDATE_COLUMNS, "grp", "band", "rnk").order_by()

    # Round-robin over the bands: the first pick of every band, then the second... up to the group's need.
    wrapper = (f"SELECT {', '.join('p.' + c for c in CANDIDATE_COLUMNS)} FROM (SELECT s.*, ROW_NUMBER() OVER "
               "(PARTITION BY s.grp ORDER BY s.rnk, s.band) AS pick FROM {inner} s) p "
               f"LEFT JOIN ({group_called_sql}) g ON g.called_grp = p.grp "
               f"WHERE p.pick <= {int(config.at_least)} - COALESCE(g.called, 0)")
    conditions.append(Condition(f"每个{'客户经理' if group == 'manager_id' else '营业部'}本期至少 "
                                f"{config.at_least} 户（已有的计入）", lambda rows: rows))
    return CompiledRule(
        rule=rule, callback_type=rule.callback_type, config=config, as_of=as_of, base=Customer.objects.all(),
        for_customer=lambda rows, customer_id: rows.filter(pk=customer_id),
        conditions=conditions, finish=finish, wrapper=wrapper, wrapper_params=list(group_called_params),
    )


def _cluster_rule(rule: Rule, config: ClusterRule, as_of: dt.date, calendar: WorkCalendar,
        skipped: list[DaysNotCovered],
                  deadline: rules.Deadline, not_before: rules.NotBefore, period: str) -> CompiledRule:
    days = _window_days(as_of, config.lookback_days)
    facts = day_facts(calendar, [as_of], deadline=deadline, not_before=not_before, period=period,
                      skipped=skipped)
    one = facts[as_of]
    events = _events_in_window([config.event_type], days)
    address = data_text(config.key)
    shared = (events.annotate(addr=address).exclude(addr__isnull=True).values("addr")
              .annotate(accounts=Count("customer_id", distinct=True))
              .filter(accounts__gte=config.min_accounts).values("addr"))
    conditions = [
        Condition(f"{days[0]} 至 {days[-1]} 有 {config.event_type} 事件", lambda rows: rows),
        Condition(f"同一 {config.key} 被 {config.min_accounts} 个及以上账户使用",
                  lambda rows: rows.alias(addr=address).filter(addr__in=Subquery(shared))),
    ]
    conditions += _customer_conditions(config.customer_conditions, path="customer__", as_of=as_of)
    nb = (_morning(one.not_before_day) if not isinstance(not_before, rules.HoursAfter)
          else dt.datetime.combine(as_of, dt.time(), tzinfo=local_zone()) + dt.timedelta(hours=not_before.hours))
    key = one.period_key if period != "event" else f"D{as_of.isoformat()}"

    def finish(rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.values("customer_id").annotate(
            event_id=Max("id"), branch_id=Min("customer__branch_id"),
            trigger_day=Value(as_of, output_field=DateField()),
            period_key=Value(key, output_field=CharField()),
            due_date=Value(one.due, output_field=DateField()),
            not_before=typed(nb, DateTimeField()),
            expires_on=Value(one.expires_on, output_field=DateField()),
        ).order_by()

    return CompiledRule(
        rule=rule, callback_type=rule.callback_type, config=config, as_of=as_of, base=events,
        for_customer=lambda rows, customer_id: rows.filter(customer_id=customer_id),
        conditions=conditions, finish=finish,
    )
