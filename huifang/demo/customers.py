"""Synthetic customers, phones and a year of business events, generated in chunks of plain rows.

Deterministic: chunk i draws from its own random stream seeded by (seed, i), and chunks are generated in
order, so the same seed and the same `as_of` date give the same rows on every run. Dates are relative to
`as_of` so that the demo always looks current."""

import datetime as dt
import json
import math
import random
import time
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from huifang.customers.choices import ContactKind, ContactValidity, CustomerStatus, EventType, RiskRating, Tier
from huifang.customers.rules import phone_last4
from huifang.demo.names import person_name, surnames
from huifang.demo.org import BranchSpec
from huifang.lib.fieldcrypt import field_cipher
from huifang.lib.masking import mask_id_number

CHUNK_SIZE = 20_000
SOURCE = "demo"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Of the customers who log in, this share trades from an address of a small pool, which several accounts
# share (same-IP callbacks): with one address per thousand customers, about four accounts per address.
SHARED_IP_SHARE = 0.0125

# Mainland mobile prefixes by operator, each checked against phonenumbers (tests/test_demo_data.py).
MOBILE_PREFIXES = [
    # 中国移动
    "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159", "172", "178",
    "182", "183", "184", "187", "188", "195", "197", "198",
    # 中国联通
    "130", "131", "132", "145", "155", "156", "166", "175", "176", "185", "186", "196",
    # 中国电信
    "133", "153", "173", "177", "180", "181", "189", "190", "191", "193", "199",
    # 中国广电
    "192",
]
# First digit of a landline subscriber number: 1 and 9 do not occur, "800..." is not a landline.
LANDLINE_FIRST_DIGITS = "234567"

STATUSES = [CustomerStatus.NORMAL, CustomerStatus.DORMANT, CustomerStatus.CLOSED,
            CustomerStatus.DESIGNATION_WITHDRAWN]
STATUS_CUM = list(accumulate([85, 9, 4, 2]))
RISKS = list(RiskRating.values)
RISK_CUM = list(accumulate([10, 25, 35, 20, 10]))
# Tier by assets: (lower bound, tier), checked from the top.
TIER_BOUNDS = [(5_000_000, Tier.DIAMOND), (1_000_000, Tier.GOLD), (300_000, Tier.SILVER)]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "139.com", "foxmail.com"]
OPEN_CHANNELS = ["柜台", "网上开户", "手机开户", "见证开户"]
LOGIN_CHANNELS = ["手机APP", "网上交易", "同花顺", "通达信"]
BANKS = ["工商银行", "建设银行", "农业银行", "中国银行", "招商银行", "交通银行", "浦发银行"]
PRODUCTS = [
    ("F000101", "汇方稳健增利债券A", "基金"), ("F000217", "汇方沪深300指数", "基金"),
    ("F000388", "汇方科技创新混合", "基金"), ("W100012", "汇方安享90天理财", "理财"),
    ("W100045", "汇方月月盈", "理财"), ("P900003", "汇方量化对冲1号", "私募"),
]
PERMISSIONS = ["创业板", "科创板", "北交所", "港股通"]
RISK_REASONS = ["短期大额资金快进快出", "疑似出借账户", "多账户同一设备登录", "交易行为异常"]
INFO_FIELDS = [("mobile", "手机号码"), ("address", "联系地址"), ("email", "电子邮箱"), ("id_document", "身份证件")]
TAGS = ["两融", "基金定投", "新股申购", "港股通", "量化交易", "养老规划"]
RIGHTS = [("600000", "浦发银行", "配股"), ("601398", "工商银行", "送股"), ("000002", "万科A", "增发")]


# JSON as Django's JSONField would store it, without json.dumps' per-call setup (a million calls).
_json = json.JSONEncoder(ensure_ascii=False).encode
#: the region part of the demo customers' ID numbers, by branch code (the branch's own district)
ID_REGIONS = {"3101": "310115", "1101": "110105", "4403": "440304", "4401": "440106", "3301": "330106"}
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def demo_id_number(region: str, birth: dt.date, sequence: int, is_male: bool) -> str:
    """A well-formed resident ID number (the check digit right; the sequence's parity gives the sex)."""
    sequence = sequence - sequence % 2 + (1 if is_male else 0)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


class FastRandom(random.Random):
    """random.Random with cheaper integer draws: randint/choice go through Python-level rejection sampling,
    which dominated the generation profile. The tiny bias of scaling random() is irrelevant for demo data."""

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def pick[T](self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]


@dataclass
class Chunk:
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    phones: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class CustomerGenerator:
    """Generates customers `first_id`, `first_id + 1`, ... in chunks. Keeps per-branch numbering between
    chunks, so chunks must be taken in order (iterate `chunks()`)."""

    seed: int
    as_of: dt.date
    count: int
    first_id: int
    #: (branch id, spec) of the branches that get customers
    branches: list[tuple[int, BranchSpec]]
    #: branch id → [(user id, agent number)] of its client managers
    managers: dict[int, list[tuple[int, str]]]
    #: "YYYY-MM-DD HH:MM:SS" UTC → stored form (bulk.RowWriter.format_timestamp)
    stamp: Callable[[str], str] = str
    now_text: str = ""
    _branch_cum: list[float] = field(default_factory=list)
    _next_no: dict[int, int] = field(default_factory=dict)
    _shared_ips: list[str] = field(default_factory=list)
    _day0: int = 0

    def __post_init__(self) -> None:
        self._branch_cum = list(accumulate(spec.weight for _, spec in self.branches))
        self._next_no = {branch_id: 1 for branch_id, _ in self.branches}
        pool = FastRandom(f"{self.seed}:ips")
        # Few addresses for many: every shared address ends up used by several accounts (同IP).
        self._shared_ips = [f"58.{pool.between(32, 63)}.{pool.between(0, 255)}.{pool.between(1, 254)}"
                            for _ in range(max(3, self.count // 1000))]
        # Midnight at the start of `as_of` in Shanghai, as a Unix time: every event time is an offset from it.
        self._day0 = int(dt.datetime.combine(self.as_of, dt.time(), SHANGHAI).timestamp())
        if not self.now_text:
            self.now_text = self._utc(int(time.time()))
        self._cipher = field_cipher()

    def _utc(self, epoch: int) -> str:
        return self.stamp(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)))

    def _moment(self, rng: FastRandom, days_ago: int) -> str:
        """A time during business hours (09:00-17:00 Shanghai) `days_ago` days before `as_of`."""
        return self._utc(self._day0 - days_ago * 86_400 + rng.between(9 * 3600, 17 * 3600))

    def chunks(self) -> Iterator[Chunk]:
        for index, start in enumerate(range(0, self.count, CHUNK_SIZE)):
            yield self._chunk(index, start, min(CHUNK_SIZE, self.count - start))

    def _chunk(self, index: int, start: int, size: int) -> Chunk:
        rng = FastRandom(self.seed * 1_000_003 + index)
        chunk = Chunk()
        names = surnames(rng, size)
        statuses = rng.choices(STATUSES, cum_weights=STATUS_CUM, k=size)
        risks = rng.choices(RISKS, cum_weights=RISK_CUM, k=size)
        for offset in range(size):
            customer_id = self.first_id + start + offset
            branch_id, spec = self.branches[bisect(self._branch_cum, rng.random() * self._branch_cum[-1])]
            number = self._next_no[branch_id]
            self._next_no[branch_id] = number + 1
            customer_no = f"0{spec.code}{number:07d}"
            is_male = rng.random() < 0.52
            name = person_name(rng, names[offset], is_male)
            status = statuses[offset]
            opened_days_ago = rng.between(0, 3 * 365 - 1)
            open_date = self.as_of - dt.timedelta(days=opened_days_ago)
            managers = self.managers.get(branch_id, [])
            manager = rng.pick(managers) if managers and rng.random() < 0.85 else None
            # Log-normal assets: median about ¥100,000, a long tail of millions.
            assets = 0.0 if status == CustomerStatus.CLOSED else round(math.exp(rng.gauss(11.5, 1.6)), 2)
            tier = next((tier for bound, tier in TIER_BOUNDS if assets >= bound), Tier.REGULAR)
            email = f"c{customer_no[-8:]}@{rng.pick(EMAIL_DOMAINS)}" if rng.random() < 0.3 else ""
            tags = rng.sample(TAGS, rng.between(1, 2)) if rng.random() < 0.25 else []
            if tier in (Tier.DIAMOND, Tier.GOLD):
                tags.insert(0, "高净值")
            birth = dt.date(rng.between(1950, 2003), rng.between(1, 12), rng.between(1, 28))
            attributes = {"gender": "男" if is_male else "女", "birthday": birth.isoformat(),
                          "open_channel": rng.pick(OPEN_CHANNELS)}
            id_no = demo_id_number(ID_REGIONS.get(spec.code, "310101"), birth, rng.between(0, 998), is_male)
            chunk.customers.append((
                customer_id, customer_no, name, branch_id, manager[0] if manager else None, tier,
                open_date.isoformat(), status, risks[offset], f"{assets:.2f}", email,
                _json(tags), _json(attributes), "id_card", self._cipher.encrypt(id_no), mask_id_number(id_no),
                self._cipher.lookup_hash(id_no), "[]",
                self.now_text, self.now_text,
            ))
            self._phones(rng, chunk, customer_id, spec)
            self._events(rng, chunk, customer_id, customer_no, status, opened_days_ago, tier, birth,
                         attributes["open_channel"], manager, managers)
        return chunk

    def _mobile(self, rng: FastRandom) -> str:
        return rng.pick(MOBILE_PREFIXES) + f"{rng.below(100_000_000):08d}"

    def _phones(self, rng: FastRandom, chunk: Chunk, customer_id: int, spec: BranchSpec) -> None:
        numbers: list[tuple[str, str]] = []
        if rng.random() < 0.97:
            numbers.append((ContactKind.MOBILE, self._mobile(rng)))
        if rng.random() < 0.15 or not numbers:
            numbers.append((ContactKind.LANDLINE, f"{spec.area_code}-{rng.pick(LANDLINE_FIRST_DIGITS)}"
                                                  f"{rng.below(10_000_000):07d}"))
        if rng.random() < 0.12:
            second = self._mobile(rng)
            if second != numbers[0][1]:
                numbers.append((ContactKind.MOBILE, second))
        for position, (kind, number) in enumerate(numbers):
            roll = rng.random()
            validity = (ContactValidity.INVALID if roll < 0.02 else ContactValidity.CHANGED if roll < 0.03
                        else ContactValidity.VALID if roll < 0.6 else ContactValidity.UNKNOWN)
            chunk.phones.append((customer_id, kind, number, phone_last4(number), validity, "counter", position == 0,
                                 self.now_text, self.now_text))

    def _events(self, rng: FastRandom, chunk: Chunk, customer_id: int, customer_no: str, status: str,
                opened_days_ago: int, tier: str, birth: dt.date, channel: str,
                manager: tuple[int, str] | None, managers: list[tuple[int, str]]) -> None:
        events: list[tuple[str, int, dict[str, Any]]] = []
        # Events fall within the year before `as_of`, never before the account was opened.
        window = min(opened_days_ago, 364)

        def day() -> int:
            # From yesterday back, so that no event lies later today than the build.
            return rng.between(min(1, window), window)

        if opened_days_ago < 365:
            events.append((EventType.ACCOUNT_OPENED, opened_days_ago, {"channel": channel}))
        if status == CustomerStatus.CLOSED:
            events.append((EventType.ACCOUNT_CLOSED, day(), {"reason": "客户申请销户"}))
        elif status == CustomerStatus.DESIGNATION_WITHDRAWN:
            events.append((EventType.DESIGNATION_WITHDRAWN, day(), {"to_firm": "其他证券公司"}))
        active = status == CustomerStatus.NORMAL
        if active and rng.random() < 0.4:
            shared = rng.random() < SHARED_IP_SHARE
            for _ in range(rng.between(1, 3)):
                ip = (rng.pick(self._shared_ips) if shared else
                      f"{rng.between(1, 223)}.{rng.between(0, 255)}.{rng.between(0, 255)}.{rng.between(1, 254)}")
                events.append((EventType.LOGIN, day(), {"ip": ip, "channel": rng.pick(LOGIN_CHANNELS)}))
        if active and rng.random() < 0.25:
            for _ in range(rng.between(1, 3)):
                amount = min(math.exp(rng.gauss(9.5, 1.8)), 50_000_000)
                events.append((EventType.TRANSFER_OUT, day(), {"amount": f"{amount:.2f}",
                                                               "bank": rng.pick(BANKS)}))
        if active and rng.random() < 0.10:
            code, product, kind = rng.pick(PRODUCTS)
            event = EventType.PRIVATE_FUND_SIGNED if kind == "私募" else EventType.PRODUCT_PURCHASED
            events.append((event, day(), {"product_code": code, "product_name": product, "product_type": kind,
                                          "amount": f"{rng.between(10, 500) * 1000:.2f}"}))
        if manager is not None and len(managers) > 1 and rng.random() < 0.03:
            previous = rng.pick([other for other in managers if other != manager])
            events.append((EventType.MANAGER_CHANGED, day(), {"from_agent_no": previous[1],
                                                              "to_agent_no": manager[1]}))
        roll = rng.random()
        if roll < 0.003:
            events.append((EventType.RISK_FLAGGED, day(), {"reason": rng.pick(RISK_REASONS), "level": "高"}))
        elif roll < 0.05:
            field_code, label = rng.pick(INFO_FIELDS)
            events.append((EventType.INFO_CHANGED, day(), {"field": field_code, "label": label}))
        elif roll < 0.09 and active:
            events.append((EventType.PERMISSION_OPENED, day(), {"permission": rng.pick(PERMISSIONS)}))
        elif roll < 0.10 and active:
            code, security, kind = rng.pick(RIGHTS)
            events.append((EventType.RIGHTS_ISSUE, day(), {"security": f"{code} {security}", "kind": kind}))
        elif roll < 0.11 and active:
            expires = self.as_of + dt.timedelta(days=rng.between(5, 60))
            events.append((EventType.CONTRACT_EXPIRING, day(), {"contract": "融资融券合同",
                                                                "expires_on": expires.isoformat()}))
        elif roll < 0.12 and active:
            events.append((EventType.POINTS_EXPIRING, day(), {"points": rng.between(100, 5000)}))
        elif roll < 0.125:
            events.append((EventType.HIGH_RISK_SALE, day(), {"product_risk": "R5", "customer_risk": "C3"}))
        elif roll < 0.128:
            events.append((EventType.COMPLAINT_CLOSED, day(), {"category": "服务态度", "satisfied": True}))
        if tier in (Tier.DIAMOND, Tier.GOLD):
            birthday = birth.replace(year=self.as_of.year)
            if birthday > self.as_of:
                birthday = birthday.replace(year=self.as_of.year - 1)
            days_ago = (self.as_of - birthday).days
            if days_ago <= window:
                events.append((EventType.BIRTHDAY, days_ago, {"birthday": birth.isoformat()[5:]}))
        for position, (event_type, days_ago, data) in enumerate(events, start=1):
            chunk.events.append((customer_id, event_type, self._moment(rng, days_ago),
                                 _json(data), SOURCE, f"{customer_no}-{position}",
                                 self.now_text))
