"""The pure questionnaire rules: parsing, publish checks naming the question, logic, answers, scripts."""

from typing import Any

import pytest

from huifang.surveys import rules


def q(code: str, kind: str = "yes_no", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"code": code, "kind": kind, "text": f"题目{code}", "script": "请问……"}
    if kind in ("single", "multiple") and "options" not in extra:
        base["options"] = [{"code": "A", "label": "甲"}, {"code": "B", "label": "乙"},
                           {"code": "O", "label": "其他", "other": True}]
    return {**base, **extra}


def parsed(*questions: dict[str, Any]) -> rules.Definition:
    return rules.parse_definition(list(questions))


def test_malformed_questions_are_named() -> None:
    with pytest.raises(rules.DefinitionError) as raised:
        parsed(q("Q1", kind="essay"), q("Q1"), q("Q3", kind="single", options=[{"code": "A", "label": "甲"}]),
               q("Q4", kind="rating", scale={"min": 5, "max": 1}), q("Q5", kind="text", must_pass=True))
    messages = raised.value.messages
    assert any("第 1 题（Q1）" in m and "题型 essay 不存在" in m for m in messages)
    assert any("Q1 重复" in m for m in messages)
    assert any("Q3" in m and "至少要有两个选项" in m for m in messages)
    assert any("Q4" in m and "评分范围" in m for m in messages)
    assert any("Q5" in m and "必须通过" in m for m in messages)


@pytest.mark.parametrize(("logic_question", "expected"), [
    (q("Q2", show_if={"q": "Q9", "op": "eq", "value": "yes"}), "Q2“题目Q2”：条件引用了不存在的题目 Q9"),
    (q("Q2", show_if={"q": "Q3", "op": "eq", "value": "yes"}), "Q2“题目Q2”：条件只能引用前面的题目"),
    (q("Q2", logic={"jump": [{"if": {"q": "Q1", "op": "eq", "value": "no"}, "to": "Q1"}]}),
     "Q2“题目Q2”：只能向后跳转"),
    (q("Q2", logic={"jump": [{"if": {"q": "Q1", "op": "eq", "value": "no"}, "to": "Q7"}]}),
     "Q2“题目Q2”：跳转目标 Q7 不存在"),
    (q("Q2", logic={"show_if": {"q": "Q1", "op": "eq", "value": "maybe"}}), "取值 maybe 不是它的选项"),
    (q("Q2", logic={"show_if": {"q": "Q1", "op": "gt", "value": 3}}), "大小比较只能用于"),
    (q("Q2", script="您好{客户名}"), "{客户名}"),
])
def test_publishing_refuses_broken_logic_naming_the_question(logic_question: dict[str, Any], expected: str) -> None:
    if "show_if" in logic_question:
        logic_question["logic"] = {"show_if": logic_question.pop("show_if")}
    definition = parsed(q("Q1", must_pass=True), logic_question, q("Q3"))
    problems = rules.publish_errors(definition)
    assert any(expected in problem for problem in problems), problems


def test_sound_logic_publishes() -> None:
    definition = parsed(
        q("Q1", must_pass=True),
        q("Q2", kind="rating", scale={"min": 1, "max": 5}),
        q("Q3", kind="text", logic={"show_if": {"any": [{"q": "Q2", "op": "lte", "value": 2},
                                                        {"q": "Q2", "op": "not_answered"}]}}),
        q("Q4", kind="single", logic={"jump": [{"if": {"all": [{"q": "Q4", "op": "eq", "value": "B"},
                                                               {"q": "Q2", "op": "gte", "value": 4}]},
                                                "to": "END"}]}),
        q("Q5", kind="nps"),
    )
    assert rules.publish_errors(definition) == []


def _definition() -> rules.Definition:
    return parsed(
        q("Q1", must_pass=True),
        q("Q2", kind="rating"),
        q("Q3", kind="text", logic={"show_if": {"q": "Q2", "op": "lte", "value": 2}}),
        q("Q4", kind="single", logic={"jump": [{"if": {"q": "Q4", "op": "eq", "value": "B"}, "to": "Q6"}],
                                      "end_if": {"q": "Q4", "op": "eq", "value": "O"}}),
        q("Q5", kind="nps"),
        q("Q6", kind="multiple"),
    )


def test_the_path_follows_show_if_jumps_and_end_conditions() -> None:
    definition = _definition()
    assert rules.path(definition, {"Q1": "yes", "Q2": 5, "Q4": "A", "Q5": 9, "Q6": ["A"]}) == [
        "Q1", "Q2", "Q4", "Q5", "Q6"]
    assert rules.path(definition, {"Q1": "yes", "Q2": 1, "Q3": "太慢", "Q4": "B", "Q6": ["A"]}) == [
        "Q1", "Q2", "Q3", "Q4", "Q6"]
    assert rules.next_step(definition, {"Q1": "yes", "Q2": 4, "Q4": "O"}, "Q4") == rules.Step(None, "complete")
    assert rules.next_step(definition, {"Q1": "no"}, "Q1") == rules.Step(None, "not_owner")


def test_reachable_walks_past_unanswered_questions() -> None:
    definition = _definition()
    assert rules.reachable(definition, {"Q1": "yes", "Q2": 1}) == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
    assert "Q3" not in rules.reachable(definition, {"Q1": "yes", "Q2": 5})


@pytest.mark.parametrize(("kind", "value", "other", "expected"), [
    ("yes_no", True, "", "yes"),
    ("single", "A", "", "A"),
    ("multiple", ["B", "A", "A"], "", ["A", "B"]),
    ("rating", "4", "", 4),
    ("nps", 10, "", 10),
    ("number", "12.50", "", 12.5),
    ("date", "2026-12-01", "", "2026-12-01"),
    ("text", "  服务很好 ", "", "服务很好"),
    ("single", "O", "朋友推荐", "O"),
])
def test_answers_are_cleaned_by_kind(kind: str, value: Any, other: str, expected: Any) -> None:
    question = parsed(q("Q1", kind=kind)).questions[0]
    assert rules.clean_answer(question, value, other) == expected


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("yes_no", "maybe", "是"),
    ("single", "Z", "不是这道题的选项"),
    ("single", "O", "请注明"),
    ("rating", 9, "1 到 5"),
    ("nps", "x", "0 到 10"),
    ("date", "2026-13-01", "YYYY-MM-DD"),
    ("number", "很多", "数字"),
])
def test_bad_answers_are_refused_with_the_reason(kind: str, value: Any, message: str) -> None:
    question = parsed(q("Q1", kind=kind)).questions[0]
    with pytest.raises(rules.AnswerError, match=message):
        rules.clean_answer(question, value)


def test_scripts_are_filled_and_a_missing_value_stays_visible() -> None:
    script = "您好，请问是{客户姓名}本人吗？您于{日期}转出{金额}元。"
    assert rules.fill_script(script, {"客户姓名": "张伟", "金额": "650,000.00"}) == \
        "您好，请问是张伟本人吗？您于【日期】转出650,000.00元。"
