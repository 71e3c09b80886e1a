"""`SGLangAgent`: the API of the tutorial "LLM Agent Serving with SGLang", on `Agent`.

    agent = SGLangAgent(model_name="openai/gpt-oss-20b", host="localhost", port=30000)
    agent = SGLangAgent()                   # the embedded default, no server needed
    agent.tool_manager.register_tool(ToolDefinition(schema=ToolSchema(...), callable=fn))
    response = agent.run("...", max_iterations=10)
    agent.add_feedback(query, response.content, rating=4.5, comment="...")
    agent.add_quality_assessment(QualityAssessment(...))
    agent.get_agent_status(); agent.memory.get_statistics()

The tutorial's `run` is synchronous; `arun` is the same run for async code.
"""

from __future__ import annotations

from typing import Any

from radixagent.agent import Agent
from radixagent.compat.recovery import AdaptiveRecovery
from radixagent.compat.schemas import AgentResponse
from radixagent.engine import Engine
from radixagent.feedback import FeedbackCollector
from radixagent.memory import RadixMemory
from radixagent.schemas import QualityAssessment
from radixagent.tools import ToolRegistry

TUTORIAL_INSTRUCTIONS = (
    "You are an AI assistant that produces structured output. Analyse the user's question and use "
    "tools where needed to give an accurate answer."
)


class SGLangAgent:
    """The tutorial's agent. With `host`/`port` it uses that SGLang server; with `engine`,
    any engine; with neither, the embedded default. Other keyword arguments go to `Agent`."""

    def __init__(
        self,
        model_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        *,
        engine: Engine | None = None,
        api_key: str | None = None,
        **options: Any,
    ) -> None:
        if engine is None and (host is not None or port is not None):
            from radixagent.engine.sglang import SGLangEngine

            engine = SGLangEngine(f"http://{host or 'localhost'}:{port or 30000}", model=model_name, api_key=api_key)
        options.setdefault("instructions", TUTORIAL_INSTRUCTIONS)
        self.model_name = model_name
        self.agent = Agent(engine, **options)
        self.recovery = AdaptiveRecovery(log=self.agent.failures)

    @property
    def tool_manager(self) -> ToolRegistry:
        return self.agent.tool_manager

    @property
    def memory(self) -> RadixMemory:
        return self.agent.memory

    @property
    def feedback_collector(self) -> FeedbackCollector:
        return self.agent.feedback

    @property
    def engine(self) -> Engine:
        return self.agent.base_engine

    def run(self, user_input: str, max_iterations: int = 10) -> AgentResponse:
        return AgentResponse.of(self.agent.run_sync(user_input, max_iterations=max_iterations))

    async def arun(self, user_input: str, max_iterations: int = 10) -> AgentResponse:
        return AgentResponse.of(await self.agent.run(user_input, max_iterations=max_iterations))

    def add_feedback(self, query: str, response: str, rating: float, comment: str = "") -> None:
        self.agent.add_feedback(query, response, rating, comment)

    def add_quality_assessment(self, assessment: QualityAssessment) -> None:
        self.agent.add_quality_assessment(assessment)

    def get_agent_status(self) -> dict[str, Any]:
        """The agent's status as the tutorial's dict: memory_stats, tool_stats, recovery_stats,
        feedback_summary and failure_patterns, JSON-friendly."""
        status = self.agent.status()
        summary = status.feedback_summary
        ratings = summary.average_ratings.model_dump()
        return {
            "engine": status.engine,
            "registered_tools": status.registered_tools,
            "memory_stats": status.memory_stats.model_dump(mode="json"),
            "tool_stats": status.tool_stats.model_dump(mode="json"),
            "recovery_stats": self.recovery.get_recovery_statistics().model_dump(mode="json"),
            "engine_recovery": status.engine_recovery.model_dump(mode="json") if status.engine_recovery else None,
            "feedback_summary": {
                "total_feedback_count": summary.total_feedback_count,
                "quality_assessment_count": summary.quality_assessment_count,
                "run_count": summary.run_count,
                "average_ratings": {k: v for k, v in ratings.items() if isinstance(v, float)},
                "recommendations": [str(r) for r in summary.recommendations],
                "performance": summary.performance_summary.model_dump(mode="json"),
            },
            "failure_patterns": self.recovery.analyze_failure_patterns(),
        }

    def close(self) -> None:
        self.agent.close()
