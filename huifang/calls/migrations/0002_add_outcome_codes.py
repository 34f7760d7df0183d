"""Ship the 13 outcome codes of DOMAIN.md ("Stable codes": outcomes) with their default policies."""

from typing import Any

from django.db import migrations

# code, label, connected, policy, retry after (minutes), maximum attempts
OUTCOMES = [
    ("success", "成功回访", True, "complete", 0, 0),
    ("refused", "拒绝回访", True, "close_refused", 0, 0),
    ("not_owner", "机主非本人", True, "close_failed", 0, 0),
    ("appointment", "预约下次", True, "appointment", 0, 0),
    ("hung_up", "中途挂机", True, "retry", 60, 3),
    ("invalid_number", "空号", False, "mark_invalid_then_next_phone", 0, 0),
    ("powered_off", "关机", False, "retry", 60, 3),
    ("no_answer", "无人接听", False, "retry", 60, 3),
    ("busy", "占线/遇忙", False, "retry", 30, 3),
    ("suspended", "停机", False, "mark_invalid_then_next_phone", 0, 0),
    ("forwarded", "呼转", False, "retry", 60, 3),
    ("roaming", "国际漫游", False, "retry", 120, 3),
    ("unreachable", "网络无法接通", False, "retry", 60, 3),
]


def add_outcome_codes(apps: Any, schema_editor: Any) -> None:
    OutcomeCode = apps.get_model("calls", "OutcomeCode")
    for order, (code, label, connected, policy, delay, attempts) in enumerate(OUTCOMES, start=1):
        OutcomeCode.objects.update_or_create(code=code, defaults={
            "label": label, "connected": connected, "policy": policy, "retry_after_minutes": delay,
            "max_attempts": attempts, "spread_slots": policy == "retry", "sort_order": order * 10,
            "is_active": True})


def remove_outcome_codes(apps: Any, schema_editor: Any) -> None:
    apps.get_model("calls", "OutcomeCode").objects.filter(code__in=[row[0] for row in OUTCOMES]).delete()


class Migration(migrations.Migration):
    dependencies = [("calls", "0001_calls")]

    operations = [migrations.RunPython(add_outcome_codes, remove_outcome_codes)]
