"""Reads for the questionnaire statistics: the distribution of the answers to each question over a period, and
the rotation hint of DOMAIN.md (seed 002): a question whose answers stayed at the best option for a large share
of many responses has stopped telling anything, and should be swapped for an equivalent one.

Counted in the database (one GROUP BY over the answers of the period), then folded per question in Python over
the distinct values, which are few."""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count

from huifang.surveys import rules
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Answer, QuestionnaireVersion


@dataclass
class QuestionStats:
    code: str
    text: str
    kind: str
    answered: int = 0
    skipped: int = 0
    #: value -> how many (for multiple choice: each option chosen), labelled for display
    counts: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    average: float | None = None

    def share(self, value: str) -> float:
        return self.counts.get(value, 0) / self.answered if self.answered else 0.0


def _labels(question: rules.Question) -> dict[str, str]:
    if question.kind in ("single", "multiple"):
        return {o.code: o.label for o in question.options}
    if question.kind == "yes_no":
        return {"yes": "是", "no": "否"}
    if question.kind in ("rating", "nps"):
        return {str(n): question.scale_labels.get(str(n), str(n))
                for n in range(question.scale_min, question.scale_max + 1)}
    return {}


def question_statistics(*, version: QuestionnaireVersion, start: dt.datetime, end: dt.datetime,
                        user: Any = None) -> list[QuestionStats]:
    """Per question of `version`, the answers given to responses started in [start, end): how many answered,
    how many skipped, the count of each value and the average of numeric kinds. With `user`, only responses of
    the customers that user sees."""
    from huifang.surveys.models import Response

    responses = Response.objects.filter(version=version, started_at__gte=start, started_at__lt=end)
    if user is not None:
        responses = responses.visible_to(user)
    grouped = (Answer.objects.filter(response__in=responses).values("question_code", "value")
               .annotate(n=Count("id")).order_by())
    return _fold(rules.parse_definition(version.definition), grouped)


def _fold(definition: rules.Definition, grouped: Any) -> list[QuestionStats]:
    """QuestionStats per question from rows of (question_code, value, n)."""
    stats = {q.code: QuestionStats(q.code, q.text, q.kind, labels=_labels(q)) for q in definition.questions}
    sums: Counter[str] = Counter()
    for row in grouped:
        entry = stats.get(row["question_code"])
        if entry is None:
            continue
        value, n = row["value"], row["n"]
        if value is None:
            entry.skipped += n
            continue
        entry.answered += n
        for item in (value if isinstance(value, list) else [value]):
            entry.counts[str(item)] = entry.counts.get(str(item), 0) + n
        if entry.kind in ("rating", "nps", "number") and isinstance(value, int | float):
            sums[entry.code] += value * n
    for entry in stats.values():
        if entry.kind in ("rating", "nps", "number") and entry.answered:
            entry.average = round(sums[entry.code] / entry.answered, 2)
    return list(stats.values())


def best_value(question: rules.Question) -> str | None:
    """The answer that counts as the best one: the top of a rating or NPS scale, the single-choice option with
    the highest score (when options carry scores); None where a question has no best answer."""
    if question.kind in ("rating", "nps"):
        return str(question.scale_max)
    if question.kind == "single":
        scored = [o for o in question.options if o.score is not None]
        return max(scored, key=lambda o: o.score or 0).code if scored else None
    return None


@dataclass(frozen=True)
class RotationHint:
    questionnaire: str
    version: int
    question: str
    text: str
    best: str
    share: float
    answered: int


def rotation_hints(*, since: dt.datetime, until: dt.datetime, min_answers: int | None = None,
                   share: float | None = None) -> list[RotationHint]:
    """Questions of the published versions whose best answer took at least `share` of at least `min_answers`
    answers in the period (settings.SURVEY_ROTATION_MIN_ANSWERS / SURVEY_ROTATION_SHARE by default), for the HQ
    supervisor to rotate."""
    min_answers = settings.SURVEY_ROTATION_MIN_ANSWERS if min_answers is None else min_answers
    share = settings.SURVEY_ROTATION_SHARE if share is None else share
    published = {v.pk: v for v in QuestionnaireVersion.objects.filter(state=VersionState.PUBLISHED)
                 .select_related("questionnaire")}
    # One GROUP BY over the period's answers to every published version.
    rows: dict[int, list[dict[str, Any]]] = {}
    for row in (Answer.objects.filter(response__version_id__in=published, response__started_at__gte=since,
                                      response__started_at__lt=until)
                .values("response__version_id", "question_code", "value").annotate(n=Count("id")).order_by()):
        rows.setdefault(row["response__version_id"], []).append(dict(row))
    hints: list[RotationHint] = []
    for version_id, grouped in rows.items():
        version = published[version_id]
        definition = rules.parse_definition(version.definition)
        for entry in _fold(definition, grouped):
            question = definition.question(entry.code)
            best = best_value(question) if question else None
            if best is None or entry.answered < min_answers:
                continue
            if entry.share(best) >= share:
                hints.append(RotationHint(version.questionnaire.code, version.number, entry.code, entry.text,
                                          entry.labels.get(best, best), round(entry.share(best), 3),
                                          entry.answered))
    return sorted(hints, key=lambda h: (h.questionnaire, h.question))
