from typing import Any

from django.http import HttpRequest

from huifang.org.choices import Role
from huifang.org.scoping import sees_all_branches


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    codes: set[str] = getattr(user, "role_codes", set())
    labels = dict(Role.choices)
    return {
        "user_roles": codes,
        "user_role_labels": [labels[code] for code in Role.values if code in codes],
        "sees_all_branches": sees_all_branches(user),
    }
