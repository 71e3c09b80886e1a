"""The demo: the tutorial's scenarios, run for real on one engine.

General conversation, sentiment analysis, search then summary, translation with a quality
assessment (an LLM judge and a user rating), the three-question cache test, and the status
report. The queries are the tutorial's, in English: the default 135M model handles Korean
poorly (see the README).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from radixagent.agent import Agent, AgentStatus
from radixagent.compat.agent import TUTORIAL_INSTRUCTIONS
from radixagent.decision import DecisionSettings
from radixagent.engine import Engine
from radixagent.errors import JudgeError
from radixagent.schemas import AgentResponse, QualityAssessment, ToolCallRecord


class Scenario(BaseModel):
    name: str
    query: str
    continues: bool = False
    """Whether the scenario continues the previous one's conversation; otherwise it starts a
    new branch from the system prompt, which the engine still has cached."""


SCENARIOS: list[Scenario] = [
    Scenario(name="general conversation", query="Hello! Please explain what SGLang is."),
    Scenario(name="sentiment", query="Analyze the sentiment of this review: 'This product is truly excellent and the quality is outstanding.'"),
    Scenario(name="search then summary", query="Search the documents for 'AI ethics' and summarize them briefly."),
    Scenario(name="translation", query="Translate 'Hello World' into Korean."),
    Scenario(name="cache test 1", query="Tell me about Python."),
    Scenario(name="cache test 2", query="What are the main features of Python?", continues=True),
    Scenario(name="cache test 3", query="What kinds of tasks can you do with Python?", continues=True),
]


class ScenarioResult(BaseModel):
    name: str
    query: str
    content: str
    successful: bool
    error: str | None = None
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    reasoning_steps: list[str] = Field(default_factory=list)
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_rate: float = 0.0
    prefix_efficiency: float = 0.0
    latency_ms: float = 0.0
    assessment: QualityAssessment | None = None

    @classmethod
    def of(cls, scenario: Scenario, response: AgentResponse) -> ScenarioResult:
        return cls(
            name=scenario.name,
            query=scenario.query,
            content=response.content,
            successful=response.is_successful,
            error=response.error_message,
            tool_calls=response.tool_calls,
            reasoning_steps=response.reasoning_steps,
            prompt_tokens=response.usage.prompt_tokens,
            cached_tokens=response.usage.cached_tokens,
            completion_tokens=response.usage.completion_tokens,
            cache_hit_rate=response.cache_hit_rate,
            prefix_efficiency=response.prefix_efficiency,
            latency_ms=response.latency_ms,
        )


class DemoReport(BaseModel):
    engine: str
    model: str
    scenarios: list[ScenarioResult]
    status: AgentStatus


def run_demo(
    engine: Engine,
    *,
    progress: Callable[[str], None] = lambda _: None,
    answer_tokens: int = 96,
    max_iterations: int = 4,
) -> DemoReport:
    """Run every scenario on `engine` with the tutorial's tools and instructions, and collect the numbers.
    Each scenario but the cache test's follow-ups is a branch of one conversation tree,
    forked at the system prompt."""
    from radixagent.feedback import LLMJudge
    from radixagent.tools.builtin import builtin_tools

    agent = Agent(engine, instructions=TUTORIAL_INSTRUCTIONS, decision=DecisionSettings(answer_tokens=answer_tokens, argument_tokens=96))
    for tool in builtin_tools(engine):
        agent.add_tool(tool)
    results: list[ScenarioResult] = []
    for i, scenario in enumerate(SCENARIOS, 1):
        progress(f"[{i}/{len(SCENARIOS)}] {scenario.name}")
        root = agent.memory.root_id
        if root is not None and not scenario.continues:
            agent.memory.branch_from_node(root)
        response = agent.run_sync(scenario.query, max_iterations=max_iterations)
        result = ScenarioResult.of(scenario, response)
        if scenario.name == "translation" and response.is_successful:
            progress(f"[{i}/{len(SCENARIOS)}] {scenario.name}: the judge assesses the answer")
            agent.add_feedback(scenario.query, response.content, rating=4.0, comment="rated by the demo")
            try:
                judged = LLMJudge(engine).assess(scenario.query, response.content)
            except JudgeError as exc:  # the demo goes on; the report says there is no assessment
                progress(f"[{i}/{len(SCENARIOS)}] {scenario.name}: {exc}")
            else:
                agent.add_quality_assessment(judged)
                result.assessment = judged
        results.append(result)
    progress("status report")
    info = engine.model_info_sync()
    return DemoReport(engine=engine.name, model=info.name, scenarios=results, status=agent.status())
