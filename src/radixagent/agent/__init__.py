"""The agent: the loop (decide -> validate -> act -> observe -> answer) over one engine.

`Agent` holds the tools, the memory and the observers; `Run` is one run's state; the events
are what observers hear; `ApprovalPolicy` says which tool calls wait for a person's approval;
`AgentStatus` is the status at a glance.
"""

from radixagent.agent.agent import DEFAULT_INSTRUCTIONS, Agent, ToolLike
from radixagent.agent.approval import ApprovalPolicy, ApprovalRule
from radixagent.agent.events import (
    AgentEvent,
    ApprovalRequestEvent,
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
    "ApprovalPolicy",
    "ApprovalRequestEvent",
    "ApprovalRule",
    "EventHandler",
    "FailureEvent",
    "FailureSummary",
    "RunEndEvent",
    "StepEvent",
    "ToolCallEvent",
    "ToolLike",
    "ToolResultEvent",
]
