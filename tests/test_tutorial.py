"""The tutorial's cells 9 to 12 run unchanged, with `SGLangAgent()` as the engine line.

The engine here is the scripted one (the API must work whatever the model says); the demo
runs the same scenarios on the real embedded engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from radixagent import DecisionSettings, QualityAssessment, SGLangAgent, ToolDefinition, ToolSchema
from radixagent.engine import Constraint, Prompt, ScriptedEngine
from radixagent.tools.builtin import DocumentStore, builtin_tools

CELLS = Path(__file__).parent / "fixtures" / "tutorial_cells.py"


def test_cells_9_to_12_run_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def reply(prompt: Prompt, constraint: Constraint | None) -> str:
        text = engine.decode(prompt)
        wants_sentiment = "감정을 분석" in text[text.rfind("<|im_start|>user") :]
        if constraint is not None and constraint.kind == "choices":
            options = constraint.choices  # type: ignore[union-attr]
            if " positive" in options:
                return " positive"
            called = "analyze_sentiment returned" in text[text.rfind("<|im_start|>user") :]
            return " analyze_sentiment" if wants_sentiment and not called and " analyze_sentiment" in options else " answer"
        if constraint is not None and constraint.kind == "json_schema":
            return '{"text": "이 제품은 정말 훌륭하고 품질이 우수합니다"}'
        return "네, 알겠습니다."

    engine = ScriptedEngine(reply)
    tools = {t.name: t.callable for t in builtin_tools(engine, documents=DocumentStore(tmp_path / "docs.db"), enable_code=True)}
    namespace = {
        "SGLangAgent": SGLangAgent,
        "ToolDefinition": ToolDefinition,
        "ToolSchema": ToolSchema,
        "QualityAssessment": QualityAssessment,
        # the script stands in for the model's choices, so the model decides alone
        "make_agent": lambda: SGLangAgent(engine=engine, decision=DecisionSettings().model_only()),
        **tools,
    }
    exec(compile(CELLS.read_text(), str(CELLS), "exec"), namespace)

    out = capsys.readouterr().out
    assert "등록된 도구: ['analyze_sentiment', 'retrieve_documents', 'execute_code', 'generate_summary', 'translate_text']" in out
    agent = namespace["agent"]
    sentiment_calls = [r.record for r in agent.tool_manager.execution_history if r.record.tool == "analyze_sentiment"]
    assert sentiment_calls and sentiment_calls[0].error is None
    assert sentiment_calls[0].result is not None and sentiment_calls[0].result.startswith("positive")
    # the tutorial reads each executed call as a dict with keys tool, arguments and result
    assert "도구 호출: [{'tool': 'analyze_sentiment', 'arguments': {'text': " in out
    status = namespace["status"]
    assert status["feedback_summary"]["total_feedback_count"] == 1
    assert status["feedback_summary"]["quality_assessment_count"] == 1
    # the three-question cache test: later questions reuse the earlier prompts
    assert namespace["response"].cache_hit_rate > 0.5
    assert "캐시 적중률: 0.00%" not in out.split("RadixAttention")[1].split("질문 2")[1]


def test_the_tutorial_response_shapes_are_built_on_the_core() -> None:
    from radixagent import AgentResponse as CoreResponse
    from radixagent import ToolCall as CoreCall
    from radixagent.compat import AgentResponse, ToolCall, ToolCallDecision
    from radixagent.schemas import ToolCallRecord

    core = CoreResponse(
        content="done",
        tool_calls=[
            ToolCallRecord(id="c1", tool="add", arguments={"a": 2, "b": 40}, result="42"),
            ToolCallRecord(id="c2", tool="add", arguments={}, error="missing a", error_type="arguments"),
        ],
    )
    tutorial = AgentResponse.of(core)
    assert tutorial.tool_calls == [
        {"tool": "add", "arguments": {"a": 2, "b": 40}, "result": "42"},
        {"tool": "add", "arguments": {}, "result": "Error: missing a"},
    ]
    assert tutorial.content == "done" and tutorial.usage == core.usage
    call = ToolCall.of(CoreCall(tool_name="add", arguments={"a": 1}, confidence=0.75))
    assert call.decision is ToolCallDecision.CALL_TOOL and call.confidence_score == 0.75
    assert call.to_call().arguments == {"a": 1}
    with pytest.raises(ValueError, match="not a tool call"):
        ToolCall(decision=ToolCallDecision.RESPOND_DIRECTLY, reasoning="hi").to_call()
