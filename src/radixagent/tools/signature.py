"""A tool's schema from a plain Python function: its signature says the types, its
docstring says what it does and what each argument means.

The schema is shaped for small models: `$ref`s are inlined where the type is not recursive,
pydantic's generated `title`s are dropped, and unknown top-level arguments are refused
(`additionalProperties: false`), so the model sees one flat object per tool.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import types
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Optional

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic.json_schema import PydanticJsonSchemaWarning

from radixagent.engine.schema_guard import safe_validator
from radixagent.errors import ToolArgumentsError, ToolDefinitionError
from radixagent.schemas import ToolSchema

__all__ = [
    "ParsedDocstring",
    "ToolFunction",
    "check_examples",
    "check_tool_name",
    "flatten_schema",
    "function_schema",
    "parse_docstring",
    "pydantic_error_lines",
]

TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def check_tool_name(name: str) -> str:
    """Return `name` if a model (and the OpenAI tools format) can use it, else raise."""
    if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
        raise ToolDefinitionError(
            f"{name!r} is not a valid tool name: use 1-64 letters, digits, '_' or '-', starting with a "
            "letter or '_' (pass name=... when registering a lambda or a callable object)."
        )
    return name


# --- docstrings ----------------------------------------------------------------------------


class ParsedDocstring(BaseModel):
    """What a docstring says: the first paragraph, and one description per parameter."""

    description: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    returns: str = ""


_GOOGLE_SECTION = re.compile(r"^(?P<name>[A-Za-z][A-Za-z ]*?)\s*:\s*$")
_GOOGLE_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(?:\((?P<type>[^)]*)\))?\s*:\s*(?P<desc>.*)$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(?::.*)?$")
_REST_FIELD = re.compile(r"^:(?P<kind>param|parameter|arg|argument|key|keyword|returns?|type|rtype|raises?)\b(?P<rest>[^:]*):\s*(?P<desc>.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(lines: Sequence[str]) -> str:
    return " ".join(part.strip() for part in lines if part.strip())


def parse_docstring(doc: str | None) -> ParsedDocstring:
    """Read Google ("Args:"), numpy ("Parameters" + dashes) and reST (":param x:") styles."""
    if not doc:
        return ParsedDocstring()
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, list[str]] = {}
    returns: list[str] = []
    first: list[str] = []
    in_first = True
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        google = _GOOGLE_SECTION.match(stripped) if _indent(line) == 0 else None
        numpy = _indent(line) == 0 and stripped and _NUMPY_UNDERLINE.match(nxt)
        rest = _REST_FIELD.match(stripped)
        if google or numpy or rest:
            in_first = False
        if numpy:
            section = stripped.lower()
            i = _read_numpy(lines, i + 2, params if section in {"parameters", "other parameters"} else None,
                            returns if section in {"returns", "yields"} else None)
            continue
        if google:
            section = google.group("name").lower()
            target = params if section in _GOOGLE_PARAM_SECTIONS else None
            ret = returns if section in {"returns", "return", "yields"} else None
            i = _read_google(lines, i + 1, target, ret)
            continue
        if rest:
            kind, name, desc = rest.group("kind"), rest.group("rest").split(), rest.group("desc")
            body = [desc]
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0 and not _REST_FIELD.match(lines[i].strip()):
                body.append(lines[i])
                i += 1
            if kind in {"param", "parameter", "arg", "argument", "key", "keyword"} and name:
                params[name[-1]] = body
            elif kind in {"return", "returns"}:
                returns.extend(body)
            continue
        if in_first:
            if not stripped:
                if first:
                    in_first = False
            else:
                first.append(stripped)
        i += 1
    return ParsedDocstring(
        description=_join(first),
        params={name: _join(body) for name, body in params.items() if _join(body)},
        returns=_join(returns),
    )


def _read_google(lines: list[str], i: int, params: dict[str, list[str]] | None, returns: list[str] | None) -> int:
    base: int | None = None
    current: list[str] | None = None
    while i < len(lines):
        line = lines[i]
        if line.strip() and _indent(line) == 0:
            break
        if not line.strip():
            i += 1
            continue
        if base is None:
            base = _indent(line)
        if _indent(line) <= base:
            entry = _GOOGLE_ENTRY.match(line.strip())
            if params is not None and entry:
                current = params.setdefault(entry.group("name"), [])
                current.append(entry.group("desc"))
            elif returns is not None:
                returns.append(line)
                current = returns
            else:
                current = None
        elif current is not None:
            current.append(line)
        i += 1
    return i


def _read_numpy(lines: list[str], i: int, params: dict[str, list[str]] | None, returns: list[str] | None) -> int:
    current: list[str] | None = None
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _indent(line) == 0 and _NUMPY_UNDERLINE.match(nxt):
            break
        if not line.strip():
            i += 1
            continue
        if _indent(line) == 0:
            entry = _NUMPY_ENTRY.match(line.strip())
            if params is not None and entry:
                current = params.setdefault(entry.group("name"), [])
            elif returns is not None:
                current = returns
            else:
                current = None
        elif current is not None:
            current.append(line)
        i += 1
    return i


# --- schema shaping ------------------------------------------------------------------------

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _map_subschemas(node: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply `fn` to every direct subschema of `node` (not to data such as enum or default)."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: fn(sub) for name, sub in out[key].items()}
    for key in _SCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = fn(out[key])
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [fn(sub) for sub in out[key]]
    return out


def flatten_schema(schema: Mapping[str, Any], *, drop_titles: bool = True) -> dict[str, Any]:
    """Inline local `$ref`s (keeping `$defs` only for recursive types) and drop `title`s."""
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    kept: set[str] = set()

    def resolve(node: Any, stack: tuple[str, ...]) -> Any:
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref[len("#/$defs/"):]
            if name in stack or name not in defs:
                kept.add(name)
                return {k: v for k, v in node.items() if not (drop_titles and k == "title")}
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            target = resolve(copy.deepcopy(defs[name]), (*stack, name))
            merged = {**target, **siblings}
            return {k: v for k, v in merged.items() if not (drop_titles and k == "title")}
        out = _map_subschemas({k: v for k, v in node.items() if k != "$defs"}, lambda sub: resolve(sub, stack))
        if drop_titles:
            out.pop("title", None)
        return out

    flat: dict[str, Any] = resolve(dict(schema), ())
    if kept:
        # Recursive types stay as references; their definitions are flattened inside.
        closure: set[str] = set()
        todo = list(kept)
        while todo:
            name = todo.pop()
            if name in closure or name not in defs:
                continue
            closure.add(name)
            todo.extend(re.findall(r"#/\$defs/([^\"']+)", repr(defs[name])))
        flat["$defs"] = {name: resolve(copy.deepcopy(defs[name]), (name,)) for name in sorted(closure)}
    return flat


# --- functions -----------------------------------------------------------------------------


def _json_type(annotation: Any) -> str:
    if annotation is inspect.Signature.empty:
        return "string"
    if annotation is None or annotation is type(None):
        return "null"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
            schema = TypeAdapter(annotation).json_schema()
    except Exception:  # any type pydantic cannot describe is a string to the model
        return "string"
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if "$ref" in schema:
        return "object"
    return "string"


def _accepts_none(annotation: Any) -> bool:
    if annotation is Any or annotation is None or annotation is type(None) or annotation is object:
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _accepts_none(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_accepts_none(a) for a in typing.get_args(annotation))
    return False


def _optional(annotation: Any) -> Any:
    """`x: int = None` means Optional[int]; say so in the schema (keeping Annotated constraints)."""
    if typing.get_origin(annotation) is Annotated:
        inner, *meta = typing.get_args(annotation)
        return Annotated[(Optional[inner], *meta)]  # noqa: UP045 - a runtime-built type
    return Optional[annotation]  # noqa: UP045 - a runtime-built type


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not Annotated:
        return False
    return any(isinstance(m, FieldInfo) and m.description for m in typing.get_args(annotation)[1:])


def _unwrap(fn: Callable[..., Any]) -> Any:
    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    if not (inspect.isfunction(target) or inspect.ismethod(target)) and callable(target):
        call = inspect.getattr_static(type(target), "__call__", None)
        if inspect.isfunction(call):
            return call.__get__(target, type(target))
    return target


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """Whether calling `fn` returns a coroutine (functions, partials, objects with async __call__)."""
    if inspect.iscoroutinefunction(fn):
        return True
    target = _unwrap(fn)
    return inspect.iscoroutinefunction(target)


def check_examples(name: str, examples: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Check each example's arguments against the schema; a `result` key (the tutorial's way of
    showing the answer) is not an argument unless the tool has a parameter of that name."""
    checked: list[dict[str, Any]] = []
    properties = parameters.get("properties", {})
    validator = safe_validator(dict(parameters), param=f"the parameters of tool {name!r}")
    for n, example in enumerate(examples):
        if not isinstance(example, Mapping):
            raise ToolDefinitionError(f"Example {n} of tool {name!r} is not a mapping of argument names to values.")
        args = {k: v for k, v in example.items() if k != "result" or "result" in properties}
        errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
        if errors:
            raise ToolDefinitionError(
                f"Example {n} of tool {name!r} does not match the tool's parameters: "
                f"{_field_message(errors[0])}. Fix the example."
            )
        checked.append(dict(example))
    return checked


def _field_message(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return f"{path}: {error.message}" if path else error.message


class ToolFunction:
    """A Python function seen as a tool: its schema, and how to call it with JSON arguments.

    Arguments arrive as JSON values; `bind` turns them into the Python values the function
    declared (enums, pydantic models, dates...) through a pydantic model built from the
    signature, so the function body gets what its type hints promise."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        examples: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        if not callable(fn):
            raise ToolDefinitionError(f"{fn!r} is not callable; a tool is a function (or a ToolSchema without one).")
        self.fn = fn
        self.is_async = is_async_callable(fn)
        target = _unwrap(fn)
        plain = target.__self__ if inspect.ismethod(target) and target.__name__ == "__call__" else target
        if name is None:
            name = getattr(plain, "__name__", None) or type(plain).__name__
        self.name = check_tool_name(name)
        if plain is target:
            doc = parse_docstring(inspect.getdoc(target))
        else:  # a callable object: its class says what it is, its __call__ may say the rest
            own_call_doc = target.__func__.__doc__
            doc = parse_docstring(inspect.getdoc(plain) or own_call_doc)
            if own_call_doc and not doc.params:
                doc.params = parse_docstring(own_call_doc).params
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError) as exc:
            raise ToolDefinitionError(f"Cannot read the signature of tool {self.name!r}: {exc}") from exc
        try:
            hints = typing.get_type_hints(target, include_extras=True)
        except Exception as exc:  # NameError, TypeError from unresolved annotations
            raise ToolDefinitionError(
                f"Cannot resolve the type hints of tool {self.name!r} ({exc}): import every type its "
                "signature names at module level."
            ) from exc

        fields: dict[str, Any] = {}
        self._positional_only: list[str] = []
        self._params: list[tuple[str, str]] = []  # (parameter name, field name)
        for index, (pname, param) in enumerate(signature.parameters.items()):
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ToolDefinitionError(
                    f"Tool {self.name!r} takes *{pname}: a model can only fill named parameters. "
                    "Name each argument, or wrap the function."
                )
            annotation = hints.get(pname, param.annotation)
            if annotation is inspect.Signature.empty:
                annotation = Any
            field_name = f"p{index}"
            kwargs: dict[str, Any] = {"alias": pname}
            if pname in doc.params and not _has_description(annotation):
                kwargs["description"] = doc.params[pname]
            if param.default is not inspect.Signature.empty:
                kwargs["default"] = param.default
                if param.default is None and not _accepts_none(annotation):
                    annotation = _optional(annotation)
            fields[field_name] = (annotation, Field(**kwargs))
            self._params.append((pname, field_name))
            if param.kind is param.POSITIONAL_ONLY:
                self._positional_only.append(pname)

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
                self.model: type[BaseModel] = create_model(
                    f"{self.name}_arguments",
                    __config__=ConfigDict(extra="forbid", populate_by_name=False, arbitrary_types_allowed=False),
                    **fields,
                )
                raw = self.model.model_json_schema(by_alias=True)
        except Exception as exc:  # pydantic's schema errors vary by type
            raise ToolDefinitionError(
                f"Cannot build a JSON schema for tool {self.name!r}: {exc}. Use JSON-friendly parameter types "
                "(str, int, float, bool, list, dict, Literal, Enum, pydantic models)."
            ) from exc
        parameters = flatten_schema(raw)
        parameters.setdefault("properties", {})
        parameters["additionalProperties"] = False
        ordered = {"type": "object", "properties": parameters.pop("properties")}
        if parameters.get("required"):
            ordered["required"] = parameters.pop("required")
        parameters.pop("type", None)
        parameters.pop("required", None)
        ordered.update(parameters)

        return_annotation = hints.get("return", signature.return_annotation)
        self.schema = ToolSchema(
            name=self.name,
            description=(description if description is not None else doc.description).strip()
            or f"The {self.name} tool.",
            parameters=ordered,
            return_type=_json_type(return_annotation),
            examples=check_examples(self.name, examples or [], ordered),
        )

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the function, from JSON arguments."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = self.model.model_validate(dict(arguments))
        except PydanticValidationError as exc:
            raise ToolArgumentsError(self.name, pydantic_error_lines(exc)) from exc
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for pname, field_name in self._params:
            value = getattr(values, field_name)
            if pname in self._positional_only:
                args.append(value)
            elif pname in arguments or field_name in values.model_fields_set:
                kwargs[pname] = value
            # else: leave the function's own default (a fresh object on every call)
        return args, kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


def pydantic_error_lines(exc: PydanticValidationError) -> list[str]:
    """One readable line per pydantic error: `field.path: message (got value)`."""
    lines = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(p) for p in error.get("loc", ()))
        message = error.get("msg", "invalid")
        got = error.get("input")
        shown = repr(got) if not isinstance(got, dict | list) or len(repr(got)) <= 60 else type(got).__name__
        line = f"{path}: {message}" if path else message
        if error.get("type") != "missing":
            line += f" (got {shown})"
        lines.append(line)
    return lines


def function_schema(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    examples: Sequence[Mapping[str, Any]] | None = None,
) -> ToolSchema:
    """The ToolSchema of a plain function (sync or async)."""
    return ToolFunction(fn, name=name, description=description, examples=examples).schema
