"""Pure decisions about questionnaires: no ORM. A questionnaire version's definition is data (the JSON export
format `huifang.questionnaire/1`); this module reads it, checks it for publishing, evaluates its logic on the
answers given so far, validates one answer, and fills the agent's script with the customer's values.

Every message is Chinese and names the question it is about (Q3 “是否本人”), so the designer can point at it."""

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

FORMAT = "huifang.questionnaire/1"
END = "END"
KINDS = ("single", "multiple", "yes_no", "rating", "nps", "text", "number", "date")
KIND_LABELS = {"single": "单选", "multiple": "多选", "yes_no": "是/否", "rating": "评分", "nps": "NPS 推荐度",
               "text": "文本", "number": "数字", "date": "日期"}
REQUIREMENTS = ("required", "soft", "optional")
OPERATORS = ("eq", "ne", "in", "not_in", "contains", "lt", "lte", "gt", "gte", "answered", "not_answered")
PLACEHOLDERS = ("客户姓名", "客户编号", "营业部", "客户经理", "开户日期", "产品名称", "金额", "日期", "公司名称",
                "坐席工号", "坐席姓名")
_PLACEHOLDER = re.compile(r"\{([^{}]{1,20})\}")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")
MAX_QUESTIONS = 100
MAX_TEXT_ANSWER = 2000


class DefinitionError(ValueError):
    """A definition that cannot be used; `messages` name the questions."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("；".join(messages))
        self.messages = list(messages)


class AnswerError(ValueError):
    """An answer that does not fit its question; the message is for the agent."""


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    score: float | None = None
    other: bool = False


@dataclass(frozen=True)
class Question:
    code: str
    kind: str
    text: str
    script: str = ""
    requirement: str = "required"
    must_pass: bool = False
    options: tuple[Option, ...] = ()
    scale_min: int = 1
    scale_max: int = 5
    scale_labels: Mapping[str, str] = field(default_factory=dict)
    show_if: Any = None
    jumps: tuple[tuple[Any, str], ...] = ()
    end_if: Any = None

    @property
    def title(self) -> str:
        return f"{self.code}“{self.text[:20]}”"

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Definition:
    questions: tuple[Question, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {q.code: i for i, q in enumerate(self.questions)})

    def position(self, code: str) -> int | None:
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        return index.get(code)

    def question(self, code: str) -> Question | None:
        position = self.position(code)
        return None if position is None else self.questions[position]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_definition(questions: Any) -> Definition:
    """The questions of a definition (a list of dicts, as exported); DefinitionError naming every question that
    is malformed. Logic is read here and checked by publish_errors."""
    if not isinstance(questions, list) or not questions:
        raise DefinitionError(["问卷至少要有一个问题"])
    if len(questions) > MAX_QUESTIONS:
        raise DefinitionError([f"问卷最多 {MAX_QUESTIONS} 个问题"])
    errors: list[str] = []
    parsed: list[Question] = []
    seen: set[str] = set()
    for position, raw in enumerate(questions, start=1):
        if not isinstance(raw, dict):
            errors.append(f"第 {position} 题不是对象")
            continue
        code = _text(raw.get("code"))
        name = f"第 {position} 题（{code or '无编号'}）"
        if not _CODE.match(code):
            errors.append(f"{name}：编号应以字母开头，只含字母、数字、下划线，最长 20 位")
        elif code in seen or code == END:
            errors.append(f"{name}：编号 {code} 重复或为保留字")
        seen.add(code)
        kind = _text(raw.get("kind"))
        if kind not in KINDS:
            errors.append(f"{name}：题型 {kind or '（空）'} 不存在，可用：{'、'.join(KINDS)}")
            continue
        text = _text(raw.get("text"))
        if not text:
            errors.append(f"{name}：题目为空")
        requirement = _text(raw.get("requirement")) or "required"
        if requirement not in REQUIREMENTS:
            errors.append(f"{name}：必答设置 {requirement} 不存在，可用：required、soft、optional")
        options = _options(raw.get("options"), kind, name, errors)
        scale_min, scale_max, labels = _scale(raw.get("scale"), kind, name, errors)
        must_pass = bool(raw.get("must_pass"))
        if must_pass and kind != "yes_no":
            errors.append(f"{name}：只有是/否题可以设为“必须通过”（身份核实）")
        logic = raw.get("logic") or {}
        if not isinstance(logic, dict):
            errors.append(f"{name}：logic 应为对象")
            logic = {}
        jumps_raw = logic.get("jump") or []
        if not isinstance(jumps_raw, list):
            errors.append(f"{name}：jump 应为列表")
            jumps_raw = []
        jumps = []
        for jump in jumps_raw:
            if not isinstance(jump, dict) or "if" not in jump or not _text(jump.get("to")):
                errors.append(f"{name}：每个跳转需要 if 与 to")
                continue
            jumps.append((jump["if"], _text(jump["to"])))
        parsed.append(Question(
            code=code, kind=kind, text=text, script=str(raw.get("script") or ""),
            requirement=requirement, must_pass=must_pass, options=options, scale_min=scale_min,
            scale_max=scale_max, scale_labels=labels, show_if=logic.get("show_if"), jumps=tuple(jumps),
            end_if=logic.get("end_if"),
        ))
    if errors:
        raise DefinitionError(errors)
    return Definition(tuple(parsed))


def _options(raw: Any, kind: str, name: str, errors: list[str]) -> tuple[Option, ...]:
    if kind not in ("single", "multiple"):
        if raw:
            errors.append(f"{name}：{KIND_LABELS[kind]}题不设选项")
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        errors.append(f"{name}：选择题至少要有两个选项")
        return ()
    options: list[Option] = []
    for item in raw:
        code, label = _text(item.get("code")) if isinstance(item, dict) else "", \
            _text(item.get("label")) if isinstance(item, dict) else ""
        if not code or not label:
            errors.append(f"{name}：每个选项需要编号和文字")
            continue
        if any(o.code == code for o in options):
            errors.append(f"{name}：选项编号 {code} 重复")
            continue
        score = item.get("score")
        if score is not None and not isinstance(score, int | float):
            errors.append(f"{name}：选项 {code} 的分值应为数字")
            score = None
        options.append(Option(code, label, None if score is None else float(score), bool(item.get("other"))))
    return tuple(options)


def _scale(raw: Any, kind: str, name: str, errors: list[str]) -> tuple[int, int, dict[str, str]]:
    if kind == "nps":
        return 0, 10, {"0": "完全不会推荐", "10": "非常愿意推荐"}
    if kind != "rating":
        return 1, 5, {}
    raw = raw or {}
    low, high = raw.get("min", 1), raw.get("max", 5)
    if not isinstance(low, int) or not isinstance(high, int) or not low < high or high - low > 20:
        errors.append(f"{name}：评分范围应为整数，最小值小于最大值，最多 21 档")
        return 1, 5, {}
    labels = raw.get("labels") or {}
    return low, high, {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


# --- logic ------------------------------------------------------------------------------------------------

def condition_questions(condition: Any) -> list[str]:
    """The question codes a condition reads."""
    if isinstance(condition, dict):
        if "all" in condition or "any" in condition:
            parts = condition.get("all", condition.get("any"))
            return [code for part in (parts if isinstance(parts, list) else []) for code in condition_questions(part)]
        return [condition["q"]] if isinstance(condition.get("q"), str) else []
    return []


def _condition_errors(condition: Any, definition: Definition, here: int, name: str) -> list[str]:
    if not isinstance(condition, dict):
        return [f"{name}：条件应为对象"]
    for key in ("all", "any"):
        if key in condition:
            parts = condition[key]
            if not isinstance(parts, list) or not parts:
                return [f"{name}：{key} 需要一个非空的条件列表"]
            return [error for part in parts for error in _condition_errors(part, definition, here, name)]
    code, op = condition.get("q"), condition.get("op")
    if not isinstance(code, str):
        return [f"{name}：条件缺少 q（引用的题目编号）"]
    target = definition.position(code)
    if target is None:
        return [f"{name}：条件引用了不存在的题目 {code}"]
    if target >= here:
        return [f"{name}：条件只能引用前面的题目，{code} 在它之后（或就是它自己）"]
    if op not in OPERATORS:
        return [f"{name}：条件运算 {op} 不存在，可用：{'、'.join(OPERATORS)}"]
    referenced = definition.questions[target]
    value = condition.get("value")
    if op in ("eq", "ne", "in", "not_in", "contains") and referenced.kind in ("single", "multiple", "yes_no"):
        allowed = ["yes", "no"] if referenced.kind == "yes_no" else [o.code for o in referenced.options]
        values = value if isinstance(value, list) else [value]
        unknown = [v for v in values if v not in allowed]
        if unknown:
            return [f"{name}：条件中 {code} 的取值 {unknown[0]} 不是它的选项（可用：{'、'.join(map(str, allowed))}）"]
    if op in ("lt", "lte", "gt", "gte") and (referenced.kind not in ("rating", "nps", "number")
                                             or not isinstance(value, int | float)):
        return [f"{name}：大小比较只能用于评分、NPS 或数字题，且取值为数字"]
    return []


def publish_errors(definition: Definition) -> list[str]:
    """Why `definition` cannot be published: logic that reads a missing or later question, a jump to a missing
    or earlier one, a cycle, or a path that never reaches the end. Empty when it can be."""
    errors: list[str] = []
    for here, question in enumerate(definition.questions):
        name = question.title
        if question.show_if is not None:
            errors += _condition_errors(question.show_if, definition, here, name)
        if question.end_if is not None:
            errors += _condition_errors(question.end_if, definition, here + 1, name)
        for condition, target in question.jumps:
            errors += _condition_errors(condition, definition, here + 1, name)
            if target == END:
                continue
            position = definition.position(target)
            if position is None:
                errors.append(f"{name}：跳转目标 {target} 不存在")
            elif position <= here:
                errors.append(f"{name}：只能向后跳转，{target} 在它之前（或就是它自己），会形成循环")
    if not errors:
        errors += _cycle_errors(definition)
    errors += [f"{problem}：话术中的占位符无法填写" for problem in unknown_placeholders(definition)]
    return errors


def _cycle_errors(definition: Definition) -> list[str]:
    """Every question must reach the end. Jumps only go forward (checked above), so this holds by construction;
    it is checked anyway over the graph of next-and-jump edges, so a future kind of edge cannot break it."""
    edges: dict[int, set[int]] = {}
    count = len(definition.questions)
    for here, question in enumerate(definition.questions):
        targets = {here + 1}
        for _, target in question.jumps:
            position = count if target == END else definition.position(target)
            targets.add(count if position is None else position)
        edges[here] = targets
    state: dict[int, int] = {}

    def visit(node: int) -> str | None:
        if node >= count:
            return None
        if state.get(node) == 1:
            return f"{definition.questions[node].title}：跳转形成循环，问卷无法结束"
        if state.get(node) == 2:
            return None
        state[node] = 1
        for target in edges[node]:
            problem = visit(target)
            if problem:
                return problem
        state[node] = 2
        return None

    problem = visit(0)
    return [problem] if problem else []


Answers = Mapping[str, Any]


def holds(condition: Any, answers: Answers) -> bool:
    """Whether `condition` holds for the answers given so far (question code -> value; unanswered = absent)."""
    if condition is None:
        return True
    if "all" in condition:
        return all(holds(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(holds(part, answers) for part in condition["any"])
    op, value = condition["op"], condition.get("value")
    present = condition["q"] in answers and answers[condition["q"]] not in (None, "", [])
    if op == "answered":
        return present
    if op == "not_answered":
        return not present
    if not present:
        return False
    given = answers[condition["q"]]
    if op == "eq":
        return bool(given == value)
    if op == "ne":
        return bool(given != value)
    if op == "in":
        return given in (value or [])
    if op == "not_in":
        return given not in (value or [])
    if op == "contains":
        return isinstance(given, list) and value in given
    try:
        number, limit = float(given), float(value)
    except (TypeError, ValueError):
        return False
    return {"lt": number < limit, "lte": number <= limit, "gt": number > limit, "gte": number >= limit}[op]


@dataclass(frozen=True)
class Step:
    """Where the questionnaire goes next: a question code, or the end with how it ended."""

    question: str | None
    ended: Literal["", "complete", "not_owner"] = ""


def first_step(definition: Definition, answers: Answers) -> Step:
    return _from(definition, 0, answers)


def next_step(definition: Definition, answers: Answers, current: str) -> Step:
    """The step after `current` was answered (or skipped): a failed identity question ends as not_owner; then
    end_if, then the first jump whose condition holds, else the next question; questions whose show_if does
    not hold are passed over."""
    position = definition.position(current)
    if position is None:
        raise KeyError(current)
    question = definition.questions[position]
    if question.must_pass and answers.get(current) == "no":
        return Step(None, "not_owner")
    if question.end_if is not None and holds(question.end_if, answers):
        return Step(None, "complete")
    for condition, target in question.jumps:
        if holds(condition, answers):
            if target == END:
                return Step(None, "complete")
            return _from(definition, definition.position(target) or position + 1, answers)
    return _from(definition, position + 1, answers)


def _from(definition: Definition, start: int, answers: Answers) -> Step:
    for question in definition.questions[start:]:
        if question.show_if is None or holds(question.show_if, answers):
            return Step(question.code)
    return Step(None, "complete")


def path(definition: Definition, answers: Answers) -> list[str]:
    """The questions asked, in order, for these answers (stopping at the first one not answered yet)."""
    asked: list[str] = []
    step = first_step(definition, answers)
    while step.question is not None:
        asked.append(step.question)
        if step.question not in answers:
            break
        step = next_step(definition, answers, step.question)
    return asked


def reachable(definition: Definition, answers: Answers) -> list[str]:
    """The questions on the path for these answers, walking on past unanswered ones (as if they were skipped):
    an answer to a question not in it was given for another path."""
    on_path: list[str] = []
    step = first_step(definition, answers)
    while (code := step.question) is not None:
        on_path.append(code)
        if code in answers:
            step = next_step(definition, answers, code)
        else:
            step = _from(definition, (definition.position(code) or 0) + 1, answers)
    return on_path


# --- answers ----------------------------------------------------------------------------------------------

def clean_answer(question: Question, value: Any, other_text: str = "") -> Any:
    """The stored form of an answer to `question`; AnswerError with the reason otherwise."""
    kind = question.kind
    if kind == "yes_no":
        if value in ("yes", "no"):
            return value
        if value in (True, False):
            return "yes" if value else "no"
        raise AnswerError(f"{question.title}：请回答“是”或“否”")
    if kind == "single":
        option = question.option(str(value))
        if option is None:
            raise AnswerError(f"{question.title}：{value} 不是这道题的选项")
        if option.other and not other_text.strip():
            raise AnswerError(f"{question.title}：选择“{option.label}”时请注明具体内容")
        return option.code
    if kind == "multiple":
        values = value if isinstance(value, list) else [value]
        codes = [str(v) for v in values if v not in (None, "")]
        if not codes:
            raise AnswerError(f"{question.title}：请至少选择一项")
        unknown = [c for c in codes if question.option(c) is None]
        if unknown:
            raise AnswerError(f"{question.title}：{unknown[0]} 不是这道题的选项")
        if any(question.option(c).other for c in codes) and not other_text.strip():  # type: ignore[union-attr]
            raise AnswerError(f"{question.title}：选择“其他”时请注明具体内容")
        return sorted(set(codes), key=[o.code for o in question.options].index)
    if kind in ("rating", "nps"):
        try:
            number = int(str(value))
        except ValueError:
            raise AnswerError(f"{question.title}：请选择 {question.scale_min} 到 {question.scale_max} 之间的分数") \
                from None
        if not question.scale_min <= number <= question.scale_max:
            raise AnswerError(f"{question.title}：分数应在 {question.scale_min} 到 {question.scale_max} 之间")
        return number
    if kind == "number":
        try:
            number_value = Decimal(str(value).strip())
        except InvalidOperation:
            raise AnswerError(f"{question.title}：请填写数字") from None
        if not number_value.is_finite():
            raise AnswerError(f"{question.title}：请填写数字")
        return float(number_value) if number_value != number_value.to_integral() else int(number_value)
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise AnswerError(f"{question.title}：日期格式应为 YYYY-MM-DD") from None
    text = str(value or "").strip()
    if not text:
        raise AnswerError(f"{question.title}：请填写内容")
    if len(text) > MAX_TEXT_ANSWER:
        raise AnswerError(f"{question.title}：内容超过 {MAX_TEXT_ANSWER} 字")
    return text


def fill_script(script: str, values: Mapping[str, Any]) -> str:
    """The script with its placeholders ({客户姓名}, {金额}, ...) replaced by `values`; a placeholder with no value
    stays visible as 【客户姓名】 so the agent notices it rather than reading a gap."""
    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return f"【{match.group(1)}】" if value in (None, "") else str(value)

    return _PLACEHOLDER.sub(replace, script)


def unknown_placeholders(definition: Definition, extra: Sequence[str] = ()) -> list[str]:
    """Placeholders in the scripts that nothing fills (a typo such as {客户名}), as "Q1：{客户名}"."""
    known = set(PLACEHOLDERS) | set(extra)
    return [f"{q.title}：{{{name}}}" for q in definition.questions for name in _PLACEHOLDER.findall(q.script)
            if name not in known and not name.startswith(("客户.", "事件."))]
