from typing import Any

from django.http import HttpRequest


def calendar_coverage(request: HttpRequest) -> dict[str, Any]:
    return {}
