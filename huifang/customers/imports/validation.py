"""Validation of one imported customer or event, from a file row or an API item alike: raw values in, a clean
row for the staging table or the reasons it is refused out. Pure: the lookups it needs (branches, client
managers, the cipher) are handed in. Every reason is Chinese and names what was wrong.

Empty optional values mean "not given": an update keeps what the customer had (an export that leaves a column
empty never wipes it)."""

import datetime as dt
import ipaddress
import json
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.lib.fieldcrypt import FieldCipher
from huifang.lib.masking import mask_id_number
from huifang.lib.phones import InvalidPhoneNumber, parse_mobile_fast, parse_phone

#: the exchanges opened in December 1990: an earlier account opening is a wrong date
EARLIEST_OPEN_DATE = dt.date(1990, 1, 1)
#: Excel's day 0 for serial dates (serial 1 is 1900-01-01; 1899-12-30 absorbs Excel's phantom 1900-02-29)
EXCEL_EPOCH = dt.date(1899, 12, 30)
MAX_ASSETS = Decimal("1e16")
MAX_DATA_BYTES = 10_000

STATUS_NAMES = {
    "normal": "normal", "正常": "normal", "正常户": "normal",
    "dormant": "dormant", "休眠": "dormant", "休眠户": "dormant", "睡眠": "dormant", "不活跃": "dormant",
    "closed": "closed", "销户": "closed", "已销户": "closed", "注销": "closed",
    "designation_withdrawn": "designation_withdrawn", "撤指定": "designation_withdrawn",
    "撤销指定": "designation_withdrawn", "已撤指定": "designation_withdrawn",
}
RISK_NAMES = {
    "c1": "C1", "保守型": "C1", "保守": "C1",
    "c2": "C2", "谨慎型": "C2", "谨慎": "C2", "相对保守型": "C2",
    "c3": "C3", "稳健型": "C3", "稳健": "C3", "平衡型": "C3",
    "c4": "C4", "积极型": "C4", "积极": "C4", "相对积极型": "C4",
    "c5": "C5", "激进型": "C5", "激进": "C5",
}
TIER_NAMES = {
    "diamond": "diamond", "钻石": "diamond", "钻石卡": "diamond", "钻石客户": "diamond",
    "gold": "gold", "金": "gold", "金卡": "gold", "黄金": "gold", "金卡客户": "gold",
    "silver": "silver", "银": "silver", "银卡": "silver", "白银": "silver", "银卡客户": "silver",
    "regular": "regular", "普通": "regular", "普通客户": "regular", "大众": "regular",
}
ID_TYPE_NAMES = {
    "id_card": "id_card", "身份证": "id_card", "居民身份证": "id_card",
    "passport": "passport", "护照": "passport",
    "military": "military", "军官证": "military",
    "hk_macao": "hk_macao", "港澳通行证": "hk_macao", "港澳居民来往内地通行证": "hk_macao", "回乡证": "hk_macao",
    "taiwan": "taiwan", "台胞证": "taiwan", "台湾居民来往大陆通行证": "taiwan",
    "foreign_resident": "foreign_resident", "外国人永久居留证": "foreign_resident",
    "外国人永久居留身份证": "foreign_resident",
    "business_license": "business_license", "营业执照": "business_license",
    "other": "other", "其他": "other",
}
EVENT_TYPE_NAMES = {
    "开户": "account_opened", "销户": "account_closed", "撤指定": "designation_withdrawn",
    "转出资金": "transfer_out", "资金转出": "transfer_out", "转账转出": "transfer_out", "大额转出": "transfer_out",
    "购买产品": "product_purchased", "产品购买": "product_purchased", "申购": "product_purchased",
    "认购": "product_purchased", "客户经理变更": "manager_changed", "客户经理变动": "manager_changed",
    "登录": "login", "风险标记": "risk_flagged", "反洗钱预警": "risk_flagged", "风控预警": "risk_flagged",
    "信息变更": "info_changed", "资料变更": "info_changed", "送配股": "rights_issue", "配股": "rights_issue",
    "送股": "rights_issue", "增发": "rights_issue", "合同到期": "contract_expiring", "积分到期": "points_expiring",
    "权限开通": "permission_opened", "开通权限": "permission_opened", "高风险产品销售": "high_risk_sale",
    "私募签约": "private_fund_signed", "投诉办结": "complaint_closed", "投诉关闭": "complaint_closed",
    "生日": "birthday",
}
ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CARD_CHECK = "10X98765432"
_ID_CARD_OFFSET = 48 * sum(ID_CARD_WEIGHTS)

_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff·])\s+(?=[\u3400-\u9fff·])")
_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_LIST_SEPARATORS = re.compile(r"[,;、|]")
_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_PLAIN_AMOUNT = re.compile(r"^\d{1,15}(?:\.\d{1,2})?$")
#: distinct values remembered per field (CustomerValidator._cached)
CACHE_LIMIT = 100_000
_OTHER_ID = re.compile(r"^[0-9A-Z()\-]{4,30}$")


class FieldError(ValueError):
    """A value that cannot be taken; the message is for the user."""


Errors = list[tuple[str, str]]


def text_of(value: Any) -> str:
    """A cell or JSON value as clean text: full-width to half-width (NFKC), surrounding spaces dropped; whole
    numbers without a decimal point (an XLSX cell holding 3101.0 is "3101")."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value if value.isascii() else unicodedata.normalize("NFKC", value)
        return text.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def parse_date(value: Any, label: str) -> dt.date:
    """YYYYMMDD (text or number), YYYY-MM-DD and its kin (/ . 年月日), Excel serial numbers, XLSX dates."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = text_of(value)
    try:
        if len(text) == 8 and text.isdigit():
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        match = _DATE_PARTS.match(text)
        if match:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        serial = float(text) if text else None
    except ValueError:
        raise FieldError(f"{label}不是有效日期：{text}") from None
    if serial is not None and serial.is_integer() and 1 <= serial <= 2_958_465:
        return EXCEL_EPOCH + dt.timedelta(days=int(serial))
    raise FieldError(f"{label}格式无法识别：{text}（应为 YYYYMMDD、YYYY-MM-DD 或 Excel 日期）")


def parse_amount(value: Any, label: str) -> str:
    """A non-negative amount with at most two decimals, as decimal text; ¥, 元 and thousands separators dropped."""
    text = text_of(value)
    for junk in (",", "¥", "￥", "元", " "):
        text = text.replace(junk, "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise FieldError(f"{label}不是数字：{text_of(value)}") from None
    if not amount.is_finite() or amount < 0:
        raise FieldError(f"{label}不能为负数或非数字：{text_of(value)}")
    if amount >= MAX_ASSETS:
        raise FieldError(f"{label}过大：{text_of(value)}")
    return str(amount.quantize(Decimal("0.01")))


def clean_name(value: Any) -> str:
    name = text_of(value)
    if " " in name or "\t" in name or "\u3000" in name:
        name = _CJK_GAP.sub("", _SPACES.sub(" ", name))
    return name


def check_id_number(id_type: str, raw: str) -> str:
    """The normalised ID number (upper case, no spaces); an ID card number must be 18 characters with a valid
    birth date and check digit, or the old 15 digits."""
    number = "".join(raw.split()).upper()
    if id_type != "id_card":
        if not _OTHER_ID.match(number):
            raise FieldError(f"证件号码格式不正确：{mask_id_number(number)}")
        return number
    if len(number) == 15 and number.isdigit():
        birth = "19" + number[6:12]
    elif len(number) == 18 and number[:17].isdigit() and (number[17].isdigit() or number[17] == "X"):
        birth = number[6:14]
    else:
        raise FieldError(f"身份证号码应为18位（或旧版15位数字），收到 {len(number)} 位")
    try:
        dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise FieldError("身份证号码中的出生日期无效") from None
    if len(number) == 18:
        # ASCII digits are their code points minus 48: one pass over bytes instead of 17 int() calls.
        total = sum(map(operator.mul, number[:17].encode(), ID_CARD_WEIGHTS)) - _ID_CARD_OFFSET
        check = ID_CARD_CHECK[total % 11]
        if check != number[17]:
            raise FieldError("身份证号码校验位不正确")
    return number


def _choice(value: Any, names: Mapping[str, str], coded: Mapping[str, str], label: str) -> str:
    text = text_of(value)
    found = coded.get(text) or names.get(text.lower())
    if found is None:
        allowed = "、".join(sorted({k for k in names if not k.isascii()}))
        raise FieldError(f"无法识别的{label}：{text}（可用：{allowed}）")
    return found


def split_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [text_of(v) for v in value if text_of(v)]
    return [part.strip() for part in _LIST_SEPARATORS.split(text_of(value)) if part.strip()]


def json_text(value: Any) -> str:
    """JSON text as Django's JSONField writes it, so stored and staged values compare equal as text."""
    return json.dumps(value)


class Phone(NamedTuple):
    kind: str
    number: str
    last4: str


class CustomerRow(NamedTuple):
    """A validated customer as staged; None = not given (an update keeps the stored value)."""

    customer_no: str
    name: str
    branch_id: int
    manager_id: int | None
    tier: str | None
    open_date: dt.date
    status: str | None
    risk_rating: str | None
    assets: str | None
    email: str | None
    id_type: str | None
    id_no_encrypted: str | None
    id_no_masked: str | None
    id_no_hash: str | None
    products: str | None
    tags: str | None
    attributes: str | None
    #: the mobile number: the customer's primary phone
    mobile: str | None
    #: further numbers (landlines, more mobiles), kept beside it
    other_phones: tuple[Phone, ...]


def _last4(number: str) -> str:
    parts = number.split("-")
    main = parts[1] if len(parts) >= 2 else parts[0]
    return main[-4:]


class CustomerValidator:
    """Validates customers against the branches and client managers of the database, as given."""

    def __init__(
        self,
        *,
        branches: Mapping[str, int],
        branch_names: Mapping[str, int],
        managers: Mapping[str, int],
        allowed_branch_ids: set[int] | None,
        cipher: FieldCipher,
        today: dt.date,
        coded_values: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.branches = branches
        self.branch_names = branch_names
        self.managers = managers
        self.allowed_branch_ids = allowed_branch_ids
        self.cipher = cipher
        self.today = today
        self.coded: Mapping[str, Mapping[str, str]] = coded_values or {}
        self._caches: dict[str, dict[Any, tuple[Any, str | None]]] = {}

    def validate(self, values: Mapping[str, Any]) -> CustomerRow | Errors:
        """A row for the staging table, or every (field, reason) that refuses it."""
        errors: Errors = []
        get = values.get
        cached = self._cached
        customer_no = self._checked(errors, "customer_no", self._customer_no, get("customer_no"))
        name = clean_name(get("name"))
        if not name:
            errors.append(("name", "客户姓名为空"))
        elif len(name) > 100:
            errors.append(("name", "客户姓名超过100个字符"))
        branch_id = cached(errors, "branch", self._branch, get("branch"))
        open_date = cached(errors, "open_date", self._open_date, get("open_date"))
        mobile, other_phones = self._phones(values, errors)
        manager_id = cached(errors, "manager", self._manager, get("manager"))
        tier = cached(errors, "tier", self._tier, get("tier"))
        status = cached(errors, "status", self._status, get("status"))
        risk = cached(errors, "risk_level", self._risk, get("risk_level"))
        raw_assets = get("assets")
        assets = self._checked(errors, "assets", self._assets, raw_assets) if raw_assets not in (None, "") else None
        email = self._checked(errors, "email", self._email, get("email"))
        identity = self._identity(errors, get("id_type"), get("id_no"))
        products = split_list(get("products")) if get("products") not in (None, "") else None
        tags = split_list(get("tags")) if get("tags") not in (None, "") else None
        attributes = self._checked(errors, "attributes", self._attributes, get("attributes"))
        if errors:
            return errors
        id_type, encrypted, masked, hashed = identity or (None, None, None, None)
        return CustomerRow(
            customer_no, name, branch_id, manager_id, tier, open_date, status, risk, assets, email,
            id_type, encrypted, masked, hashed,
            None if products is None else json_text(products), None if tags is None else json_text(tags),
            attributes, mobile, other_phones,
        )

    @staticmethod
    def _checked(errors: Errors, field: str, check: Callable[[Any], Any], raw: Any) -> Any:
        try:
            return check(raw)
        except FieldError as error:
            errors.append((field, str(error)))
            return None

    def _cached(self, errors: Errors, field: str, check: Callable[[Any], Any], raw: Any) -> Any:
        """check(raw) for fields with few distinct values (branches, dates, codes): each value is decided once
        per import, not once per row."""
        cache = self._caches.setdefault(field, {})
        try:
            value, message = cache[raw]
        except KeyError:
            try:
                value, message = check(raw), None
            except FieldError as error:
                value, message = None, str(error)
            if len(cache) < CACHE_LIMIT:
                cache[raw] = (value, message)
        except TypeError:  # an unhashable API value: decided without the cache
            return self._checked(errors, field, check, raw)
        if message is not None:
            errors.append((field, message))
        return value

    def _tier(self, raw: Any) -> str | None:
        return self._coded("tier", raw, TIER_NAMES, "客户等级")

    def _status(self, raw: Any) -> str | None:
        return self._coded("status", raw, STATUS_NAMES, "客户状态")

    def _risk(self, raw: Any) -> str | None:
        return self._coded("risk_level", raw, RISK_NAMES, "风险等级")

    @staticmethod
    def _assets(raw: Any) -> str | None:
        if isinstance(raw, str) and _PLAIN_AMOUNT.match(raw):
            return raw  # already plain decimal text: the database reads it as it is
        return parse_amount(raw, "资产") if text_of(raw) else None

    @staticmethod
    def _customer_no(value: Any) -> str:
        if isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit():
            return value
        if value is None or text_of(value) == "":
            raise FieldError("客户编号为空")
        try:
            return parse_customer_no(text_of(value))
        except InvalidCustomerNumber as error:
            raise FieldError(str(error)) from None

    def _branch(self, value: Any) -> int:
        text = text_of(value)
        if not text:
            raise FieldError("营业部为空")
        branch_id = self.branches.get(text) or self.branch_names.get(text)
        if branch_id is None:
            raise FieldError(f"营业部不存在：{text}")
        if self.allowed_branch_ids is not None and branch_id not in self.allowed_branch_ids:
            raise FieldError(f"无权导入营业部 {text} 的客户")
        return branch_id

    def _open_date(self, value: Any) -> dt.date:
        if value is None or text_of(value) == "":
            raise FieldError("开户日期为空")
        opened = parse_date(value, "开户日期")
        if opened > self.today:
            raise FieldError(f"开户日期晚于今天：{opened:%Y-%m-%d}")
        if opened < EARLIEST_OPEN_DATE:
            raise FieldError(f"开户日期早于1990年：{opened:%Y-%m-%d}")
        return opened

    def _phones(self, values: Mapping[str, Any], errors: Errors) -> tuple[str | None, tuple[Phone, ...]]:
        """The mobile (stored as the primary phone) and any further numbers (the landline, an API item's
        phones). A row needs one number at least; a malformed one refuses the row."""
        mobile: str | None = None
        mobile_text = text_of(values.get("mobile"))
        if mobile_text:
            mobile = parse_mobile_fast(mobile_text)
            if mobile is None:
                try:
                    parsed = parse_phone(mobile_text)
                except InvalidPhoneNumber as error:
                    errors.append(("mobile", f"手机号码不正确：{error.reason}"))
                else:
                    if parsed.kind == "mobile":
                        mobile = parsed.number
                    else:
                        errors.append(("mobile", f"手机号码一栏填的是固定电话：{mobile_text}"))
        others: list[Phone] = []
        for field, raw in (("landline", values.get("landline")), *self._listed_phones(values, errors)):
            text = text_of(raw)
            if not text:
                continue
            try:
                parsed = parse_phone(text)
            except InvalidPhoneNumber as error:
                errors.append((field, f"电话号码不正确：{error.reason}"))
                continue
            if mobile is None and parsed.kind == "mobile":
                mobile = parsed.number
            elif parsed.number != mobile and all(p.number != parsed.number for p in others):
                others.append(Phone(parsed.kind, parsed.number, _last4(parsed.number)))
        if mobile is None and not others and not any(f in ("mobile", "landline") or f.startswith("phones")
                                                     for f, _ in errors):
            errors.append(("mobile", "缺少联系电话：手机号码和固定电话都为空"))
        return mobile, tuple(others)

    @staticmethod
    def _listed_phones(values: Mapping[str, Any], errors: Errors) -> list[tuple[str, Any]]:
        """API items may list further phones: [{"kind": "mobile", "number": "..."}, ...]."""
        listed = values.get("phones")
        if listed in (None, "", []):
            return []
        if not isinstance(listed, list):
            errors.append(("phones", "phones 应为号码列表"))
            return []
        found = []
        for position, item in enumerate(listed):
            number = item.get("number") if isinstance(item, dict) else item
            if not isinstance(number, str | int):
                errors.append((f"phones[{position}]", "号码应为文本"))
                continue
            found.append((f"phones[{position}]", number))
        return found

    def _manager(self, value: Any) -> int | None:
        text = text_of(value)
        if not text:
            return None
        manager_id = self.managers.get(text)
        if manager_id is None:
            raise FieldError(f"客户经理工号不存在：{text}")
        return manager_id

    def _coded(self, field: str, value: Any, names: Mapping[str, str], label: str) -> str | None:
        if not text_of(value):
            return None
        return _choice(value, names, self.coded.get(field, {}), label)

    @staticmethod
    def _email(value: Any) -> str | None:
        text = text_of(value)
        if not text:
            return None
        if len(text) > 254 or not _EMAIL.match(text):
            raise FieldError(f"电子邮箱格式不正确：{text}")
        return text.lower() if text.isascii() else text

    def _identity(self, errors: Errors, raw_type: Any, raw_number: Any) -> tuple[str, str, str, str] | None:
        number_text = text_of(raw_number)
        type_text = text_of(raw_type)
        if not number_text:
            if type_text:
                errors.append(("id_no", "填写了证件类型但证件号码为空"))
            return None
        id_type = self._cached(errors, "id_type", self._id_type, type_text) if type_text else "id_card"
        if id_type is None:
            return None
        number = self._checked(errors, "id_no", lambda raw: check_id_number(id_type, raw), number_text)
        if number is None:
            return None
        return id_type, self.cipher.encrypt(number), mask_id_number(number), self.cipher.lookup_hash(number)

    def _id_type(self, raw: Any) -> str:
        return _choice(raw, ID_TYPE_NAMES, self.coded.get("id_type", {}), "证件类型")

    @staticmethod
    def _attributes(value: Any) -> str | None:
        if value in (None, "", {}):
            return None
        if not isinstance(value, dict):
            raise FieldError("attributes 应为对象（键值对）")
        text = json_text(value)
        if len(text.encode()) > MAX_DATA_BYTES:
            raise FieldError(f"attributes 超过 {MAX_DATA_BYTES} 字节")
        return text


class EventRow(NamedTuple):
    customer_no: str
    type: str
    occurred_at: dt.datetime
    data: str
    source: str
    external_id: str


DATA_FIELDS = ("amount", "product", "ip", "old_manager", "new_manager", "remark")
#: event data keys that hold a moment, with their Chinese names
TIME_DATA_FIELDS = {"signed_at": "签约时间", "paid_at": "到账时间"}


class EventValidator:
    def __init__(self, *, event_types: set[str], source: str, now: dt.datetime, tz: ZoneInfo,
                 require_external_id: bool = False) -> None:
        """`require_external_id`: API pushes must name their events; a file without ids gets ids derived from
        each row's content."""
        self.require_external_id = require_external_id
        self.event_types = event_types
        self.source = source
        self.now = now
        self.tz = tz

    def validate(self, values: Mapping[str, Any]) -> EventRow | Errors:
        errors: Errors = []
        customer_no = ""
        try:
            customer_no = CustomerValidator._customer_no(values.get("customer_no"))
        except FieldError as error:
            errors.append(("customer_no", str(error)))
        type_text = text_of(values.get("type"))
        event_type = type_text if type_text in self.event_types else EVENT_TYPE_NAMES.get(type_text)
        if not type_text:
            errors.append(("type", "事件类型为空"))
        elif event_type is None:
            errors.append(("type", f"无法识别的事件类型：{type_text}"))
        occurred_at = None
        try:
            occurred_at = self._occurred_at(values.get("occurred_at"))
        except FieldError as error:
            errors.append(("occurred_at", str(error)))
        data = self._data(values, errors)
        # Times in the data (a private fund's signing and payment: its cooling-off counts from the later) are
        # stored as ISO 8601 with their offset, so that the database reads them as instants.
        for key in TIME_DATA_FIELDS:
            if key in data and text_of(data[key]):
                try:
                    data[key] = self._occurred_at(data[key]).isoformat()
                except FieldError as error:
                    errors.append((key, str(error).replace("发生时间", TIME_DATA_FIELDS[key])))
        source = text_of(values.get("source")) or self.source
        if len(source) > 30:
            errors.append(("source", "来源超过30个字符"))
        external_id = text_of(values.get("external_id"))
        if len(external_id) > 100:
            errors.append(("external_id", "外部编号超过100个字符"))
        elif not external_id and self.require_external_id:
            errors.append(("external_id", "外部编号为空：重复推送靠 (source, external_id) 识别"))
        if errors or event_type is None or occurred_at is None:
            return errors
        text = json_text(data)
        if not external_id:
            # A file without event ids: the row's content is its identity, so the same file imports once.
            external_id = "row:" + _digest(f"{customer_no}|{event_type}|{occurred_at.isoformat()}|{text}")
        return EventRow(customer_no, event_type, occurred_at, text, source, external_id)

    def _occurred_at(self, value: Any) -> dt.datetime:
        if value is None or text_of(value) == "":
            raise FieldError("发生时间为空")
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime.combine(value, dt.time())
        else:
            text = text_of(value)
            try:
                moment = dt.datetime.fromisoformat(text.replace("/", "-"))
            except ValueError:
                if len(text) == 14 and text.isdigit():
                    try:
                        moment = dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=self.tz)
                    except ValueError:
                        raise FieldError(f"发生时间不是有效时间：{text}") from None
                else:
                    moment = dt.datetime.combine(parse_date(text, "发生时间"), dt.time())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        if moment > self.now + dt.timedelta(days=1):
            raise FieldError(f"发生时间晚于当前时间：{moment:%Y-%m-%d %H:%M}")
        return moment

    @staticmethod
    def _data(values: Mapping[str, Any], errors: Errors) -> dict[str, Any]:
        given = values.get("data")
        data: dict[str, Any] = {}
        if given not in (None, ""):
            if not isinstance(given, dict):
                errors.append(("data", "data 应为对象（键值对）"))
            else:
                data.update(given)
        for key in DATA_FIELDS:
            if text_of(values.get(key)):
                data[key] = text_of(values.get(key))
        if "amount" in data:
            try:
                data["amount"] = parse_amount(data["amount"], "金额")
            except FieldError as error:
                errors.append(("amount", str(error)))
        if "ip" in data:
            try:
                data["ip"] = str(ipaddress.ip_address(text_of(data["ip"])))
            except ValueError:
                errors.append(("ip", f"IP地址格式不正确：{text_of(data['ip'])}"))
        try:
            size = len(json_text(data).encode())
        except (TypeError, ValueError):
            errors.append(("data", "data 含有无法保存的值"))
        else:
            if size > MAX_DATA_BYTES:
                errors.append(("data", f"data 超过 {MAX_DATA_BYTES} 字节"))
        return data


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:40]
