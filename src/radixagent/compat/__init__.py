"""The API of the tutorial "LLM Agent Serving with SGLang", built on the core.

Its cells run unchanged against these names: `SGLangAgent`, its `ToolCall` (a decision and a
call in one), `StructuredValidator`, `AdaptiveRecovery`, and a status dict. The core knows
nothing of this package; new code uses `radixagent.Agent` and its typed objects.
"""

from radixagent.compat.agent import SGLangAgent
from radixagent.compat.recovery import AdaptiveRecovery, RecoveryStatistics
from radixagent.compat.schemas import AgentResponse, ToolArgument, ToolCall, ToolCallDecision
from radixagent.compat.validation import StructuredValidator
from radixagent.schemas import Message, QualityAssessment, ToolDefinition, ToolSchema, ValidationResult

__all__ = [
    "AdaptiveRecovery",
    "AgentResponse",
    "Message",
    "QualityAssessment",
    "RecoveryStatistics",
    "SGLangAgent",
    "StructuredValidator",
    "ToolArgument",
    "ToolCall",
    "ToolCallDecision",
    "ToolDefinition",
    "ToolSchema",
    "ValidationResult",
]
