"""Tool registry, schemas from signatures, and execution (timeouts, parallel calls, stats)."""

from __future__ import annotations

import asyncio
import json
import threading
from enum import Enum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from radixagent.errors import (
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolExecutionError,
    UnknownToolError,
)
from radixagent.schemas import ToolCall, ToolDefinition, ToolSchema
from radixagent.tools import (
    StructuredToolManager,
    ToolFunction,
    ToolRegistry,
    flatten_schema,
    function_schema,
    parse_docstring,
    result_text,
)

# --- schemas from signatures ----------------------------------------------------------------


class Unit(Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    """A place on the map."""

    city: str = Field(description="city name")
    country: str = "KR"


def forecast(
    place: Place,
    days: Annotated[int, Field(ge=1, le=7)] = 1,
    detail: Literal["brief", "full"] = "brief",
    unit: Unit = Unit.CELSIUS,
    tags: list[str] | None = None,
    note: str = None,  # type: ignore[assignment]  # the tutorial's style: implicit Optional
) -> str:
    """Forecast the weather for a place.

    Uses the national weather service.

    Args:
        place: where to forecast
        days: how many days
            ahead to cover.
        detail: how much to say
    """
    return f"{place.city}/{days}/{detail}/{unit.value}/{tags}/{note}"


def test_schema_from_function_matches_exactly() -> None:
    schema = function_schema(forecast)
    assert schema.name == "forecast"
    assert schema.description == "Forecast the weather for a place."
    assert schema.return_type == "string"
    assert schema.parameters == {
        "type": "object",
        "properties": {
            "place": {
                "description": "where to forecast",
                "properties": {
                    "city": {"description": "city name", "type": "string"},
                    "country": {"default": "KR", "type": "string"},
                },
                "required": ["city"],
                "type": "object",
            },
            "days": {"default": 1, "description": "how many days ahead to cover.", "maximum": 7, "minimum": 1, "type": "integer"},
            "detail": {"default": "brief", "description": "how much to say", "enum": ["brief", "full"], "type": "string"},
            "unit": {"enum": ["celsius", "fahrenheit"], "type": "string", "default": "celsius"},
            "tags": {"anyOf": [{"items": {"type": "string"}, "type": "array"}, {"type": "null"}], "default": None},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["place"],
        "additionalProperties": False,
    }


def test_annotated_field_description_wins_over_docstring() -> None:
    def f(n: Annotated[int, Field(description="from the type")] = 3) -> int:
        """F.

        Args:
            n: from the docstring
        """
        return n

    assert function_schema(f).parameters["properties"]["n"]["description"] == "from the type"


class Node(BaseModel):
    label: str
    children: list[Node] = []


def test_recursive_model_keeps_its_definition() -> None:
    def walk(tree: Node) -> int:
        """Count nodes."""
        return 1

    params = function_schema(walk).parameters
    # the first level is inlined; the recursion stays a reference to the kept definition
    assert params["properties"]["tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert set(params["$defs"]) == {"Node"}
    assert params["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "title" not in params["$defs"]["Node"]


def test_docstring_styles() -> None:
    google = parse_docstring(
        """Search things.

        Args:
            query (str): what to look for
            top_k: how many,
                at most 20.

        Returns:
            the hits
        """
    )
    assert google.description == "Search things."
    assert google.params == {"query": "what to look for", "top_k": "how many, at most 20."}
    assert google.returns == "the hits"

    numpy = parse_docstring(
        """Search things
        in a corpus.

        Parameters
        ----------
        query : str
            what to look for
        top_k : int, optional
            how many

        Returns
        -------
        str
        """
    )
    assert numpy.description == "Search things in a corpus."
    assert numpy.params == {"query": "what to look for", "top_k": "how many"}

    rest = parse_docstring(
        """Search things.

        :param str query: what to look for
            in the corpus
        :param top_k: how many
        :returns: the hits
        """
    )
    assert rest.description == "Search things."
    assert rest.params == {"query": "what to look for in the corpus", "top_k": "how many"}
    assert rest.returns == "the hits"


def test_bind_gives_the_function_its_declared_types() -> None:
    seen: dict[str, object] = {}

    def f(place: Place, unit: Unit = Unit.CELSIUS, /, *, days: int = 1) -> str:
        seen.update(place=place, unit=unit, days=days)
        return "ok"

    tool = ToolFunction(f)
    args, kwargs = tool.bind({"place": {"city": "Seoul"}, "unit": "fahrenheit", "days": 2})
    assert tool(*args, **kwargs) == "ok"
    assert seen == {"place": Place(city="Seoul"), "unit": Unit.FAHRENHEIT, "days": 2}
    with pytest.raises(ToolArgumentsError) as info:
        tool.bind({"place": {"city": 3}})
    assert info.value.errors == ["place.city: Input should be a valid string (got 3)"]


def test_bad_definitions_raise_typed_errors() -> None:
    registry = ToolRegistry()
    with pytest.raises(ToolDefinitionError, match="not a valid tool name"):
        registry.register(lambda x: x)
    registry.register(lambda x: x, name="identity")
    with pytest.raises(ToolDefinitionError, match="already registered"):
        registry.register(lambda y: y, name="identity")
    registry.register(lambda y: y, name="identity", replace=True)
    assert list(registry.entry("identity").schema.parameters["properties"]) == ["y"]

    def star(*values: int) -> int:
        return sum(values)

    with pytest.raises(ToolDefinitionError, match=r"\*values"):
        registry.register(star)
    with pytest.raises(ToolDefinitionError, match="does not match"):
        registry.register(forecast, examples=[{"place": {"city": "Seoul"}, "days": 30}])
    with pytest.raises(ToolDefinitionError, match="JSON object"):
        registry.register(ToolSchema(name="weird", description="d", parameters={"type": "string"}))
    with pytest.raises(ToolDefinitionError, match="parameters of tool .broken. is not valid"):
        registry.register(ToolSchema(name="broken", description="d", parameters={"type": "object", "required": 3}))
    with pytest.raises(ToolDefinitionError, match="not a valid tool name"):
        registry.register(forecast, name="has space")


# --- the registry --------------------------------------------------------------------------


def _tutorial_registry() -> StructuredToolManager:
    manager = StructuredToolManager()

    def analyze_sentiment(text: str, language: str = "ko") -> str:
        """텍스트의 감정을 분석한다"""
        return f"{text[:10]}: 긍정적 ({language})"

    def translate_text(text: str, source_lang: str, target_lang: str) -> str:
        """텍스트를 번역한다"""
        return f"'{text}' {source_lang}->{target_lang}"

    manager.register_tool(
        ToolDefinition(
            schema=ToolSchema(
                name="analyze_sentiment",
                description="텍스트의 감정을 분석하여 긍정/부정/중립을 판단한다",
                parameters={
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "description": "분석할 텍스트"},
                        "language": {"type": "string", "description": "텍스트 언어", "enum": ["ko", "en", "ja", "zh"]},
                    },
                    "required": ["text"],
                },
                examples=[{"text": "정말 좋은 날이다", "language": "ko", "result": "긍정적"}],
            ),
            callable=analyze_sentiment,
        )
    )
    manager.register_tool(
        ToolDefinition(
            schema=ToolSchema(
                name="translate_text",
                description="텍스트를 한 언어에서 다른 언어로 번역한다",
                parameters={
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "description": "번역할 텍스트"},
                        "source_lang": {"type": "string", "description": "원본 언어"},
                        "target_lang": {"type": "string", "description": "대상 언어"},
                    },
                    "required": ["text", "source_lang", "target_lang"],
                },
            ),
            callable=translate_text,
        )
    )
    return manager


def test_tutorial_methods_work() -> None:
    manager = _tutorial_registry()
    assert list(manager.tools) == ["analyze_sentiment", "translate_text"]
    assert manager.get_tool("translate_text") is manager.tools["translate_text"]
    assert manager.get_tool("nope") is None
    assert manager.execute_tool("analyze_sentiment", {"text": "정말 좋은 날이다"}) == "정말 좋은 날이다: 긍정적 (ko)"
    assert [s["name"] for s in manager.get_tool_schemas_json()] == ["analyze_sentiment", "translate_text"]
    description = manager.get_tools_description()
    assert "analyze_sentiment: 텍스트의 감정을" in description
    assert '- language ("ko" | "en" | "ja" | "zh", optional): 텍스트 언어' in description
    stats = manager.get_execution_statistics()
    assert stats.total_executions == 1
    assert stats.tools_used["analyze_sentiment"].call_count == 1
    assert "translate_text" not in stats.tools_used


def test_specs_text_is_byte_stable_and_ordered() -> None:
    first, second = _tutorial_registry(), _tutorial_registry()
    assert first.specs_text().encode() == second.specs_text().encode()
    first.execute_tool("analyze_sentiment", {"text": "x"})  # running tools changes nothing shown
    assert first.specs_text() == second.specs_text()
    assert first.specs_text(style="json") == second.specs_text(style="json")
    lines = first.specs_text(style="json").splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["analyze_sentiment", "translate_text"]

    registry = ToolRegistry()
    registry.register(ToolSchema(name="zeta", description="last", parameters={"type": "object", "properties": {}}))
    registry.register(ToolSchema(name="alpha", description="first", parameters={"type": "object", "properties": {}}))
    assert registry.specs_text().startswith("zeta:")
    assert registry.specs_text(sort=True).startswith("alpha:")
    assert registry.specs_text(sort=True) == "alpha: first\n  arguments: none\n  returns: string\n\nzeta: last\n  arguments: none\n  returns: string"


def test_openai_tools_format() -> None:
    registry = ToolRegistry()
    registry.register(forecast)
    (tool,) = registry.openai_tools()
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "forecast"
    assert tool["function"]["description"] == "Forecast the weather for a place."
    assert tool["function"]["parameters"]["required"] == ["place"]


def test_recommendation_ranks_by_overlap() -> None:
    registry = ToolRegistry()

    @registry.tool
    def translate_text(text: str, target_lang: str) -> str:
        """Translate text into another language.

        Args:
            text: the text to translate
            target_lang: the language to translate into
        """
        return text

    @registry.tool
    def search_documents(query: str) -> str:
        """Search the document database for relevant documents."""
        return query

    @registry.tool
    def analyze_sentiment(text: str) -> str:
        """텍스트의 감정을 분석한다"""
        return text

    assert registry.get_tool_recommendation("please translate this into French") == ["translate_text"]
    ranked = registry.recommend("find documents about the text")
    assert [r.name for r in ranked][:1] == ["search_documents"]
    assert ranked == sorted(ranked, key=lambda r: -r.score)
    assert registry.get_tool_recommendation("이 문장의 감정은?") == ["analyze_sentiment"]
    assert registry.get_tool_recommendation("zebra quantum") == []
    assert registry.recommend("text", k=1)[0].name in {"translate_text", "analyze_sentiment"}


def test_decorator_forms_and_function_still_callable() -> None:
    registry = ToolRegistry(default_timeout_s=9)

    @registry.tool
    def plain(x: int) -> int:
        """Plain."""
        return x * 2

    @registry.tool(name="renamed", timeout_s=5, examples=[{"x": 1}])
    def other(x: int) -> int:
        """Other."""
        return x + 1

    assert plain(2) == 4 and other(2) == 3
    assert registry.get_tool("plain").timeout_s == 9  # type: ignore[union-attr]
    assert registry.get_tool("renamed").timeout_s == 5  # type: ignore[union-attr]
    assert registry.get_tool("renamed").schema.examples == [{"x": 1}]  # type: ignore[union-attr]
    assert registry.execute_tool("renamed", {"x": 41}) == "42"
    assert len(registry) == 2 and "plain" in registry
    registry.remove("plain")
    assert registry.names == ["renamed"]
    with pytest.raises(UnknownToolError, match="renamed"):
        registry.remove("plain")


# --- execution -----------------------------------------------------------------------------


def test_schema_only_tool_comes_back_unexecuted() -> None:
    registry = ToolRegistry()
    registry.register(
        ToolSchema(
            name="send_email",
            description="Send an email (the caller does it).",
            parameters={
                "type": "object",
                "properties": {"to": {"type": "string"}, "urgent": {"type": "boolean", "default": False}},
                "required": ["to"],
            },
        )
    )
    record = registry.executor.execute_sync("send_email", {"to": "a@b.c"})
    assert record.executed is False
    assert record.error is None and record.result is None
    assert record.arguments == {"to": "a@b.c", "urgent": False}
    with pytest.raises(ToolError, match="schema-only"):
        registry.execute_tool("send_email", {"to": "a@b.c"})


def test_argument_errors_are_listed_per_field() -> None:
    registry = ToolRegistry()
    registry.register(forecast)
    record = registry.executor.execute_sync("forecast", {"days": 30, "detail": "long", "colour": "red"})
    assert record.error_type == "arguments"
    assert record.executed is False
    assert record.error == (
        "Invalid arguments for tool 'forecast':\n"
        "- 'place' is a required property\n"
        "- Additional properties are not allowed ('colour' was unexpected)\n"
        "- days: 30 is greater than the maximum of 7\n"
        "- detail: 'long' is not one of ['brief', 'full']"
    )
    with pytest.raises(ToolArgumentsError) as info:
        registry.execute_tool("forecast", {"place": {"city": 1}})
    assert info.value.errors == ["place.city: 1 is not of type 'string'"]
    with pytest.raises(UnknownToolError, match="forecast"):
        registry.executor.execute_sync("nope", {})


def test_defaults_are_applied_and_types_bound() -> None:
    registry = ToolRegistry()
    registry.register(forecast)
    record = registry.executor.execute_sync("forecast", {"place": {"city": "Busan"}, "unit": "fahrenheit"})
    assert record.error is None
    assert record.result == "Busan/1/brief/fahrenheit/None/None"
    assert record.arguments == {
        "place": {"city": "Busan", "country": "KR"},
        "unit": "fahrenheit",
        "days": 1,
        "detail": "brief",
        "tags": None,
        "note": None,
    }


def test_exceptions_become_records_and_typed_errors() -> None:
    registry = ToolRegistry()

    @registry.tool
    def explode(x: int) -> int:
        """Raise."""
        raise ValueError(f"bad x {x}")

    @registry.tool
    def own_timeout() -> str:
        """A tool whose own network call timed out."""
        raise TimeoutError("upstream did not answer")

    record = registry.executor.execute_sync("explode", {"x": 3})
    assert record.error == "Tool 'explode' failed: ValueError: bad x 3"
    assert record.error_type == "execution" and record.executed is True
    with pytest.raises(ToolExecutionError) as info:
        registry.execute_tool("explode", {"x": 4})
    assert isinstance(info.value.__cause__, ValueError)
    assert registry.executor.execute_sync("own_timeout").error_type == "execution"
    stats = registry.get_execution_statistics()
    assert stats.tools_used["explode"].failure_count == 2
    assert stats.tools_used["explode"].timeout_count == 0


def test_hung_sync_tool_times_out_without_blocking() -> None:
    registry = ToolRegistry()
    release = threading.Event()
    finished = threading.Event()

    @registry.tool(timeout_s=0.2)
    def hang() -> str:
        """Wait for a release that comes only after the caller got its answer."""
        release.wait(60)
        finished.set()
        return "late"

    record = registry.executor.execute_sync("hang")
    assert record.error_type == "timeout"
    assert record.error is not None and "did not finish within 0.2 s" in record.error
    assert not finished.is_set()  # the caller was answered while the tool was still running
    stats = registry.get_execution_statistics()
    assert stats.tools_used["hang"].timeout_count == 1
    assert stats.abandoned_threads == 1
    release.set()
    assert finished.wait(10)


async def test_async_tool_timeout_cancels_it() -> None:
    registry = ToolRegistry()
    cancelled = asyncio.Event()

    @registry.tool(timeout_s=0.1)
    async def sleepy() -> str:
        """Sleep far too long."""
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    record = await registry.executor.execute("sleepy")
    assert record.error_type == "timeout"
    await asyncio.wait_for(cancelled.wait(), 5)


async def test_async_tools_of_one_step_run_in_parallel() -> None:
    registry = ToolRegistry()
    events = {"a": asyncio.Event(), "b": asyncio.Event()}

    @registry.tool(timeout_s=5)
    async def meet(me: Literal["a", "b"]) -> str:
        """Each call waits for the other one: only concurrent calls can both finish."""
        events[me].set()
        await events["b" if me == "a" else "a"].wait()
        return me

    calls = [
        ToolCall(tool_name="meet", arguments={"me": "a"}),
        ToolCall(tool_name="meet", arguments={"me": "b"}),
    ]
    records = await registry.executor.execute_many(calls)
    assert [r.result for r in records] == ["a", "b"]
    assert [r.id for r in records] == [c.id for c in calls]
    first, second = registry.execution_history
    assert first.start < second.end and second.start < first.end  # their runs overlap


def test_sync_tools_of_one_step_run_in_parallel() -> None:
    registry = ToolRegistry()
    events = {"a": threading.Event(), "b": threading.Event()}

    @registry.tool(timeout_s=5)
    def meet(me: Literal["a", "b"]) -> str:
        """Each call waits for the other one, in its own thread."""
        events[me].set()
        if not events["b" if me == "a" else "a"].wait(10):
            raise RuntimeError("ran alone")
        return me

    calls = [ToolCall(tool_name="meet", arguments={"me": m}) for m in "ab"]
    records = registry.executor.execute_many_sync(calls)
    assert [(r.result, r.error) for r in records] == [("a", None), ("b", None)]


def test_execute_many_checks_every_name_first() -> None:
    registry = ToolRegistry()
    ran: list[int] = []

    @registry.tool
    def count(n: int) -> int:
        """Count."""
        ran.append(n)
        return n

    calls = [
        ToolCall(tool_name="count", arguments={"n": 1}),
        ToolCall(tool_name="missing", arguments={}),
    ]
    with pytest.raises(UnknownToolError):
        registry.executor.execute_many_sync(calls)
    assert ran == []


def test_statistics_and_bounded_history() -> None:
    registry = ToolRegistry(history_size=3)

    @registry.tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    for i in range(5):
        registry.execute_tool("echo", {"text": str(i)})
    registry.executor.execute_sync("echo", {})
    stats = registry.get_execution_statistics()
    echo_stats = stats.tools_used["echo"]
    assert (stats.total_executions, stats.successful, stats.failed) == (6, 5, 1)
    assert (echo_stats.call_count, echo_stats.success_count, echo_stats.failure_count) == (6, 5, 1)
    assert echo_stats.min_time_ms <= echo_stats.avg_time_ms <= echo_stats.max_time_ms
    assert [run.record.arguments.get("text") for run in registry.execution_history] == ["3", "4", None]
    registry.executor.reset_statistics()
    assert registry.get_execution_statistics().total_executions == 0


def test_result_text() -> None:
    assert result_text("plain") == "plain"
    assert result_text({"a": [1, 2], "k": "감정"}) == '{"a":[1,2],"k":"감정"}'
    assert result_text(Place(city="Seoul")) == '{"city":"Seoul","country":"KR"}'
    assert result_text(None) == "null"
    assert result_text(object()).startswith("<object object")


def test_tutorial_definition_binds_through_the_function_signature() -> None:
    registry = ToolRegistry()
    seen: list[Unit] = []

    def convert(unit: Unit) -> str:
        seen.append(unit)
        return unit.value

    registry.register_tool(
        ToolDefinition(
            schema=ToolSchema(
                name="convert",
                description="d",
                parameters={"type": "object", "properties": {"unit": {"type": "string"}}, "required": ["unit"]},
            ),
            callable=convert,
        )
    )
    assert registry.execute_tool("convert", {"unit": "celsius"}) == "celsius"
    assert seen == [Unit.CELSIUS]


def test_flatten_schema_inlines_refs_and_drops_titles() -> None:
    flat = flatten_schema(
        {
            "$defs": {"P": {"title": "P", "type": "object", "properties": {"x": {"title": "X", "type": "integer"}}}},
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/P", "description": "a point"}, "title": {"type": "string"}},
        }
    )
    assert flat == {
        "type": "object",
        "properties": {
            "p": {"type": "object", "properties": {"x": {"type": "integer"}}, "description": "a point"},
            "title": {"type": "string"},
        },
    }


def test_a_huge_result_is_cut_with_a_note() -> None:
    registry = ToolRegistry()

    @registry.tool
    def dump(n: int) -> str:
        """Return n characters."""
        return "x" * n

    short = registry.executor.execute_sync("dump", {"n": 10})
    assert short.result == "x" * 10
    huge = registry.executor.execute_sync("dump", {"n": 2_000_000})
    assert huge.result is not None and len(huge.result) < 16_100
    assert huge.result.endswith("[... 1984000 more characters of the result were cut]")
