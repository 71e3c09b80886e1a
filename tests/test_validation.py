"""Input, tool-call, JSON and typed-output validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from radixagent.compat import StructuredValidator, ToolCall, ToolCallDecision
from radixagent.engine import Completion, JsonSchemaConstraint, ScriptedEngine, Usage
from radixagent.errors import ConfigurationError, OutputValidationError
from radixagent.schemas import ToolSchema, ValidationResult
from radixagent.validation import OutputValidator, extract_json, format_retry_prompt

SEARCH = ToolSchema(
    name="retrieve_documents",
    description="Search documents.",
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "top_k": {"type": "integer", "minimum": 1, "maximum": 20},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)


def _call(**kwargs: object) -> ToolCall:
    base: dict[str, object] = {
        "decision": ToolCallDecision.CALL_TOOL,
        "tool_name": "retrieve_documents",
        "arguments": {"query": "radix"},
        "confidence_score": 0.9,
    }
    base.update(kwargs)
    return ToolCall.model_validate(base)


# --- StructuredValidator -----------------------------------------------------------------------


def test_valid_tool_call() -> None:
    result = StructuredValidator.validate_tool_call(_call(), SEARCH)
    assert result.is_valid
    assert result.validation_details["provided_params"] == ["query"]
    assert StructuredValidator().validate_tool_call(_call(), SEARCH).is_valid  # the tutorial calls it on an instance


@pytest.mark.parametrize(
    ("call", "message", "fix"),
    [
        (_call(tool_name=None), "no tool is named", "Set tool_name to 'retrieve_documents'"),
        (_call(tool_name="other"), "names tool 'other'", "schema of 'other'"),
        (_call(arguments=None), "missing: 'query'", "Add 'query'"),
        (_call(arguments={"query": "q", "top_k": 99}), "top_k: 99 is greater than the maximum of 20", "type and value"),
        (_call(arguments={"query": "q", "k": 1}), "('k' was unexpected)", "type and value"),
        (_call(confidence_score=0.1), "Confidence 0.10 is below 0.30", "ask the user"),
        (
            ToolCall(decision=ToolCallDecision.RESPOND_DIRECTLY, reasoning=" ", confidence_score=0.9),
            "answer is empty",
            "Write the answer",
        ),
    ],
)
def test_invalid_tool_calls_say_what_and_how(call: ToolCall, message: str, fix: str) -> None:
    result = StructuredValidator.validate_tool_call(call, SEARCH)
    assert not result.is_valid
    assert message in (result.error_message or "")
    assert fix in (result.suggested_fix or "")


def test_confidence_threshold_is_adjustable() -> None:
    assert StructuredValidator.validate_tool_call(_call(confidence_score=0.0), SEARCH, min_confidence=0.0).is_valid


def test_validate_json_structure_lists_every_error() -> None:
    result = StructuredValidator.validate_json_structure({"top_k": "many", "x": 1}, SEARCH.parameters)
    assert not result.is_valid
    assert [e["path"] for e in result.validation_details["errors"]] == ["", "", "top_k"]
    assert "'query' is a required property" in (result.error_message or "")
    assert "top_k: 'many' is not of type 'integer'" in (result.error_message or "")
    assert result.validation_details["data_keys"] == ["top_k", "x"]
    assert StructuredValidator.validate_json_structure({"query": "q"}, SEARCH.parameters).is_valid
    broken = StructuredValidator.validate_json_structure({}, {"type": "no-such-type"})
    assert not broken.is_valid and "schema itself is invalid" in (broken.error_message or "")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("x" * 11, "at most 10"),
        ("bell\x07here", "control character"),
        ("a\ud800b", "lone surrogate"),
        (b"\xff\xfe broken", "not valid UTF-8"),
        (42, "must be text"),
    ],
)
def test_message_content_rejections(content: object, expected: str) -> None:
    result = StructuredValidator.validate_message_content(content, max_length=10)  # type: ignore[arg-type]
    assert not result.is_valid
    assert expected in (result.error_message or "")
    assert result.suggested_fix


def test_message_content_accepts_ordinary_text() -> None:
    assert StructuredValidator.validate_message_content("안녕하세요,\n\tline two").is_valid
    assert StructuredValidator.validate_message_content("caf\u00e9".encode()).is_valid


def test_validate_pydantic_model() -> None:
    class Order(BaseModel):
        item: str
        quantity: int = Field(ge=1)

    ok = StructuredValidator.validate_pydantic_model(Order, {"item": "tea", "quantity": 2})
    assert ok.is_valid and ok.validation_details == {"model": "Order"}
    bad = StructuredValidator.validate_pydantic_model(Order, {"quantity": 0})
    assert not bad.is_valid
    assert bad.error_message == (
        "Order validation failed: item: Field required; quantity: Input should be greater than or equal to 1 (got 0)"
    )
    assert [e["loc"] for e in bad.validation_details["errors"]] == [["item"], ["quantity"]]


# --- typed outputs -------------------------------------------------------------------------------


class City(BaseModel):
    name: str
    population: int = Field(ge=0)
    districts: list[str] = []


def test_output_schema_and_constraint() -> None:
    validator = OutputValidator(City, max_items=4, max_length=64)
    assert validator.json_schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "population": {"minimum": 0, "type": "integer"},
            "districts": {"default": [], "items": {"type": "string"}, "type": "array"},
        },
        "required": ["name", "population"],
    }
    constraint = validator.constraint()
    assert isinstance(constraint, JsonSchemaConstraint)
    districts = constraint.json_schema["properties"]["districts"]
    assert districts["maxItems"] == 4 and districts["items"]["maxLength"] == 64
    assert OutputValidator(str).constraint() is None


def test_output_parses_fenced_and_embedded_json() -> None:
    validator = OutputValidator(City)
    assert validator.parse('{"name": "Seoul", "population": 9400000}') == City(name="Seoul", population=9400000)
    fenced = 'Here it is:\n```json\n{"name": "Busan", "population": 3300000}\n```'
    assert validator.parse(fenced).name == "Busan"
    assert validator.parse('Answer: {"name": "Jeju", "population": 1} -- done').name == "Jeju"


def test_output_errors_become_a_retry_prompt() -> None:
    validator = OutputValidator(City)
    result = validator.validate('{"name": "Seoul", "population": -5}')
    assert not result.ok and result.value is None
    assert result.errors == ["population: Input should be greater than or equal to 0 (got -5)"]
    assert result.retry_prompt == (
        "1 validation error in your answer:\n"
        "- population: Input should be greater than or equal to 0 (got -5)\n"
        "Fix the errors and try again."
    )
    not_json = validator.validate("Seoul is big.")
    assert not not_json.ok and "not JSON" in not_json.errors[0]
    with pytest.raises(OutputValidationError) as info:
        validator.parse('{"population": 1}')
    assert info.value.errors == ["name: Field required"]


def test_non_object_types_are_wrapped() -> None:
    validator = OutputValidator(list[int])
    assert validator.wrapped
    assert validator.json_schema == {
        "type": "object",
        "properties": {"result": {"items": {"type": "integer"}, "type": "array"}},
        "required": ["result"],
    }
    assert validator.parse('{"result": [1, 2, 3]}') == [1, 2, 3]
    assert validator.validate('{"result": ["x"]}').errors == ["result.0: Input should be a valid integer, unable to parse string as an integer (got 'x')"]
    choice = OutputValidator(Literal["yes", "no"])
    assert choice.parse('{"result": "yes"}') == "yes"


def test_dataclass_output() -> None:
    @dataclass
    class Point:
        x: int
        y: int

    assert OutputValidator(Point).parse('{"x": 1, "y": 2}') == Point(1, 2)


def test_user_validators_run_after_parsing() -> None:
    validator = OutputValidator(City)

    @validator.add_validator
    def known_city(city: City) -> None:
        if city.name not in {"Seoul", "Busan"}:
            raise ValueError(f"{city.name} is not a city I know; answer Seoul or Busan")

    def big_enough(city: City) -> ValidationResult:
        ok = city.population > 1000
        return ValidationResult(is_valid=ok, error_message=None if ok else "population looks too small", suggested_fix="check the number")

    validator.add_validator(big_enough)
    validator.add_validator(lambda city: city.model_copy(update={"name": city.name.upper()}))
    assert validator.validate('{"name": "Atlantis", "population": 5000}').errors == [
        "Atlantis is not a city I know; answer Seoul or Busan"
    ]
    assert validator.validate('{"name": "Seoul", "population": 5}').errors == ["population looks too small check the number"]
    assert validator.parse('{"name": "Seoul", "population": 9400000}').name == "SEOUL"

    rejecting = OutputValidator(City, validators=[lambda c: c.population % 2 == 0])
    assert rejecting.validate('{"name": "a", "population": 3}').errors == ["the answer was rejected by <lambda>"]
    assert rejecting.validate('{"name": "a", "population": 4}').ok


async def test_async_validators() -> None:
    async def check(city: City) -> None:
        if city.population == 0:
            raise ValueError("nobody lives there")

    validator = OutputValidator(City, validators=[check])
    assert (await validator.avalidate('{"name": "x", "population": 0}')).errors == ["nobody lives there"]
    assert (await validator.avalidate('{"name": "x", "population": 1}')).ok
    with pytest.raises(ConfigurationError, match="avalidate"):
        validator.validate('{"name": "x", "population": 1}')


def test_cut_off_generation_is_never_an_output() -> None:
    validator = OutputValidator(City)
    cut = Completion(text='{"name": "Seoul", "population": 1}', finish_reason="length", usage=Usage())
    result = validator.validate(cut)
    assert not result.ok and "cut off" in result.errors[0]
    done = cut.model_copy(update={"finish_reason": "stop"})
    assert validator.validate(done).ok


def test_output_round_trip_through_a_scripted_engine() -> None:
    """The schema holds by construction; a meaning check fails and the model is asked again."""

    def real_city(city: City) -> None:
        if city.name == "Atlantis":
            raise ValueError("Atlantis is a myth; name a real city")

    validator = OutputValidator(City, validators=[real_city])
    engine = ScriptedEngine(['{"name": "Atlantis", "population": 1}', '{"name": "Seoul", "population": 9400000}'])
    first = engine.generate_sync("Name a big city as JSON.", constraint=validator.constraint())
    result = validator.validate(first)
    assert not result.ok and result.retry_prompt is not None
    assert "Atlantis is a myth" in result.retry_prompt
    second = engine.generate_sync("Name a big city as JSON.\n" + result.retry_prompt, constraint=validator.constraint())
    assert validator.parse(second).population == 9400000


def test_bad_output_type() -> None:
    class Opaque:
        pass

    with pytest.raises(ConfigurationError, match="output type"):
        OutputValidator(Opaque)


def test_helpers() -> None:
    assert extract_json('noise [1, {"a": 2}] more') == '[1, {"a": 2}]'
    with pytest.raises(ValueError):
        extract_json("no json here {")
    assert format_retry_prompt(["a", "b"], what="tool arguments") == (
        "2 validation errors in your tool arguments:\n- a\n- b\nFix the errors and try again."
    )


def test_an_answer_that_does_not_state_the_results_is_replaced_by_them() -> None:
    from radixagent.validation import grounded_answer

    assert grounded_answer("It is  Cloudy, 9 C in Bergen.", ["cloudy, 9 C"]) == "It is  Cloudy, 9 C in Bergen."
    assert grounded_answer("1\n\nThe answer is 1.", ["cloudy, 9 C"]) == "cloudy, 9 C"
    assert grounded_answer("Bergen: cloudy, 9 C", ["cloudy, 9 C", "12 mm of rain"]) == "cloudy, 9 C\n12 mm of rain"
    assert grounded_answer("Here is the report.", ["x" * 400]) == "Here is the report."  # long results are not quoted whole
    assert grounded_answer("No tool ran.", []) == "No tool ran."


def test_a_lone_list_marker_opening_an_answer_is_dropped() -> None:
    from radixagent.validation import tidy_answer

    assert tidy_answer("3.\n\nOtters hold hands while they sleep.") == "Otters hold hands while they sleep."
    assert tidy_answer(" 12)\n\n Tea first, then toast.") == "Tea first, then toast."
    assert tidy_answer("-\n\nBring an umbrella.") == "Bring an umbrella."
    assert tidy_answer("1. Preheat the oven.\n2. Mix.") == "1. Preheat the oven.\n2. Mix."  # a real list stays
    assert tidy_answer("7") == "7"  # a number alone is the answer
    assert tidy_answer("42\nis the count") == "42\nis the count"
    assert tidy_answer("1\nCats sleep most of the afternoon.") == "Cats sleep most of the afternoon."  # a new sentence follows
    assert tidy_answer("2.\nÉclairs come from Lyon.") == "Éclairs come from Lyon."
    assert tidy_answer("1\n2. Mix the dough.") == "1\n2. Mix the dough."
    assert tidy_answer("2031-07-14 09:15:02\n\nThe ferry leaves at noon.") == "The ferry leaves at noon."
    assert tidy_answer("2031-07-14T09:15:02Z\n\nNo ferries today.") == "No ferries today."
    assert tidy_answer("2031-07-14\nis the day the ferry leaves") == "2031-07-14\nis the day the ferry leaves"
