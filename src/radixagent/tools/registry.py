"""The tool registry: what tools exist, how they are described to the model, and which fit a
query. Running them is the executor's job (`registry.executor`).

Tools come from plain functions (`register(fn)` or `@registry.tool`), from the tutorial's
`ToolDefinition`, or from a bare `ToolSchema` (no function: its calls go back to the caller,
as with OpenAI function calling). The text shown to the model (`specs_text`) is byte-stable:
the same tools always render to the same bytes, so it can sit in the cached prompt prefix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

import jsonschema
from pydantic import BaseModel, ValidationError

from radixagent.engine.schema_guard import safe_validator
from radixagent.errors import ConstraintError, ToolDefinitionError, UnknownToolError
from radixagent.evidence import rank_tools
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.tools.execution import ExecutionStatistics, ToolExecutor, ToolRun
from radixagent.tools.signature import ToolFunction, check_examples, check_tool_name, is_async_callable

__all__ = ["RegisteredTool", "StructuredToolManager", "ToolRecommendation", "ToolRegistry"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RegisteredTool:
    """A tool as the executor needs it: the definition, how to bind JSON arguments to the
    function (None: pass them as keyword arguments), and the compiled argument validator."""

    definition: ToolDefinition
    function: ToolFunction | None
    validator: jsonschema.protocols.Validator
    is_async: bool

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def schema(self) -> ToolSchema:
        return self.definition.tool_schema


class ToolRecommendation(BaseModel):
    """A tool that fits a query, with its BM25 score (higher fits better)."""

    name: str
    score: float


class ToolRegistry:
    """The tools an agent may call."""

    def __init__(self, *, default_timeout_s: float = 30.0, history_size: int = 1000) -> None:
        if default_timeout_s <= 0:
            raise ToolDefinitionError(f"default_timeout_s must be positive, not {default_timeout_s}.")
        self.default_timeout_s = default_timeout_s
        self.tools: dict[str, ToolDefinition] = {}
        """The tutorial's attribute: name -> ToolDefinition, in registration order."""
        self._entries: dict[str, RegisteredTool] = {}
        self.executor = ToolExecutor(self, history_size=history_size)

    # --- registering ---------------------------------------------------------------------

    def register_tool(self, tool: ToolDefinition, *, replace: bool = False) -> ToolDefinition:
        """Register a tutorial-style ToolDefinition (schema given by hand, callable optional)."""
        return self._add(tool, None, replace)

    def _add(self, tool: ToolDefinition, function: ToolFunction | None, replace: bool) -> ToolDefinition:
        if not isinstance(tool, ToolDefinition):
            raise ToolDefinitionError(
                f"register_tool() takes a ToolDefinition, not {type(tool).__name__}; use register() for functions."
            )
        name = check_tool_name(tool.name)
        if name in self._entries and not replace:
            raise ToolDefinitionError(
                f"A tool named {name!r} is already registered: pick another name, or pass replace=True."
            )
        parameters = tool.tool_schema.parameters
        try:
            validator = safe_validator(parameters, param=f"the parameters of tool {name!r}")
        except ConstraintError as exc:
            raise ToolDefinitionError(str(exc)) from exc
        if parameters.get("type", "object") != "object":
            raise ToolDefinitionError(
                f"The parameters of tool {name!r} must describe a JSON object (type 'object'), "
                f"not {parameters.get('type')!r}."
            )
        check_examples(name, tool.tool_schema.examples, parameters)
        if function is None and tool.callable is not None:
            function = self._binder(tool)
        self._entries[name] = RegisteredTool(
            definition=tool,
            function=function,
            validator=validator,
            is_async=tool.callable is not None and is_async_callable(tool.callable),
        )
        self.tools[name] = tool
        return tool

    @staticmethod
    def _binder(tool: ToolDefinition) -> ToolFunction | None:
        """Bind through the function's own signature when it names every schema property, so
        its type hints (enums, models) still apply; otherwise pass the JSON values through."""
        assert tool.callable is not None
        try:
            function = ToolFunction(tool.callable, name=tool.name)
        except ToolDefinitionError:
            return None
        own = set(function.schema.parameters.get("properties", {}))
        wanted = set(tool.tool_schema.parameters.get("properties", {}))
        return function if wanted <= own else None

    def register(
        self,
        tool: Callable[..., Any] | ToolDefinition | ToolSchema,
        *,
        name: str | None = None,
        description: str | None = None,
        examples: Sequence[Mapping[str, Any]] | None = None,
        timeout_s: float | None = None,
        requires_approval: bool | None = None,
        replace: bool = False,
    ) -> ToolDefinition:
        """Register a function (schema from its signature and docstring), a ToolDefinition,
        or a schema-only ToolSchema. The keyword arguments override what the tool says;
        `requires_approval=True`: each call waits for a person's approval (see `Agent.resume`)."""
        if timeout_s is not None and timeout_s <= 0:
            raise ToolDefinitionError(f"timeout_s must be positive, not {timeout_s}.")
        if isinstance(tool, ToolDefinition | ToolSchema):
            schema = tool.tool_schema if isinstance(tool, ToolDefinition) else tool
            updates: dict[str, Any] = {}
            if name is not None:
                updates["name"] = check_tool_name(name)
            if description is not None:
                updates["description"] = description
            if examples is not None:
                updates["examples"] = [dict(e) for e in examples]
            schema = schema.model_copy(update=updates)
            callable_ = tool.callable if isinstance(tool, ToolDefinition) else None
            timeout = timeout_s or (tool.timeout_s if isinstance(tool, ToolDefinition) else self.default_timeout_s)
            approval = requires_approval if requires_approval is not None else isinstance(tool, ToolDefinition) and tool.requires_approval
            definition = ToolDefinition(schema=schema, callable=callable_, timeout_s=timeout, requires_approval=approval)
            return self.register_tool(definition, replace=replace)
        if isinstance(tool, BaseModel) or not callable(tool):
            raise ToolDefinitionError(
                f"Cannot register {type(tool).__name__}: a tool is a function, a ToolDefinition or a ToolSchema."
            )
        function = ToolFunction(tool, name=name, description=description, examples=examples)
        try:
            definition = ToolDefinition(
                schema=function.schema,
                callable=tool,
                timeout_s=timeout_s or self.default_timeout_s,
                requires_approval=bool(requires_approval),
            )
        except ValidationError as exc:
            raise ToolDefinitionError(f"Cannot register tool {function.name!r}: {exc}") from exc
        return self._add(definition, function, replace)

    @overload
    def tool(self, fn: F, /) -> F: ...

    @overload
    def tool(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        examples: Sequence[Mapping[str, Any]] | None = None,
        timeout_s: float | None = None,
        requires_approval: bool | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        fn: F | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        examples: Sequence[Mapping[str, Any]] | None = None,
        timeout_s: float | None = None,
        requires_approval: bool | None = None,
    ) -> F | Callable[[F], F]:
        """Decorator: `@registry.tool` or `@registry.tool(timeout_s=5, requires_approval=True)`.
        The function is returned unchanged, so it can still be called directly."""

        def decorate(f: F) -> F:
            self.register(
                f, name=name, description=description, examples=examples, timeout_s=timeout_s, requires_approval=requires_approval
            )
            return f

        return decorate(fn) if fn is not None else decorate

    def remove(self, name: str) -> ToolDefinition:
        """Unregister a tool and return its definition."""
        self.entry(name)
        del self._entries[name]
        return self.tools.pop(name)

    # --- looking up ----------------------------------------------------------------------

    def get_tool(self, name: str) -> ToolDefinition | None:
        return self.tools.get(name)

    def entry(self, name: str) -> RegisteredTool:
        """The registered tool, or UnknownToolError."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownToolError(name, list(self._entries)) from None

    @property
    def names(self) -> list[str]:
        return list(self.tools)

    def schemas(self) -> list[ToolSchema]:
        return [t.tool_schema for t in self.tools.values()]

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def __len__(self) -> int:
        return len(self.tools)

    def __iter__(self) -> Iterator[ToolDefinition]:
        return iter(list(self.tools.values()))

    # --- describing ----------------------------------------------------------------------

    def specs_text(self, *, style: Literal["compact", "json"] = "compact", sort: bool = False) -> str:
        """The tools as text for a prompt: the same tools give the same bytes every time.
        `compact` reads like a signature list (easier for small models); `json` is one JSON
        object per line. Order is registration order, or by name with `sort=True`."""
        schemas = sorted(self.schemas(), key=lambda s: s.name) if sort else self.schemas()
        if style == "json":
            return "\n".join(
                json.dumps(
                    {"name": s.name, "description": s.description, "parameters": s.parameters},
                    ensure_ascii=False,
                    sort_keys=True,
                )
                for s in schemas
            )
        return "\n\n".join(_render_compact(s) for s in schemas)

    def get_tools_description(self) -> str:
        """The tutorial's name for the prompt text of all tools."""
        return self.specs_text()

    def get_tool_schemas_json(self) -> list[dict[str, Any]]:
        """Each tool's schema as JSON-ready data (wire format)."""
        return [s.model_dump(mode="json") for s in self.schemas()]

    def openai_tools(self) -> list[dict[str, Any]]:
        """The tools in OpenAI's `tools` request format (wire format)."""
        return [
            {"type": "function", "function": {"name": s.name, "description": s.description, "parameters": s.parameters}}
            for s in self.schemas()
        ]

    # --- recommending --------------------------------------------------------------------

    def recommend(self, query: str, k: int | None = None) -> list[ToolRecommendation]:
        """Rank tools by BM25 between the query and each tool's name, description, parameter
        names and descriptions and enum values (`radixagent.evidence.rank_tools`). Tools sharing
        no term with the query are left out."""
        scores = rank_tools(query, self.schemas())
        ranked = [ToolRecommendation(name=name, score=round(score, 6)) for name, score in scores.items() if score > 0]
        ranked.sort(key=lambda r: -r.score)  # stable: ties keep registration order
        return ranked[:k] if k is not None else ranked

    def get_tool_recommendation(self, query: str) -> list[str]:
        """The tutorial's name: tool names that fit `query`, best first."""
        return [r.name for r in self.recommend(query)]

    # --- running (delegated to the executor) ---------------------------------------------

    def execute_tool(self, tool_name: str, arguments: Mapping[str, Any] | None = None) -> str:
        """Run a tool now and return its result text; raises the typed ToolError on failure."""
        return self.executor.call_sync(tool_name, arguments)

    async def aexecute_tool(self, tool_name: str, arguments: Mapping[str, Any] | None = None) -> str:
        return await self.executor.call(tool_name, arguments)

    def get_execution_statistics(self) -> ExecutionStatistics:
        return self.executor.statistics()

    @property
    def execution_history(self) -> list[ToolRun]:
        return list(self.executor.history)


StructuredToolManager = ToolRegistry
"""The tutorial's name for the registry."""


# --- rendering ---------------------------------------------------------------------------------


def _label(node: Any) -> str:
    """A short type label for a parameter schema: `string`, `"ko" | "en"`, `list of integer`..."""
    if not isinstance(node, dict):
        return "any"
    if "enum" in node:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in node["enum"])
    if "const" in node:
        return json.dumps(node["const"], ensure_ascii=False)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " or ".join(_label(sub) for sub in node[key])
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"list of {_label(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("properties"), dict):
        required = set(node.get("required", []))
        inner = ", ".join(f"{k}{'' if k in required else '?'}: {_label(v)}" for k, v in node["properties"].items())
        return f"object {{{inner}}}"
    if "$ref" in node:
        return str(node["$ref"]).rsplit("/", 1)[-1]
    label = kind if isinstance(kind, str) else "any"
    bounds = []
    for key, word in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in node:
            bounds.append(f"{word} {node[key]}")
    for key, word in (("minLength", "min length"), ("maxLength", "max length"), ("pattern", "pattern")):
        if key in node:
            bounds.append(f"{word} {node[key]}")
    return f"{label} {', '.join(bounds)}" if bounds else label


def _render_compact(schema: ToolSchema) -> str:
    lines = [f"{schema.name}: {schema.description}"]
    properties = schema.parameters.get("properties", {})
    required = set(schema.parameters.get("required", []))
    if properties:
        lines.append("  arguments:")
        for pname, node in properties.items():
            facts = [_label(node), "required" if pname in required else "optional"]
            if isinstance(node, dict) and "default" in node:
                facts.append(f"default {json.dumps(node['default'], ensure_ascii=False)}")
            description = node.get("description", "") if isinstance(node, dict) else ""
            lines.append(f"  - {pname} ({', '.join(facts)})" + (f": {description}" if description else ""))
    else:
        lines.append("  arguments: none")
    lines.append(f"  returns: {schema.return_type}")
    for example in schema.examples:
        lines.append(f"  example: {json.dumps(example, ensure_ascii=False)}")
    return "\n".join(lines)
