"""Pure rules of manual projects (回访项目): reading the assignment text and spreading callbacks evenly over agents.
No models, services or queries here (an import-linter contract): projects.py feeds these from the database.

The assignment text is one line per customer, `customer_number[,agent_number]`, as users paste it from Excel or
a chat window: a BOM, full-width commas (，) and digits, tabs, spaces and blank lines are tolerated; line numbers
are those of the text as pasted (1-based, blank lines counted), so a rejection points at the line the user sees."""

import heapq
import re
import unicodedata
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from huifang.customers.rules import looks_like_customer_no

#: the most lines one assignment may carry (a project is a sample, not a customer import)
MAX_ASSIGNMENT_LINES = 20_000
#: agent numbers are at most this long (org.User.agent_no)
AGENT_NO_MAX_LENGTH = 20

_SEPARATORS = re.compile(r"[,\t;]")
_SPACES = re.compile(r"\s+")
#: a first line like "客户编号,坐席工号" is a header, not a customer
_HEADER_WORDS = ("客户", "编号", "坐席", "工号", "customer", "agent")


@dataclass(frozen=True)
class Line:
    """One accepted line: the customer and, if given, the agent it goes to."""

    line: int
    customer_no: str
    agent_no: str | None
    text: str


@dataclass(frozen=True)
class RejectedLine:
    """A line that was not taken, with the reason (without the line number: `message` adds it)."""

    line: int
    text: str
    reason: str

    @property
    def message(self) -> str:
        return f"第 {self.line} 行：{self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "text": self.text, "reason": self.reason, "message": self.message}


@dataclass
class ParsedLines:
    lines: list[Line] = field(default_factory=list)
    rejected: list[RejectedLine] = field(default_factory=list)
    #: how many non-blank lines the text had (a skipped header included)
    read: int = 0

    @property
    def customer_numbers(self) -> list[str]:
        return [line.customer_no for line in self.lines]

    @property
    def agent_numbers(self) -> list[str]:
        return sorted({line.agent_no for line in self.lines if line.agent_no})


def normalise_line(raw: str) -> str:
    """NFKC (full-width comma, digits and letters become ASCII), without BOMs and zero-width spaces."""
    text = raw.replace("\ufeff", "").replace("\u200b", "")
    # NFKC maps '，' (U+FF0C) to ','; the ideographic comma '、' is a separator users type too.
    return unicodedata.normalize("NFKC", text).replace("、", ",").strip()


def _fields(text: str) -> list[str]:
    if _SEPARATORS.search(text):
        parts = [_SPACES.sub("", part) for part in _SEPARATORS.split(text)]
        # "0031…," (a trailing separator) is a line without an agent
        while parts and not parts[-1]:
            parts.pop()
        return parts
    return _SPACES.split(text)


def _looks_like_header(text: str) -> bool:
    lowered = text.lower()
    return not any(ch.isdigit() for ch in text) and any(word in lowered for word in _HEADER_WORDS)


def parse_assignment_lines(text: str) -> ParsedLines:
    """The lines of an assignment text: accepted ones in order, and the rejected ones with their reasons
    (a bad shape, a customer number already given on an earlier line). A header line first is skipped."""
    parsed = ParsedLines()
    seen: dict[str, int] = {}
    first = True
    for number, raw in enumerate((text or "").splitlines(), start=1):
        clean = normalise_line(raw)
        if not clean:
            continue
        parsed.read += 1
        shown = raw.replace("\ufeff", "").strip()[:200]
        if first:
            first = False
            if _looks_like_header(clean):
                continue
        fields = _fields(clean)
        if len(fields) > 2:
            parsed.rejected.append(RejectedLine(number, shown, "格式不正确：每行应为“客户编号[,坐席工号]”"))
            continue
        customer_no = fields[0] if fields else ""
        agent_no = fields[1] if len(fields) == 2 and fields[1] else None
        if not customer_no:
            parsed.rejected.append(RejectedLine(number, shown, "缺少客户编号"))
            continue
        if not looks_like_customer_no(customer_no):
            parsed.rejected.append(RejectedLine(number, shown, f"客户编号“{customer_no}”格式不正确"))
            continue
        if agent_no is not None and len(agent_no) > AGENT_NO_MAX_LENGTH:
            parsed.rejected.append(RejectedLine(number, shown, f"坐席工号“{agent_no[:30]}”格式不正确"))
            continue
        if customer_no in seen:
            parsed.rejected.append(RejectedLine(number, shown, f"客户 {customer_no} 与第 {seen[customer_no]} 行重复"))
            continue
        seen[customer_no] = number
        parsed.lines.append(Line(number, customer_no, agent_no, shown))
    return parsed


def spread_with_exclusions[K: Hashable](loads: Mapping[K, int],
                                        exclusions: Sequence[Collection[K]]) -> list[K | None]:
    """Water-filling: item i goes to the agent with the lowest current load among those not in exclusions[i]
    (ties: the order of `loads`), whose load then grows by one. None for an item every agent is excluded from.
    The final loads of the agents differ by at most one as long as no item is excluded from anyone."""
    order = {agent: index for index, agent in enumerate(loads)}
    current = dict(loads)
    heap: list[tuple[int, int, K]] = [(load, order[agent], agent) for agent, load in loads.items()]
    heapq.heapify(heap)
    chosen: list[K | None] = []
    for excluded in exclusions:
        if not excluded:
            load, index, agent = heapq.heappop(heap)
            chosen.append(agent)
            current[agent] = load + 1
            heapq.heappush(heap, (load + 1, index, agent))
            continue
        candidates = [agent for agent in loads if agent not in excluded]
        if not candidates:
            chosen.append(None)
            continue
        agent = min(candidates, key=lambda a: (current[a], order[a]))
        chosen.append(agent)
        # the heap holds one entry per agent: rebuild it (exclusions are rare: recusal only)
        current[agent] += 1
        heap = [(current[a], order[a], a) for a in loads]
        heapq.heapify(heap)
    return chosen


def spread_evenly[K: Hashable](loads: Mapping[K, int], count: int) -> list[K]:
    """The agent each of `count` new callbacks goes to, so that the agents' loads (`loads`: their open callbacks
    now) end up as even as possible: each next one to the agent with the lowest load, ties by the order of
    `loads`. Raises ValueError when there are callbacks but no agents."""
    if count <= 0:
        return []
    if not loads:
        raise ValueError("没有可分配的坐席")
    return [agent for agent in spread_with_exclusions(loads, [()] * count) if agent is not None]
