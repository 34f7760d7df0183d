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
