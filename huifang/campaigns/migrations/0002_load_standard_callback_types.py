"""The standard catalogue: the 15 callback types of DOMAIN.md with their default rules
(huifang/campaigns/standard/callback_types.json), editable afterwards by HQ."""

import json
from pathlib import Path

from django.db import migrations

STANDARD = Path(__file__).resolve().parent.parent / "standard" / "callback_types.json"
TYPE_FIELDS = ("name", "description", "automation", "category", "priority", "deadline", "not_before",
               "dedupe_period", "quota", "quota_period", "channels", "recusal")


def load_standard_callback_types(apps, schema_editor):
    CallbackType = apps.get_model("campaigns", "CallbackType")
    Rule = apps.get_model("campaigns", "Rule")
    Questionnaire = apps.get_model("surveys", "Questionnaire")
    for data in json.loads(STANDARD.read_text(encoding="utf-8")):
        if CallbackType.objects.filter(code=data["code"]).exists():
            continue
        fields = {name: data[name] for name in TYPE_FIELDS if name in data}
        fields.setdefault("quota_period", "")
        callback_type = CallbackType.objects.create(
            code=data["code"], default_questionnaire=Questionnaire.objects.filter(code=f"std_{data['code']}").first(),
            **fields)
        for rule in data.get("rules", []):
            Rule.objects.create(callback_type=callback_type, name=rule["name"], kind=rule["kind"],
                                config=rule["config"])


def remove_standard_callback_types(apps, schema_editor):
    CallbackType = apps.get_model("campaigns", "CallbackType")
    codes = [data["code"] for data in json.loads(STANDARD.read_text(encoding="utf-8"))]
    apps.get_model("campaigns", "Rule").objects.filter(callback_type__code__in=codes).delete()
    CallbackType.objects.filter(code__in=codes, projects__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial"), ("surveys", "0002_load_standard_questionnaires")]

    operations = [migrations.RunPython(load_standard_callback_types, remove_standard_callback_types)]
