"""radixagent: typed, tool-using LLM agents on open models, served over HTTP."""

from radixagent.agent import Agent
from radixagent.decision import DecisionSettings, DecisionStrategy
from radixagent.engine import (
    ChatMessage,
    ChoicesConstraint,
    Completion,
    Engine,
    JsonSchemaConstraint,
    RegexConstraint,
    SamplingParams,
    ScriptedEngine,
    Usage,
)
from radixagent.errors import (
    ConfigurationError,
    ConstraintError,
    ContextOverflowError,
    EmptyPromptError,
    EngineError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InputError,
    ModelError,
    ModelLoadError,
    ModelNotFoundError,
    RadixAgentError,
)
from radixagent.memory import RadixMemory
from radixagent.schemas import (
    AgentResponse,
    Message,
    QualityAssessment,
    ToolCall,
    ToolCallDecision,
    ToolDefinition,
    ToolSchema,
    ValidationResult,
)
from radixagent.sglang_agent import SGLangAgent
from radixagent.tools import ToolRegistry

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentResponse",
    "DecisionSettings",
    "DecisionStrategy",
    "Message",
    "QualityAssessment",
    "RadixMemory",
    "SGLangAgent",
    "ToolCall",
    "ToolCallDecision",
    "ToolDefinition",
    "ToolRegistry",
    "ToolSchema",
    "ValidationResult",
    "ChatMessage",
    "ChoicesConstraint",
    "Completion",
    "ConfigurationError",
    "ConstraintError",
    "ContextOverflowError",
    "EmptyPromptError",
    "Engine",
    "EngineError",
    "EngineHTTPError",
    "EngineResponseError",
    "EngineTimeoutError",
    "EngineUnavailableError",
    "InputError",
    "JsonSchemaConstraint",
    "ModelError",
    "ModelLoadError",
    "ModelNotFoundError",
    "RadixAgentError",
    "RegexConstraint",
    "SamplingParams",
    "ScriptedEngine",
    "Usage",
    "__version__",
]
