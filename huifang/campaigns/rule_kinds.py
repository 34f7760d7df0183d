"""The kinds of trigger rule (触发规则): one pydantic model per kind validates a rule's JSON config.

Pure: no ORM. `compiler.py` turns a validated config into one query. Conditions are plain data:
{"field": "status", "op": "in", "value": ["normal"]} on the customer, {"key": "amount", "op": "gte",
"value": 500000} on an event's data."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from huifang.campaigns.rules import PolicyError, parse_deadline, parse_not_before

Op = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"]
OP_WORDS = {"eq": "=", "ne": "≠", "in": "属于", "not_in": "不属于", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
NUMERIC_OPS = {"gt", "gte", "lt", "lte"}
LIST_OPS = {"in", "not_in"}

#: customer fields a condition may name, with their labels; opened_months_ago and opened_days_ago are counted
#: back from the run's as-of date
CUSTOMER_FIELDS = {
    "status": "客户状态", "tier": "客户等级", "risk_rating": "风险等级", "assets": "资产",
    "opened_months_ago": "开户月数", "opened_days_ago": "开户天数", "branch": "营业部代码",
    "has_manager": "有客户经理",
}
NUMERIC_FIELDS = {"assets", "opened_months_ago", "opened_days_ago"}

#: the change a customer field can "become", read from the change events the imports record
CHANGE_EVENTS = {
    "status": ("account_closed", "designation_withdrawn"),
    "manager": ("manager_changed",),
}

MAX_LOOKBACK_DAYS = 400


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerCondition(_Strict):
    field: str
    op: Op
    value: Any

    @model_validator(mode="after")
    def _known(self) -> "CustomerCondition":
        if self.field not in CUSTOMER_FIELDS:
            raise ValueError(f"未知的客户字段 {self.field}，可选：{', '.join(CUSTOMER_FIELDS)}")
        _check_value(self.op, self.value, numeric=self.field in NUMERIC_FIELDS)
        return self

    def describe(self) -> str:
        return f"{CUSTOMER_FIELDS[self.field]} {OP_WORDS[self.op]} {_value_text(self.value)}"


class DataCondition(_Strict):
    key: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
    op: Op
    value: Any

    @model_validator(mode="after")
    def _value(self) -> "DataCondition":
        _check_value(self.op, self.value, numeric=self.op in NUMERIC_OPS)
        return self

    def describe(self) -> str:
        return f"事件.{self.key} {OP_WORDS[self.op]} {_value_text(self.value)}"


def _check_value(op: str, value: Any, *, numeric: bool) -> None:
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{op} 的值应为非空列表")
        return
    if op in NUMERIC_OPS or numeric:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{op} 的值应为数字，而不是 {value!r}")
    elif isinstance(value, list | dict):
        raise ValueError(f"{op} 的值应为单个值")


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class DailySum(_Strict):
    """The sum of a data key over one customer's events of one local day, e.g. transfers out ≥ ¥500,000."""

    key: str = Field(default="amount", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
    gte: float = Field(gt=0)

    def describe(self) -> str:
        return f"单日 事件.{self.key} 合计 ≥ {_value_text(self.gte)}"


class _Rule(_Strict):
    """What every kind may carry: a deadline or not-before policy of its own instead of its type's (a private-fund
    purchase inside the fund buyers' type waits out its 24-hour cooling-off)."""

    deadline: dict[str, Any] | None = None
    not_before: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _policies(self) -> "_Rule":
        try:
            if self.deadline is not None:
                parse_deadline(self.deadline)
            if self.not_before is not None:
                parse_not_before(self.not_before)
        except PolicyError as error:
            raise ValueError(str(error)) from None
        return self


class EventRule(_Rule):
    """Events of some types within the lookback window (the as-of day and the `lookback_days` days before),
    filtered on their data and on their customer; optionally their daily sum."""

    kind: Literal["event"]
    event_types: list[str] = Field(min_length=1)
    data_conditions: list[DataCondition] = []
    daily_sum: DailySum | None = None
    customer_conditions: list[CustomerCondition] = []
    lookback_days: int = Field(default=1, ge=0, le=MAX_LOOKBACK_DAYS)


class Became(_Strict):
    field: Literal["status", "manager"]
    #: for status: the new status codes; for manager: ignored (any change)
    values: list[str] = []

    def describe(self) -> str:
        if self.field == "manager":
            return "客户经理发生变更"
        return f"客户状态变为 {_value_text(self.values)}"


class AttributeRule(_Rule):
    """Customers by their fields. Triggered by a date field in the window (open_date: new accounts), by a
    change in the window (status became closed: lost customers), or, with neither, on the as-of day."""

    kind: Literal["attribute"]
    customer_conditions: list[CustomerCondition] = []
    date_field: Literal["open_date"] | None = None
    became: Became | None = None
    lookback_days: int = Field(default=7, ge=0, le=MAX_LOOKBACK_DAYS)

    @model_validator(mode="after")
    def _one_trigger(self) -> "AttributeRule":
        if self.date_field and self.became:
            raise ValueError("date_field 与 became 只能选一个")
        if self.became and self.became.field == "status" and not self.became.values:
            raise ValueError("became.values：请给出变成的客户状态")
        return self


class SampleRule(_Rule):
    """Per group (client manager or branch), at least `at_least` callbacks per period from the population, or
    all of it if fewer; customers already called in the period are skipped and count towards the quota; the
    picks are spread over asset bands. `bought_in_period`: the population is the customers with events of
    these types in the period so far (fund buyers of the quarter)."""

    kind: Literal["sample"]
    group_by: Literal["manager", "branch"]
    at_least: int = Field(ge=1, le=100_000)
    customer_conditions: list[CustomerCondition] = []
    bought_in_period: list[str] = []
    #: lower bounds of the asset bands, ascending; the first band starts at 0
    asset_bands: list[float] = [0, 100_000, 500_000, 1_000_000, 5_000_000]

    @model_validator(mode="after")
    def _bands(self) -> "SampleRule":
        if self.asset_bands != sorted(self.asset_bands) or not self.asset_bands or self.asset_bands[0] != 0:
            raise ValueError("asset_bands 应从 0 开始并递增")
        return self


class ClusterRule(_Rule):
    """Several accounts seen from one IP address within the window: every account of such an address."""

    kind: Literal["cluster"]
    event_type: str = "login"
    key: str = Field(default="ip", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
    min_accounts: int = Field(default=3, ge=2, le=10_000)
    lookback_days: int = Field(default=30, ge=0, le=MAX_LOOKBACK_DAYS)
    customer_conditions: list[CustomerCondition] = []


RuleConfig = Annotated[EventRule | AttributeRule | SampleRule | ClusterRule, Field(discriminator="kind")]
_adapter: TypeAdapter[RuleConfig] = TypeAdapter(RuleConfig)


def parse_rule(kind: str, config: Any) -> RuleConfig:
    """The config of a rule of `kind`, validated. Raises PolicyError naming the field."""
    if not isinstance(config, dict):
        raise PolicyError("规则配置应为 JSON 对象")
    try:
        return _adapter.validate_python({**config, "kind": kind})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"][1:]) or "config"
            problems.append(f"{where}：{item['msg'].removeprefix('Value error, ')}")
        raise PolicyError("规则配置不正确：" + "；".join(problems)) from None
