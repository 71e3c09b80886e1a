"""The tutorial's `StructuredValidator`: checks of its `ToolCall`, of JSON data against a
schema, of message text and of pydantic models, each done for real."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from radixagent.compat.schemas import ToolCall, ToolCallDecision
from radixagent.schemas import ToolSchema, ValidationResult
from radixagent.tools.signature import pydantic_error_lines
from radixagent.validation import check_message

__all__ = ["StructuredValidator"]


def _schema_errors(data: Any, schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = sorted(
        validator_class(schema).iter_errors(data),
        key=lambda e: ([str(p) for p in e.absolute_path], e.message),
    )
    out = []
    for error in errors:
        best = jsonschema.exceptions.best_match([error, *error.context]) if error.context else error
        out.append(
            {
                "path": ".".join(str(p) for p in best.absolute_path),
                "message": best.message,
                "validator": str(best.validator),
            }
        )
    return out


def _error_line(error: Mapping[str, Any]) -> str:
    return f"{error['path']}: {error['message']}" if error["path"] else str(error["message"])


class StructuredValidator:
    """The tutorial's validator, with each check done for real."""

    @staticmethod
    def validate_tool_call(
        tool_call: ToolCall, tool_schema: ToolSchema, *, min_confidence: float = 0.3
    ) -> ValidationResult:
        """Is this call of this tool well-formed and confident enough? Arguments are checked
        against the tool's whole JSON schema (types, enums, bounds, unknown keys), not only
        the required names. `min_confidence` is the tutorial's 0.3; pass 0 to skip it when
        the engine gave no logprobs to measure confidence from."""
        details: dict[str, Any] = {"decision": tool_call.decision.value, "confidence_score": tool_call.confidence_score}
        if tool_call.decision is ToolCallDecision.CALL_TOOL:
            if not tool_call.tool_name:
                return ValidationResult(
                    is_valid=False,
                    error_message="The decision is to call a tool, but no tool is named.",
                    validation_details=details,
                    suggested_fix=f"Set tool_name to {tool_schema.name!r}, or change the decision.",
                )
            if tool_call.tool_name != tool_schema.name:
                details["tool_name"] = tool_call.tool_name
                return ValidationResult(
                    is_valid=False,
                    error_message=f"The call names tool {tool_call.tool_name!r} but is checked against {tool_schema.name!r}.",
                    validation_details=details,
                    suggested_fix=f"Validate the call against the schema of {tool_call.tool_name!r}.",
                )
            arguments = tool_call.arguments or {}
            required = list(tool_schema.parameters.get("required", []))
            details["required_params"] = required
            details["provided_params"] = list(arguments)
            missing = [p for p in required if p not in arguments]
            if missing:
                details["missing_params"] = missing
                return ValidationResult(
                    is_valid=False,
                    error_message=f"Required parameter(s) missing: {', '.join(repr(p) for p in missing)}.",
                    validation_details=details,
                    suggested_fix=f"Add {', '.join(repr(p) for p in missing)} to the arguments of {tool_schema.name!r}.",
                )
            errors = _schema_errors(arguments, tool_schema.parameters)
            if errors:
                details["errors"] = errors
                return ValidationResult(
                    is_valid=False,
                    error_message=f"Invalid arguments for tool {tool_schema.name!r}: "
                    + "; ".join(_error_line(e) for e in errors),
                    validation_details=details,
                    suggested_fix="Give each argument the type and value its schema allows.",
                )
        elif tool_call.decision is ToolCallDecision.RESPOND_DIRECTLY and not tool_call.reasoning.strip():
            return ValidationResult(
                is_valid=False,
                error_message="The decision is to answer directly, but the answer is empty.",
                validation_details=details,
                suggested_fix="Write the answer in `reasoning`, or call a tool.",
            )
        if tool_call.confidence_score < min_confidence:
            details["min_confidence"] = min_confidence
            return ValidationResult(
                is_valid=False,
                error_message=f"Confidence {tool_call.confidence_score:.2f} is below {min_confidence:.2f}.",
                validation_details=details,
                suggested_fix="Gather more information, or ask the user to confirm.",
            )
        return ValidationResult(is_valid=True, validation_details=details)

    @staticmethod
    def validate_json_structure(data: Any, schema: dict[str, Any]) -> ValidationResult:
        """Check `data` against a JSON schema, listing every violation with its path."""
        details: dict[str, Any] = {"data_keys": list(data) if isinstance(data, Mapping) else []}
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            validator_class.check_schema(schema)
        except jsonschema.SchemaError as exc:
            return ValidationResult(
                is_valid=False,
                error_message=f"The schema itself is invalid: {exc.message}",
                validation_details=details,
                suggested_fix="Fix the JSON schema before validating data against it.",
            )
        errors = _schema_errors(data, schema)
        if errors:
            details["errors"] = errors
            return ValidationResult(
                is_valid=False,
                error_message="JSON does not match the schema: " + "; ".join(_error_line(e) for e in errors),
                validation_details=details,
                suggested_fix="Change the data so each listed field matches the schema.",
            )
        return ValidationResult(is_valid=True, validation_details=details)

    @staticmethod
    def validate_message_content(content: str | bytes, max_length: int = 50000) -> ValidationResult:
        return check_message(content, max_length)

    @staticmethod
    def validate_pydantic_model(model_class: type[BaseModel], data: Mapping[str, Any]) -> ValidationResult:
        """Validate `data` as `model_class`, one readable line per field error."""
        try:
            model_class.model_validate(data)
        except PydanticValidationError as exc:
            lines = pydantic_error_lines(exc)
            return ValidationResult(
                is_valid=False,
                error_message=f"{model_class.__name__} validation failed: " + "; ".join(lines),
                validation_details={
                    "model": model_class.__name__,
                    "errors": json.loads(exc.json(include_url=False)),
                },
                suggested_fix="Give each listed field a value of the right type and format.",
            )
        return ValidationResult(is_valid=True, validation_details={"model": model_class.__name__})
