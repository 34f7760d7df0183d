"""Column-mapping profiles (导入方案): which column of a counter or CRM export holds which field. Pure data and
pure functions, no ORM.

A profile maps each field to the header names it may appear under, and may translate coded values (Hundsun's
client_status "0" is 正常). Two are built in, `hundsun` (counter exports with English field names) and
`chinese` (Chinese headers); users save their own (ImportProfile rows, one header per field). When no profile
is named, the one matching most of the header row is taken."""

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["customers", "events"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    #: the Chinese label shown on the page and in messages
    label: str
    required: bool = False


CUSTOMER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("customer_no", "客户编号", required=True),
    FieldSpec("name", "客户姓名", required=True),
    FieldSpec("branch", "营业部", required=True),
    FieldSpec("mobile", "手机号码"),
    FieldSpec("landline", "固定电话"),
    FieldSpec("open_date", "开户日期", required=True),
    FieldSpec("status", "客户状态"),
    FieldSpec("risk_level", "风险等级"),
    FieldSpec("id_type", "证件类型"),
    FieldSpec("id_no", "证件号码"),
    FieldSpec("manager", "客户经理工号"),
    FieldSpec("tier", "客户等级"),
    FieldSpec("assets", "资产"),
    FieldSpec("email", "电子邮箱"),
    FieldSpec("products", "持有产品"),
    FieldSpec("tags", "标签"),
)

EVENT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("customer_no", "客户编号", required=True),
    FieldSpec("type", "事件类型", required=True),
    FieldSpec("occurred_at", "发生时间", required=True),
    FieldSpec("external_id", "外部编号"),
    FieldSpec("source", "来源"),
    FieldSpec("amount", "金额"),
    FieldSpec("product", "产品"),
    FieldSpec("ip", "IP地址"),
    FieldSpec("old_manager", "原客户经理"),
    FieldSpec("new_manager", "新客户经理"),
    FieldSpec("remark", "备注"),
)

FIELDS: dict[Kind, tuple[FieldSpec, ...]] = {"customers": CUSTOMER_FIELDS, "events": EVENT_FIELDS}


def field_label(kind: Kind, name: str) -> str:
    return next((spec.label for spec in FIELDS[kind] if spec.name == name), name)


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    kind: Kind
    #: field -> the header names it may have (compared after normalise_header)
    headers: Mapping[str, Sequence[str]]
    #: field -> {value as exported: our code}, tried before the built-in value names
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    is_builtin: bool = True


def normalise_header(text: object) -> str:
    """Header text as compared: full-width to half-width, no spaces, no asterisks marking required columns,
    lower case."""
    raw = unicodedata.normalize("NFKC", "" if text is None else str(text))
    return "".join(raw.split()).replace("*", "").lower()


HUNDSUN = Profile(
    name="hundsun",
    label="恒生柜台导出（英文字段名）",
    kind="customers",
    headers={
        "customer_no": ["client_id"],
        "name": ["client_name"],
        "branch": ["branch_no"],
        "mobile": ["mobile_tel", "mobile"],
        "landline": ["phone_code", "home_tel", "office_tel"],
        "open_date": ["open_date"],
        "status": ["client_status"],
        "risk_level": ["corp_risk_level", "risk_level"],
        "id_type": ["id_kind"],
        "id_no": ["id_no"],
        "manager": ["broker_id", "client_manager", "manager_no"],
        "tier": ["client_level", "client_grade"],
        "assets": ["total_asset", "asset_balance"],
        "email": ["e_mail", "email"],
        "products": ["prod_codes", "products"],
        "tags": ["client_tags"],
    },
    values={
        # Hundsun's dictionary: 0 正常, 1 冻结, 2 挂失, 3 销户, 4 休眠 (a frozen or lost-card account is still
        # a customer of the firm: normal for callbacks)
        "status": {"0": "normal", "1": "normal", "2": "normal", "3": "closed", "4": "dormant"},
        # id_kind: 0 身份证, 1 护照, 2 军官证, 4 港澳居民来往内地通行证, 5 台湾居民来往大陆通行证, 6 外国人永久居留证,
        # 7 营业执照
        "id_type": {"0": "id_card", "1": "passport", "2": "military", "4": "hk_macao", "5": "taiwan",
                    "6": "foreign_resident", "7": "business_license"},
        # corp_risk_level 1-5: C1 保守型 to C5 激进型
        "risk_level": {"1": "C1", "2": "C2", "3": "C3", "4": "C4", "5": "C5"},
    },
)

CHINESE = Profile(
    name="chinese",
    label="中文表头",
    kind="customers",
    headers={
        "customer_no": ["客户编号", "客户号", "客户代码", "客户编码"],
        "name": ["客户姓名", "客户名称", "姓名"],
        "branch": ["营业部", "营业部代码", "营业部编号", "所属营业部"],
        "mobile": ["手机号码", "手机", "手机号", "移动电话"],
        "landline": ["固定电话", "联系电话", "住宅电话", "办公电话"],
        "open_date": ["开户日期", "开户时间"],
        "status": ["客户状态", "账户状态"],
        "risk_level": ["风险等级", "风险承受能力", "投资者风险等级"],
        "id_type": ["证件类型", "证件类别"],
        "id_no": ["证件号码", "身份证号", "身份证号码", "证件号"],
        "manager": ["客户经理工号", "客户经理编号", "客户经理"],
        "tier": ["客户等级", "客户级别", "vip等级"],
        "assets": ["资产", "总资产", "资产总值"],
        "email": ["电子邮箱", "邮箱", "email", "电子邮件"],
        "products": ["持有产品", "产品"],
        "tags": ["标签", "客户标签"],
    },
)

HUNDSUN_EVENTS = Profile(
    name="hundsun_events",
    label="恒生柜台业务流水（英文字段名）",
    kind="events",
    headers={
        "customer_no": ["client_id"],
        "type": ["event_type", "busi_type"],
        "occurred_at": ["occur_time", "init_date", "occurred_at"],
        "external_id": ["serial_no", "position_str", "external_id"],
        "source": ["source"],
        "amount": ["occur_balance", "amount"],
        "product": ["prod_code", "product"],
        "ip": ["op_station", "ip_address", "ip"],
        "old_manager": ["old_broker_id"],
        "new_manager": ["new_broker_id"],
        "remark": ["remark"],
    },
)

CHINESE_EVENTS = Profile(
    name="chinese_events",
    label="业务事件（中文表头）",
    kind="events",
    headers={
        "customer_no": ["客户编号", "客户号"],
        "type": ["事件类型", "业务类型"],
        "occurred_at": ["发生时间", "发生日期", "业务时间"],
        "external_id": ["外部编号", "流水号", "业务流水号"],
        "source": ["来源", "来源系统"],
        "amount": ["金额", "发生金额"],
        "product": ["产品", "产品代码", "产品名称"],
        "ip": ["ip地址", "ip"],
        "old_manager": ["原客户经理", "原客户经理工号"],
        "new_manager": ["新客户经理", "新客户经理工号"],
        "remark": ["备注", "摘要"],
    },
)

BUILTIN_PROFILES: dict[str, Profile] = {p.name: p for p in (HUNDSUN, CHINESE, HUNDSUN_EVENTS, CHINESE_EVENTS)}


def saved_profile(*, name: str, label: str, kind: Kind, mapping: Mapping[str, str]) -> Profile:
    """A user's profile: exactly one header per field."""
    return Profile(name=name, label=label, kind=kind, is_builtin=False,
                   headers={f: [h] for f, h in mapping.items() if h})


@dataclass(frozen=True)
class ColumnMap:
    profile: Profile
    #: field -> index of its column in the header row
    columns: dict[str, int]
    #: headers no field takes (left out of the import, reported)
    ignored: list[str]

    def missing_required(self) -> list[FieldSpec]:
        return [spec for spec in FIELDS[self.profile.kind] if spec.required and spec.name not in self.columns]


def map_columns(profile: Profile, header: Sequence[object]) -> ColumnMap:
    """Which column holds which field under `profile`: the first column whose header matches."""
    normalised = [normalise_header(h) for h in header]
    columns: dict[str, int] = {}
    for field_name, names in profile.headers.items():
        wanted = {normalise_header(n) for n in names}
        index = next((i for i, h in enumerate(normalised) if h in wanted and i not in columns.values()), None)
        if index is not None:
            columns[field_name] = index
    ignored = [str(header[i]) for i in range(len(header)) if i not in columns.values() and normalised[i]]
    return ColumnMap(profile, columns, ignored)


def detect_profile(kind: Kind, header: Sequence[object], candidates: Sequence[Profile] = ()) -> ColumnMap | None:
    """The built-in or given profile of `kind` that finds every required field and the most columns; None
    when no profile finds the required fields."""
    best: ColumnMap | None = None
    for profile in [*candidates, *BUILTIN_PROFILES.values()]:
        if profile.kind != kind:
            continue
        mapped = map_columns(profile, header)
        if mapped.missing_required():
            continue
        if best is None or len(mapped.columns) > len(best.columns):
            best = mapped
    return best
