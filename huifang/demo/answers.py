"""The questionnaire answers of the demo's past: `build_answers(seed=..., callbacks=[...])` gives each successful
callback of the history (done, its last outcome 成功回访) whose questionnaire can be answered a finished response,
as the agent's workbench would have left it:

- started (Response.started_at, started_by) when the agent first held the callback, which is when the workbench
  opens it (callbacks.responses.start_callback_response), for the callback's questionnaire version (the type's
  published default when the callback has none, as questionnaire_version_for gives it) and business event;
  a version no longer published, or one that does not apply to the customer's branch (surveys.services.applies_to)
  is not answered, as start_response would refuse it;
- answered question by question during the successful call, exactly as surveys.services.save_answer stores it:
  the path followed with rules.first_step / next_step (show_if, jumps, end_if), each value the stored form
  rules.clean_answer gives (option codes, "yes"/"no", integers for ratings), required questions always answered,
  soft-required ones skipped only with a reason, optional ones skipped with none (a skip is an answer row whose
  value is null), answered_at in the call's talk time, in order;
- closed by finish_response: complete (every question on its path answered), current question "", finished
  before the outcome was registered; and linked to the callback (Callback.response), as the workbench links it.

The answers are plausible: each response has a mood — mostly satisfied, some neutral, a few dissatisfied, the odds
a little different per agent — that sets the ratings (satisfied: the top two points, neutral: the middle, dissatisfied:
the bottom two), the NPS, which options are chosen (scored ones best first) and how often a yes/no question gets
the answer that opens a follow-up (a promise of returns, a problem to record: the answer that shows a later text
question, jumps or ends). The identity question (must_pass) is always passed: the callback succeeded.

Rows are written set-based (demo.bulk.RowWriter) with explicit response ids, inside the caller's transaction;
the callbacks get their response (and version) by one UPDATE each. Deterministic: the same seed and history give
the same answers."""

import datetime as dt
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.services import questionnaire_version_for
from huifang.calls.choices import Policy
from huifang.calls.models import CallCallback
from huifang.campaigns.models import CallbackType
from huifang.demo.bulk import RowWriter
from huifang.org.models import Branch
from huifang.surveys import rules
from huifang.surveys.choices import ResponseStatus, VersionState
from huifang.surveys.models import Answer, QuestionnaireVersion, Response
from huifang.surveys.services import applies_to

MOODS = ("satisfied", "neutral", "dissatisfied")
#: an agent's odds of a satisfied and of a dissatisfied customer (the rest neutral), drawn once per agent
SATISFIED_ODDS = (0.70, 0.88)
DISSATISFIED_ODDS = (0.03, 0.08)
#: (satisfied, neutral, dissatisfied) for a callback without an agent
AVERAGE_ODDS = (0.79, 0.155, 0.055)
#: chance that a yes/no question gets the answer that opens a follow-up, by mood
FOLLOW_UP = {"satisfied": 0.01, "neutral": 0.04, "dissatisfied": 0.15}
#: choice questions: weight of the i-th option (best first) is DECAY[mood] ** i; options that show a later text
#: question weigh OPENING[mood] times as much, an "other" option OTHER times
DECAY = {"satisfied": 0.5, "neutral": 0.75, "dissatisfied": 1.0}
OPENING = {"satisfied": 0.3, "neutral": 1.0, "dissatisfied": 2.5}
OTHER = 0.2
#: chance that an optional text question is answered, by mood; other optional questions, soft-required ones
OPTIONAL_TEXT = {"satisfied": 0.12, "neutral": 0.3, "dissatisfied": 0.5}
OPTIONAL = 0.85
SOFT = 0.96
SKIP_REASONS = ("客户不愿回答", "客户表示不清楚", "客户赶时间，未继续询问")
OTHER_TEXT = ("客户口述的其他情况，已记录", "客户说明了具体情况，已记录")
#: text answers by a word of the question's text (the first that matches), else GENERAL
TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("意见或建议", ("希望手机 App 的行情刷新再快一些", "希望多举办投资者教育讲座", "希望客服热线接通再快一些",
               "没有其他意见", "希望营业部定期推送市场资讯", "希望更多业务可以在线办理")),
    ("承诺", ("客户称办理时工作人员提到“保本”，已记录并提交合规部门核实",)),
    ("转往", ("转往另一家券商，对方佣金较低", "跟随原客户经理转往其他券商")),
    ("不满意", ("交易高峰时 App 卡顿", "客户经理很少主动联系", "营业部办理业务排队时间长", "佣金费率偏高")),
    ("推荐意愿低", ("近期收益不理想", "身边朋友多在其他券商", "对交易软件不太满意")),
    ("共用", ("与家人共用家中宽带网络", "与同事共用单位网络")),
    ("需更新", ("身份证件已换发新证，客户将到营业部更新", "职业信息有变化，已告知办理方式")),
    ("需更正", ("联系地址的门牌号有误，已记录客户口述的正确地址",)),
    ("非本人", ("客户称由家人代为办理，已提醒须本人办理并记录",)),
    ("期望", ("希望新客户经理每月沟通一次市场情况", "希望客户经理多介绍理财产品")),
    ("咨询", ("客户咨询办理所需材料，已告知", "客户咨询缴款时间，已说明")),
    ("仍需解决", ("客户希望尽快退还多收的费用", "客户希望营业部给出书面答复")),
    ("记录", ("客户说明了具体经过，已详细记录并转合规部门核实", "客户表示情况属实，已记录，待合规部门跟进")),
)
GENERAL = ("客户已说明情况，已记录",)

RESPONSE_COLUMNS = ["id", "version_id", "customer_id", "event_id", "status", "channel", "current_question",
                    "started_by_id", "started_at", "updated_at", "finished_at"]
ANSWER_COLUMNS = ["response_id", "question_code", "value", "other_text", "skipped_reason", "answered_at"]


@dataclass
class AnswersSummary:
    responses: int = 0
    answers: int = 0
    #: successful callbacks left without a response: no questionnaire, or one that cannot be answered
    unanswered: int = 0


@dataclass(frozen=True)
class Given:
    """One answer as save_answer stores it: the cleaned value (None: skipped), other text, reason for skipping."""

    code: str
    value: Any
    other_text: str = ""
    skipped_reason: str = ""


def _opens(definition: rules.Definition, question: rules.Question, answers: dict[str, Any], value: Any) -> bool:
    """Whether answering `question` with `value` opens a follow-up: it ends the questionnaire, jumps, or shows a
    later text question that would not show otherwise."""
    trial = {**answers, question.code: value}
    if question.end_if is not None and rules.holds(question.end_if, trial):
        return True
    if any(rules.holds(condition, trial) for condition, _ in question.jumps):
        return True
    position = definition.position(question.code) or 0
    return any(later.kind == "text" and later.show_if is not None
               and question.code in rules.condition_questions(later.show_if)
               and rules.holds(later.show_if, trial) and not rules.holds(later.show_if, answers)
               for later in definition.questions[position + 1:])


class _Answerer:
    """Answers a definition as one customer of a given mood would, through the same rules save_answer applies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def respond(self, definition: rules.Definition, mood: str, day: dt.date) -> list[Given]:
        answers: dict[str, Any] = {}
        given: list[Given] = []
        step = rules.first_step(definition, answers)
        while step.question is not None:
            question = definition.question(step.question)
            if question is None:  # first_step / next_step only name the definition's questions
                raise LookupError(step.question)
            value, other_text, reason = self._choose(definition, question, answers, mood, day)
            if value in (None, "", []):
                # save_answer: a required question cannot be skipped, a soft-required one only with a reason
                if question.requirement == "required" or (question.requirement == "soft" and not reason.strip()):
                    raise ValueError(f"{question.title}：不能跳过")
                given.append(Given(question.code, None, "", reason.strip()[:200]))
                answers[question.code] = None
            else:
                cleaned = rules.clean_answer(question, value, other_text)
                given.append(Given(question.code, cleaned, other_text.strip()[:500], ""))
                answers[question.code] = cleaned
            step = rules.next_step(definition, answers, question.code)
        # finish_response: complete when every question on the path is answered (a passed identity question
        # never ends as not_owner)
        if step.ended != "complete" or any(code not in answers for code in rules.path(definition, answers)):
            raise ValueError("问卷未完成")
        return given

    def _choose(self, definition: rules.Definition, question: rules.Question, answers: dict[str, Any], mood: str,
                day: dt.date) -> tuple[Any, str, str]:
        """(value, other text, reason for skipping) for one question; value None skips it."""
        rng = self.rng
        if not question.must_pass:
            if question.requirement == "soft" and rng.random() > SOFT:
                return None, "", rng.choice(SKIP_REASONS)
            if question.requirement == "optional":
                chance = OPTIONAL_TEXT[mood] if question.kind == "text" else OPTIONAL
                if rng.random() > chance:
                    return None, "", ""
        kind = question.kind
        if kind == "yes_no":
            if question.must_pass:
                return "yes", "", ""
            opening = {value: _opens(definition, question, answers, value) for value in ("yes", "no")}
            good = "no" if opening["yes"] and not opening["no"] else "yes"
            follow_up = "yes" if good == "no" else "no"
            return (follow_up if rng.random() < FOLLOW_UP[mood] else good), "", ""
        if kind == "rating":
            return self._rating(question.scale_min, question.scale_max, mood), "", ""
        if kind == "nps":
            return self._nps(mood), "", ""
        if kind in ("single", "multiple"):
            return self._options(definition, question, answers, mood)
        if kind == "number":
            return rng.randint(1, 10), "", ""
        if kind == "date":
            return day.isoformat(), "", ""
        phrases = next((texts for word, texts in TEXTS if word in question.text), GENERAL)
        return rng.choice(phrases), "", ""

    def _rating(self, low: int, high: int, mood: str) -> int:
        rng = self.rng
        if mood == "satisfied":
            value = rng.choices((high, high - 1, high - 2), (55, 40, 5))[0]
        elif mood == "neutral":
            middle = (low + high) // 2 if high - low > 2 else high - 1
            value = rng.choices((middle, middle + 1, middle - 1), (70, 15, 15))[0]
        else:
            value = rng.choices((low + 1, low, low + 2), (50, 30, 20))[0]
        return max(low, min(high, value))

    def _nps(self, mood: str) -> int:
        if mood == "satisfied":
            return self.rng.choices((10, 9, 8), (45, 40, 15))[0]
        if mood == "neutral":
            return self.rng.choices((8, 7, 6), (35, 40, 25))[0]
        return self.rng.choices((6, 5, 4, 3, 2, 0), (25, 25, 20, 15, 10, 5))[0]

    def _options(self, definition: rules.Definition, question: rules.Question, answers: dict[str, Any],
                 mood: str) -> tuple[Any, str, str]:
        rng = self.rng
        options = list(question.options)
        if any(option.score is not None for option in options):
            options.sort(key=lambda option: -(option.score or 0.0))  # best first; sort is stable
        weights = []
        for index, option in enumerate(options):
            weight = DECAY[mood] ** index
            if option.other:
                weight *= OTHER
            elif question.kind == "single" and _opens(definition, question, answers, option.code):
                weight *= OPENING[mood]
            weights.append(weight)
        if question.kind == "single":
            chosen = [rng.choices(options, weights)[0]]
        else:
            count = min(len(options), rng.choices((1, 2, 3), (60, 30, 10))[0])
            pool, pool_weights, chosen = list(options), list(weights), []
            for _ in range(count):
                pick = rng.choices(range(len(pool)), pool_weights)[0]
                chosen.append(pool.pop(pick))
                pool_weights.pop(pick)
        other_text = rng.choice(OTHER_TEXT) if any(option.other for option in chosen) else ""
        codes = [option.code for option in chosen]
        return (codes[0] if question.kind == "single" else codes), other_text, ""


def _moments(rng: random.Random, answered: dt.datetime, ended: dt.datetime, count: int) -> list[dt.datetime]:
    """`count` strictly increasing whole-second moments within the talk time (after the greeting)."""
    talk = int((ended - answered).total_seconds())
    first, last = min(10, talk // 4), max(talk - 5, 1)
    if last - first >= count:
        offsets = sorted(rng.sample(range(first, last), count))
    else:
        offsets = list(range(first, first + count))
    return [answered + dt.timedelta(seconds=offset) for offset in offsets]


def _json(value: Any) -> str | None:
    """An answer's value as Django's JSONField stores it (json.dumps; SQL NULL for None)."""
    return None if value is None else json.dumps(value)


def build_answers(*, seed: int, callbacks: Iterable[int]) -> AnswersSummary:
    """A finished response for each of `callbacks` (ids) that is done by a 成功回访 and has none yet (see the
    module's docstring). Precondition: their calls, outcomes and history exist; run inside the caller's
    transaction. Side effects: responses and answers, the callbacks' response (and questionnaire version)."""
    summary = AnswersSummary()
    wanted = set(callbacks)
    if not wanted:
        return summary
    rng = random.Random(f"{seed}:answers")
    low, high = min(wanted), max(wanted)
    rows = [row for row in Callback.objects.filter(pk__gte=low, pk__lte=high, state=State.DONE,
                                                   response__isnull=True)
            .order_by("pk").values_list("pk", "customer_id", "branch_id", "callback_type_id",
                                        "questionnaire_version_id", "agent_id", "event_id")
            if row[0] in wanted]
    # the successful call of each (the last one whose outcome completes the callback) and the first hold
    successful: dict[int, tuple[dt.datetime, dt.datetime, dt.datetime]] = {}
    for callback_id, answered, ended, registered in CallCallback.objects.filter(
            callback_id__gte=low, callback_id__lte=high, outcome__policy=Policy.COMPLETE,
            call__answered_at__isnull=False).order_by("callback_id", "registered_at", "pk").values_list(
            "callback_id", "call__answered_at", "call__ended_at", "registered_at"):
        successful[callback_id] = (answered, ended, registered)
    held = dict(CallbackHistory.objects.filter(callback_id__gte=low, callback_id__lte=high,
                                               to_state=State.IN_PROGRESS)
                .values("callback_id").annotate(first=Min("at")).values_list("callback_id", "first"))
    defaults = {t.pk: questionnaire_version_for(t) for t in CallbackType.objects.filter(
        pk__in={row[3] for row in rows})}
    asked = {version for version in (row[4] or defaults.get(row[3]) for row in rows) if version is not None}
    versions = {v.pk: v for v in QuestionnaireVersion.objects.filter(pk__in=asked, state=VersionState.PUBLISHED)
        .select_related("questionnaire").prefetch_related("questionnaire__branches")}
    definitions = {pk: rules.parse_definition(v.definition) for pk, v in versions.items()}
    branches = Branch.objects.in_bulk({row[2] for row in rows})
    applies: dict[tuple[int, int], bool] = {}
    # each agent's odds of a satisfied / dissatisfied customer, drawn in the order of their ids
    odds: dict[int | None, tuple[float, float, float]] = {}
    for agent_id in sorted({row[5] for row in rows if row[5] is not None}):
        satisfied, dissatisfied = rng.uniform(*SATISFIED_ODDS), rng.uniform(*DISSATISFIED_ODDS)
        odds[agent_id] = (satisfied, 1 - satisfied - dissatisfied, dissatisfied)
    answerer = _Answerer(rng)
    writer = RowWriter()
    ts = writer.format_timestamp

    def stamp(moment: dt.datetime) -> str:
        return ts(moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"))

    next_id = (Response.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    response_rows: list[Sequence[Any]] = []
    answer_rows: list[Sequence[Any]] = []
    links: list[tuple[int, int, int]] = []
    for callback_id, customer_id, branch_id, type_id, version_id, agent_id, event_id in rows:
        version_id = version_id or defaults.get(type_id)
        call = successful.get(callback_id)
        version = versions.get(version_id) if version_id is not None else None
        if version is None or call is None or version_id is None:
            summary.unanswered += 1
            continue
        key = (version.pk, branch_id)
        if key not in applies:
            applies[key] = applies_to(version.questionnaire, branches[branch_id])
        if not applies[key]:
            summary.unanswered += 1
            continue
        answered, ended, registered = call
        mood = rng.choices(MOODS, odds.get(agent_id, AVERAGE_ODDS))[0]
        given = answerer.respond(definitions[version.pk], mood, timezone.localtime(answered).date())
        moments = _moments(rng, answered, ended, len(given))
        finished = min(moments[-1] + dt.timedelta(seconds=rng.randint(5, 20)), registered - dt.timedelta(seconds=1))
        started = held.get(callback_id, answered)
        response_id = next_id
        next_id += 1
        response_rows.append((response_id, version.pk, customer_id, event_id, str(ResponseStatus.COMPLETE),
                              "phone", "", agent_id, stamp(started), stamp(finished), stamp(finished)))
        answer_rows += [(response_id, item.code, _json(item.value), item.other_text, item.skipped_reason,
                         stamp(at)) for item, at in zip(given, moments, strict=True)]
        links.append((response_id, version.pk, callback_id))
    if response_rows:
        with writer.loading():
            writer.write(Response._meta.db_table, RESPONSE_COLUMNS, response_rows)
            writer.write(Answer._meta.db_table, ANSWER_COLUMNS, answer_rows)
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            # as start_callback_response links it (an UPDATE that leaves updated_at alone); the version the
            # response answers, which the callback carries from its rule run
            cursor.executemany(
                f"UPDATE {quote(Callback._meta.db_table)} SET {quote('response_id')} = %s, "
                f"{quote('questionnaire_version_id')} = %s WHERE {quote('id')} = %s", links)
            for statement in connection.ops.sequence_reset_sql(no_style(), [Response]):
                cursor.execute(statement)
    summary.responses = len(response_rows)
    summary.answers = len(answer_rows)
    return summary
