"""Satisfaction analysis (满意度分析): from the answers to the questionnaires' satisfaction questions — rating
questions (评分题) whose text contains 满意 — of the responses started in the period, broken down by customer
segment (客户等级), agent, branch and business line.

Per response: its score is the mean of its answered satisfaction questions, each normalised to 0–100 over its
scale ((answer − min) ÷ (max − min) × 100, surveys.rules scale_min / scale_max); it is satisfied (满意) when its
mean reaches the scale's second-highest point on average (top two points: ≥ 4 on 1–5). A response without an
answered satisfaction question is not counted.

Who: the agent is who started the response (Response.started_by), else the agent of the callback it belongs to.
Business line: the callback type of the response's callback; without a callback, the first callback type its
questionnaire serves."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from huifang.callbacks.models import Callback
from huifang.campaigns.models import CallbackType
from huifang.org.models import Branch, User
from huifang.reports.kpis import agent_label
from huifang.reports.periods import Period
from huifang.reports.registry import register
from huifang.reports.tables import Chart, Figure, Report, Table
from huifang.surveys import rules
from huifang.surveys.models import Answer, QuestionnaireVersion, Response

#: the customer segments (Customer.tier) in Chinese, best first
TIER_TEXT = {"diamond": "钻石", "gold": "黄金", "silver": "白银", "regular": "普通"}
HEADERS = ["答卷数", "满意度得分（0–100）", "满意答卷数", "满意率"]
UNKNOWN = "未知"


def satisfaction_questions(definition: Any) -> list[rules.Question]:
    """The satisfaction questions of a version's definition: rating questions whose text contains 满意."""
    try:
        parsed = rules.parse_definition(definition)
    except rules.DefinitionError:
        return []
    return [q for q in parsed.questions if q.kind == "rating" and "满意" in q.text]


def normalised(question: rules.Question, value: float) -> float:
    return (value - question.scale_min) / (question.scale_max - question.scale_min) * 100


@dataclass
class Scored:
    """One response's satisfaction."""

    response_id: int
    score: float
    satisfied: bool
    tier: str = ""
    branch_id: int | None = None
    agent_id: int | None = None
    callback_type_id: int | None = None


@dataclass
class QuestionUse:
    questionnaire: str
    code: str
    text: str
    scale: str
    answered: int = 0
    total: float = 0.0


@dataclass
class Analysis:
    responses: list[Scored] = field(default_factory=list)
    questions: list[QuestionUse] = field(default_factory=list)


def analyse(user: Any, period: Period, branch_id: int | None = None) -> Analysis:
    """Every response started in the period that `user` sees (limited to `branch_id`) with at least one answered
    satisfaction question, scored as the module's doc says."""
    low, high = period.bounds()
    responses = Response.objects.visible_to(user).filter(started_at__gte=low, started_at__lt=high)
    if branch_id is not None:
        responses = responses.filter(customer__branch_id=branch_id)
    versions = QuestionnaireVersion.objects.filter(pk__in=responses.values("version_id").distinct()) \
        .select_related("questionnaire")
    asked: dict[int, dict[str, rules.Question]] = {}
    uses: dict[tuple[int, str], QuestionUse] = {}
    serves: dict[int, list[str]] = {}
    for version in versions:
        questions = satisfaction_questions(version.definition)
        asked[version.pk] = {q.code: q for q in questions}
        serves[version.pk] = list(version.questionnaire.callback_types or [])
        for q in questions:
            uses[(version.pk, q.code)] = QuestionUse(f"{version.questionnaire.name}（第 {version.number} 版）", q.code,
                                                     q.text, f"{q.scale_min}–{q.scale_max}")
    codes = {code for per_version in asked.values() for code in per_version}
    scores: dict[int, list[tuple[float, float]]] = defaultdict(list)
    answers = Answer.objects.filter(response__in=responses, question_code__in=codes, value__isnull=False) \
        .values_list("response_id", "response__version_id", "question_code", "value")
    for response_id, version_id, code, value in answers.iterator(chunk_size=5000):
        question = asked.get(version_id, {}).get(code)
        if question is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        scores[response_id].append((normalised(question, value), normalised(question, question.scale_max - 1)))
        use = uses[(version_id, code)]
        use.answered += 1
        use.total += value
    if not scores:
        return Analysis(questions=[u for u in uses.values() if u.answered])
    facts = {pk: (version_id, tier, branch, started_by) for pk, version_id, tier, branch, started_by in
             responses.filter(pk__in=list(scores)).values_list("id", "version_id", "customer__tier",
                                                                "customer__branch_id", "started_by_id")}
    of_callback: dict[int, tuple[int | None, int]] = {}
    for response_id, agent_id, type_id in Callback.objects.filter(response__in=responses) \
            .values_list("response_id", "agent_id", "callback_type_id").order_by("id"):
        of_callback.setdefault(response_id, (agent_id, type_id))
    type_ids = dict(CallbackType.objects.values_list("code", "id"))
    found = []
    for response_id, pairs in scores.items():
        if response_id not in facts:
            continue
        version_id, tier, branch, started_by = facts[response_id]
        mean = sum(score for score, _ in pairs) / len(pairs)
        threshold = sum(bar for _, bar in pairs) / len(pairs)
        agent, type_id = of_callback.get(response_id, (None, None))
        if type_id is None:
            type_id = next((type_ids[code] for code in serves.get(version_id, []) if code in type_ids), None)
        found.append(Scored(response_id, mean, mean >= threshold - 1e-9, tier, branch,
                            started_by if started_by is not None else agent, type_id))
    return Analysis(responses=sorted(found, key=lambda s: s.response_id),
                    questions=[u for u in uses.values() if u.answered])


def _row(label: str, items: list[Scored]) -> list[Any]:
    count = len(items)
    satisfied = sum(1 for item in items if item.satisfied)
    return [label, count, f"{sum(item.score for item in items) / count:.1f}" if count else "—", satisfied,
            f"{satisfied / count:.1%}" if count else "—"]


def _table(title: str, label: str, items: Iterable[Scored], key: str, names: dict[Any, str],
           note: str, order: list[Any] | None = None) -> Table:
    groups: dict[Any, list[Scored]] = defaultdict(list)
    everything = list(items)
    for item in everything:
        groups[getattr(item, key)].append(item)
    keys = [k for k in order if k in groups] if order else sorted(groups, key=lambda k: names.get(k, UNKNOWN))
    rows = [_row(names.get(k, UNKNOWN), groups[k]) for k in keys]
    return Table(title=title, headers=[label, *HEADERS], rows=rows, total=_row("合计", everything), note=note)


NOTE = ("满意度得分：每份答卷的满意度题（题目含“满意”的评分题）按量表折算为 0–100 后取平均，再对答卷取平均；"
        "满意：答卷平均分达到量表次高分（1–5 分制为 ≥ 4 分）。按答卷开始时间计入报表期。")


@register("satisfaction", title="满意度分析", order=50,
          description="问卷满意度题的得分（0–100）与满意率，按客户等级、回访人员、营业部、业务线（回访类型）")
def satisfaction(user: Any, period: Period, branch_id: int | None) -> Report:
    analysis = analyse(user, period, branch_id)
    items = analysis.responses
    branches = dict(Branch.objects.values_list("id", "name"))
    types = dict(CallbackType.objects.values_list("id", "name"))
    agents = {pk: agent_label(name, username, agent_no) for pk, name, username, agent_no in
              User.objects.filter(pk__in={i.agent_id for i in items if i.agent_id}).values_list(
                  "id", "name", "username", "agent_no")}
    report = Report(code="satisfaction", title="满意度分析", period=period,
                    scope=branches.get(branch_id, "") if branch_id else "")
    total = _row("", items)
    report.figures = [
        Figure("答卷数", f"{total[1]:,}", "报表期内开始、至少答了一道满意度题的答卷"),
        Figure("满意度得分", total[2], "各答卷满意度题折算 0–100 后的平均分，再对答卷取平均"),
        Figure("满意率", total[4], "满意答卷数 ÷ 答卷数；满意：答卷平均分达到量表次高分（1–5 分制为 ≥ 4 分）"),
    ]
    by_tier = _table("按客户等级", "客户等级", items, "tier", TIER_TEXT, NOTE, order=list(TIER_TEXT))
    by_agent = _table("按回访人员", "回访人员", items, "agent_id", agents,
                      NOTE + "回访人员：开始答卷的人；没有时为答卷所属回访任务的坐席。")
    by_branch = _table("按营业部", "营业部", items, "branch_id", branches, NOTE + "营业部：客户所属营业部。")
    by_line = _table("按业务线", "业务线（回访类型）", items, "callback_type_id", types,
                     NOTE + "业务线按回访类型划分：答卷所属回访任务的类型；没有回访任务时取问卷适用的第一个回访类型"
                            "（服务/营销两类过粗，不用于细分）。")
    questions = Table(title="满意度题目", headers=["问卷", "题号", "题目", "量表", "作答数", "平均分"],
                      rows=[[u.questionnaire, u.code, u.text, u.scale, u.answered,
                             f"{u.total / u.answered:.2f}" if u.answered else "—"]
                            for u in sorted(analysis.questions, key=lambda u: (u.questionnaire, u.code))],
                      note="计入分析的题目：题目含“满意”的评分题；平均分为原始分。")
    report.tables = [by_tier, by_agent, by_branch, by_line, questions]
    report.charts = [
        Chart("各营业部满意度得分", {
            "tooltip": {}, "xAxis": {"type": "category", "data": [row[0] for row in by_branch.rows]},
            "yAxis": {"type": "value", "min": 0, "max": 100},
            "series": [{"name": "满意度得分", "type": "bar",
                        "data": [float(row[2]) if row[2] != "—" else 0 for row in by_branch.rows]}],
        }),
        Chart("各客户等级满意率", {
            "tooltip": {}, "xAxis": {"type": "category", "data": [row[0] for row in by_tier.rows]},
            "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
            "series": [{"name": "满意率", "type": "bar",
                        "data": [round(100 * row[3] / row[1], 1) if row[1] else 0 for row in by_tier.rows]}],
        }),
        Chart("各业务线满意度得分", {
            "tooltip": {}, "xAxis": {"type": "category", "data": [row[0] for row in by_line.rows]},
            "yAxis": {"type": "value", "min": 0, "max": 100},
            "series": [{"name": "满意度得分", "type": "bar",
                        "data": [float(row[2]) if row[2] != "—" else 0 for row in by_line.rows]}],
        }),
    ]
    return report
