"""Checks on what goes in and comes out: user input, tool calls, JSON data, typed final outputs.

Generation under a constraint already guarantees syntax (valid JSON naming a real tool);
these checks are about meaning, and each failure says how to fix it, in words a model can act
on when the question is asked again (`OutputValidator.retry_prompt`).
"""

from __future__ import annotations

import inspect
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, Field, TypeAdapter, create_model
from pydantic import ValidationError as PydanticValidationError

from radixagent.engine.constraints import bounded_schema
from radixagent.engine.types import Completion, JsonSchemaConstraint
from radixagent.errors import ConfigurationError, OutputValidationError
from radixagent.schemas import ValidationResult
from radixagent.tools.signature import flatten_schema, pydantic_error_lines

__all__ = [
    "OutputResult",
    "OutputValidator",
    "check_message",
    "grounded_answer",
    "tidy_answer",
    "extract_json",
    "format_retry_prompt",
]

T = TypeVar("T")

RETRY_INSTRUCTION = "Fix the errors and try again."

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_message(content: str | bytes, max_length: int = 50000) -> ValidationResult:
    """Refuse empty, too long, non-UTF-8 text, or text with control characters (other than
    tab and newlines)."""
    if isinstance(content, bytes | bytearray):
        try:
            content = bytes(content).decode("utf-8")
        except UnicodeDecodeError as exc:
            return ValidationResult(
                is_valid=False,
                error_message=f"The message is not valid UTF-8 (byte {exc.start}).",
                validation_details={"byte_offset": exc.start},
                suggested_fix="Send the text encoded as UTF-8.",
            )
    if not isinstance(content, str):
        return ValidationResult(
            is_valid=False,
            error_message=f"The message must be text, not {type(content).__name__}.",
            suggested_fix="Send the message as a string.",
        )
    details: dict[str, Any] = {"content_length": len(content)}
    if not content.strip():
        return ValidationResult(
            is_valid=False,
            error_message="The message is empty.",
            validation_details=details,
            suggested_fix="Write a question or instruction.",
        )
    if len(content) > max_length:
        details["max_length"] = max_length
        return ValidationResult(
            is_valid=False,
            error_message=f"The message has {len(content)} characters; at most {max_length} are allowed.",
            validation_details=details,
            suggested_fix="Split the message or summarise it.",
        )
    try:
        content.encode("utf-8")
    except UnicodeEncodeError as exc:
        details["position"] = exc.start
        return ValidationResult(
            is_valid=False,
            error_message=f"The message has a character that is not valid Unicode text at position {exc.start} "
            "(a lone surrogate).",
            validation_details=details,
            suggested_fix="Decode the input as UTF-8 before sending it.",
        )
    control = [m.start() for m in _CONTROL.finditer(content)]
    if control:
        details["control_positions"] = control[:20]
        names = sorted({unicodedata.name(content[i], f"U+{ord(content[i]):04X}") for i in control})
        return ValidationResult(
            is_valid=False,
            error_message=f"The message has {len(control)} control character(s) ({', '.join(names)}), "
            f"first at position {control[0]}.",
            validation_details=details,
            suggested_fix="Remove control characters; tabs and newlines are fine.",
        )
    if "\ufffd" in content:
        details["replacement_characters"] = content.count("\ufffd")
    return ValidationResult(is_valid=True, validation_details=details)


# --- typed final outputs -------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str) -> str:
    """The JSON value in a model's answer: the whole text, a ```json fence, or the first
    balanced object/array in it. Raise ValueError when there is none."""
    stripped = text.strip()
    candidates = [stripped]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            json.loads(candidate)
            return candidate
        except ValueError:
            pass
    for start, char in enumerate(stripped):
        if char in "{[":
            try:
                _, end = decoder.raw_decode(stripped, start)
            except ValueError:
                continue
            return stripped[start:end]
    raise ValueError("no JSON value found")


_LONE_MARKER = re.compile(r"\A\s*(?:\d{1,3}[.)]?|[-*•])[ \t]*\n(?P<blank>[ \t]*\n)?\s*(?=\S)")
_LONE_STAMP = re.compile(r"\A\s*\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?[ \t]*\n[ \t]*\n\s*(?=\S)")


def tidy_answer(text: str) -> str:
    """The answer without a list marker standing alone on its first line ("1.\n\nPython is
    ...", "1\nPython is ..."), or a date or timestamp alone on it before a blank line: a small
    model opens answers so, and it is no part of the answer.
    A number followed on the next line by a lowercase continuation ("42\nis the count") is the
    answer itself and stays."""
    found = _LONE_MARKER.match(text)
    if found is not None and (found["blank"] is not None or text[found.end()].isupper()):
        text = text[found.end() :]
    elif (stamp := _LONE_STAMP.match(text)) is not None:
        text = text[stamp.end() :]  # "2023-01-01T00:00:00Z\n\nThe weather ...": a timestamp no one asked for
    return text.strip()


GROUNDED_RESULT_CHARS = 300
"""Results longer than this are not required word for word in an answer."""


def grounded_answer(answer: str, results: Sequence[str]) -> str:
    """`answer`, when it states every short result the tools returned (word for word, case and
    spacing aside); else those results themselves. A small model often answers a tool's result
    with something else ("1", "yes"); the result is what was asked for."""
    short = [r.strip() for r in results if r.strip() and len(r.strip()) <= GROUNDED_RESULT_CHARS]
    said = " ".join(answer.casefold().split())
    if all(" ".join(r.casefold().split()) in said for r in short):
        return answer
    return "\n".join(short)


def format_retry_prompt(errors: Sequence[str], *, what: str = "answer") -> str:
    """The message that asks a model to correct itself (pydantic-ai's retry prompt style)."""
    count = len(errors)
    head = f"{count} validation error{'s' if count != 1 else ''} in your {what}:"
    return "\n".join([head, *(f"- {e}" for e in errors), RETRY_INSTRUCTION])


class OutputResult(BaseModel, Generic[T]):
    """The outcome of validating one output: the value, or the errors and the prompt that
    asks the model to fix them."""

    ok: bool
    value: T | None = None
    errors: list[str] = Field(default_factory=list)
    retry_prompt: str | None = None


OutputCheck = Callable[[Any], Any]
"""A user validator: gets the parsed value; raises ValueError, returns False or an invalid
ValidationResult to reject it; returns None or True to keep it, or another value to replace it."""


class OutputValidator(Generic[T]):
    """Typed final outputs: the JSON schema to generate under, and text -> validated object.

    `output_type` is a pydantic model or any type pydantic can validate (`list[int]`, a
    dataclass, `Literal[...]`). Non-object types are wrapped as `{"result": ...}` for
    generation, since constrained decoders and small models do best with one object.
    `str` needs no constraint: the text is the output."""

    def __init__(
        self,
        output_type: type[T] | Any,
        *,
        validators: Sequence[OutputCheck] = (),
        max_items: int = 16,
        max_length: int = 2048,
    ) -> None:
        self.output_type = output_type
        self.validators = list(validators)
        self.is_text = output_type is str
        try:
            self._adapter: TypeAdapter[Any] = TypeAdapter(output_type)
            schema = self._adapter.json_schema()
        except Exception as exc:  # pydantic's schema errors vary by type
            raise ConfigurationError(
                f"Cannot use {output_type!r} as an output type: {exc}. Use a pydantic model or a JSON-friendly type."
            ) from exc
        self.wrapped = not self.is_text and schema.get("type") != "object"
        if self.wrapped:
            self._wrapper: type[BaseModel] = create_model("Output", result=(output_type, ...))
            schema = self._wrapper.model_json_schema()
        self.json_schema: dict[str, Any] = flatten_schema(schema)
        """The schema the output is validated against (titles dropped, refs inlined)."""
        self.generation_schema: dict[str, Any] = bounded_schema(self.json_schema, max_items=max_items, max_length=max_length)
        """The same, with open arrays and strings bounded so a constrained generation ends."""

    def add_validator(self, check: OutputCheck) -> OutputCheck:
        """Add a validator; usable as a decorator."""
        self.validators.append(check)
        return check

    def constraint(self) -> JsonSchemaConstraint | None:
        """The constraint to generate under (None for plain-text output)."""
        return None if self.is_text else JsonSchemaConstraint(json_schema=self.generation_schema)

    # --- parsing -------------------------------------------------------------------------

    def _parse(self, text: str) -> tuple[Any, list[str]]:
        if self.is_text:
            return (text.strip(), []) if text.strip() else (None, ["the answer is empty"])
        try:
            raw = extract_json(text)
        except ValueError:
            shown = text.strip()[:80]
            return None, [f"the answer is not JSON (it starts with {shown!r}); answer with one JSON object"]
        try:
            if self.wrapped:
                return self._wrapper.model_validate_json(raw).result, []  # type: ignore[attr-defined]  # `result` is the field create_model gave the wrapper
            return self._adapter.validate_json(raw), []
        except PydanticValidationError as exc:
            return None, pydantic_error_lines(exc)

    def _check_outcome(self, check: OutputCheck, value: Any, outcome: Any) -> tuple[Any, list[str]]:
        if outcome is True or outcome is None:
            return value, []
        if outcome is False:
            return value, [f"the answer was rejected by {getattr(check, '__name__', 'a validator')}"]
        if isinstance(outcome, ValidationResult):
            if outcome.is_valid:
                return value, []
            message = outcome.error_message or "rejected by a validator"
            return value, [f"{message} {outcome.suggested_fix}".strip() if outcome.suggested_fix else message]
        return outcome, []

    def _result(self, value: Any, errors: list[str]) -> OutputResult[T]:
        if errors:
            return OutputResult[T](ok=False, errors=errors, retry_prompt=format_retry_prompt(errors))
        return OutputResult[T](ok=True, value=value)

    def validate(self, text: str | Completion) -> OutputResult[T]:
        """Parse and validate; run the user validators (sync ones) on a parsed value."""
        pre = self._precheck(text)
        if pre is not None:
            return pre
        value, errors = self._parse(text.text if isinstance(text, Completion) else text)
        for check in [] if errors else self.validators:
            try:
                outcome = check(value)
            except ValueError as exc:
                errors = [str(exc)]
                break
            if inspect.isawaitable(outcome):
                cast(Any, outcome).close()
                raise ConfigurationError(
                    f"Validator {getattr(check, '__name__', check)!r} is async: call avalidate() instead of validate()."
                )
            value, errors = self._check_outcome(check, value, outcome)
            if errors:
                break
        return self._result(value, errors)

    async def avalidate(self, text: str | Completion) -> OutputResult[T]:
        """Like `validate`, awaiting async validators."""
        pre = self._precheck(text)
        if pre is not None:
            return pre
        value, errors = self._parse(text.text if isinstance(text, Completion) else text)
        for check in [] if errors else self.validators:
            try:
                outcome = check(value)
                if inspect.isawaitable(outcome):
                    outcome = await outcome
            except ValueError as exc:
                errors = [str(exc)]
                break
            value, errors = self._check_outcome(check, value, outcome)
            if errors:
                break
        return self._result(value, errors)

    def _precheck(self, text: str | Completion) -> OutputResult[T] | None:
        """A generation cut off by max_tokens is never an output, even when it happens to parse."""
        if isinstance(text, Completion) and text.finish_reason == "length" and not self.is_text:
            errors = ["the answer was cut off before it ended (max_tokens reached); give a shorter answer"]
            return OutputResult[T](ok=False, errors=errors, retry_prompt=format_retry_prompt(errors))
        return None

    def parse(self, text: str | Completion) -> T:
        """The validated value, or OutputValidationError listing what is wrong."""
        result = self.validate(text)
        if not result.ok:
            raise OutputValidationError(
                f"The output is not a valid {getattr(self.output_type, '__name__', self.output_type)}:\n"
                + "\n".join(f"- {e}" for e in result.errors),
                result.errors,
            )
        return cast(T, result.value)
