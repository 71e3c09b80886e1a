"""The agent: the loop (decide -> validate -> act -> observe -> answer) over one engine.

`Agent` holds the tools, the memory and the observers; `Run` is one run's state; the events
are what observers hear; `AgentStatus` is the status at a glance.
"""

from radixagent.agent.agent import DEFAULT_INSTRUCTIONS, Agent, ToolLike
from radixagent.agent.events import (
    AgentEvent,
    EventHandler,
    FailureEvent,
    RunEndEvent,
    StepEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from radixagent.agent.status import AgentStatus, FailureSummary

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "Agent",
    "AgentEvent",
    "AgentStatus",
    "EventHandler",
    "FailureEvent",
    "FailureSummary",
    "RunEndEvent",
    "StepEvent",
    "ToolCallEvent",
    "ToolLike",
    "ToolResultEvent",
]
