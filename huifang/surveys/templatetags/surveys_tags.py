"""Small filters for the questionnaire templates."""

from collections.abc import Mapping, Sequence
from typing import Any

from django import template

from huifang.surveys.rules import Option, Question

register = template.Library()


@register.filter
def get_item(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.filter
def scale(question: Question) -> list[tuple[int, str]]:
    """(value, label) of each point of a rating or NPS scale: the label where the designer gave one."""
    return [(n, f"{n} {question.scale_labels[str(n)]}" if str(n) in question.scale_labels else str(n))
            for n in range(question.scale_min, question.scale_max + 1)]


@register.filter
def has_other(options: Sequence[Option]) -> bool:
    return any(option.other for option in options)


@register.filter
def answer_label(value: Any, question: Question) -> str:
    """An answer as the agent reads it: the option's label rather than its code."""
    if question.kind == "yes_no":
        return {"yes": "是", "no": "否"}.get(str(value), str(value))
    if question.kind in ("single", "multiple"):
        codes = value if isinstance(value, list) else [value]
        return "、".join((question.option(str(code)) or Option(str(code), str(code))).label for code in codes)
    if question.kind in ("rating", "nps") and str(value) in question.scale_labels:
        return f"{value} {question.scale_labels[str(value)]}"
    return str(value)
