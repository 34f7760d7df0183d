"""The standard set: one questionnaire for each of the 15 callback types (huifang/surveys/standard/), published
as version 1 and editable afterwards like any other (editing makes a new draft)."""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

STANDARD = Path(__file__).resolve().parent.parent / "standard" / "questionnaires.json"


def load_standard_questionnaires(apps, schema_editor):
    Questionnaire = apps.get_model("surveys", "Questionnaire")
    Version = apps.get_model("surveys", "QuestionnaireVersion")
    now = timezone.now()
    for data in json.loads(STANDARD.read_text(encoding="utf-8")):
        if Questionnaire.objects.filter(code=data["code"]).exists():
            continue
        questionnaire = Questionnaire.objects.create(
            code=data["code"], name=data["name"], description=data.get("description", ""),
            is_template=bool(data.get("is_template")), callback_types=data.get("callback_types", []))
        Version.objects.create(questionnaire=questionnaire, number=1, state="published",
                               definition=data["questions"], published_at=now)


def remove_untouched_standard_questionnaires(apps, schema_editor):
    Questionnaire = apps.get_model("surveys", "Questionnaire")
    codes = [data["code"] for data in json.loads(STANDARD.read_text(encoding="utf-8"))]
    # Only those never answered: responses protect their versions.
    Questionnaire.objects.filter(code__in=codes, versions__responses__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(load_standard_questionnaires, remove_untouched_standard_questionnaires)]
