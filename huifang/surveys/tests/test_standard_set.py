"""The standard set ships with the platform: a published questionnaire for each of the 15 callback types, each
passing the same checks as a questionnaire published in the designer."""

import json
from pathlib import Path

import pytest

from huifang.surveys import rules
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Questionnaire

CALLBACK_TYPES = ["new_account", "manager_customers", "lost_customer", "product_buyer", "manager_changed", "same_ip",
                  "risk_aml", "info_change", "large_transfer", "reminder", "portfolio_reminder", "service_product",
                  "satisfaction", "complaint_followup", "other"]
STANDARD = json.loads((Path(rules.__file__).parent / "standard" / "questionnaires.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("data", STANDARD, ids=[d["code"] for d in STANDARD])
def test_each_standard_questionnaire_passes_the_publishing_checks(data: dict) -> None:
    definition = rules.parse_definition(data["questions"])
    assert rules.publish_errors(definition) == []
    assert 5 <= len(definition.questions) <= 8
    if data["callback_types"] != ["satisfaction"]:
        first = definition.questions[0]
        assert first.kind == "yes_no" and first.must_pass, "identity first"
        assert rules.next_step(definition, {first.code: "no"}, first.code).ended == "not_owner"


def test_every_callback_type_has_its_standard_questionnaire_published(db: object) -> None:
    published = {code for q in Questionnaire.objects.filter(versions__state=VersionState.PUBLISHED)
                 for code in q.callback_types}
    assert set(CALLBACK_TYPES) <= published
    assert Questionnaire.objects.filter(code__startswith="std_").count() == 15
