"""radixagent: typed, tool-using LLM agents on open models, served over HTTP.

    from radixagent import Agent

    agent = Agent()                           # the embedded llama.cpp engine and bundled model

    @agent.tool
    def get_weather(city: str) -> str:
        "Current weather in a city."
        return "sunny, 21 C"

    print(agent.run_sync("What is the weather in Paris?").content)

The engines (`create_engine("embedded" | URL)`, `SGLangEngine`, ...), the one-shot
`ChatCompleter`, the stores and every exception are importable from here. The tutorial's own
API (`SGLangAgent`, its `ToolCall`, `StructuredValidator`) is in `radixagent.compat`.
"""

from typing import TYPE_CHECKING, Any

from radixagent.agent import Agent, AgentEvent, AgentStatus, ApprovalPolicy
from radixagent.chat import ChatCompleter
from radixagent.compat import SGLangAgent
from radixagent.decision import Decision, DecisionSettings, DecisionStrategy
from radixagent.engine import (
    ChatMessage,
    ChoicesConstraint,
    Completion,
    EmbeddedEngine,
    Engine,
    GrammarConstraint,
    JsonSchemaConstraint,
    OpenAICompatibleEngine,
    RegexConstraint,
    SamplingParams,
    ScriptedEngine,
    SGLangEngine,
    Usage,
    create_engine,
)
from radixagent.errors import (
    ApprovalNotFoundError,
    ApprovalPendingError,
    AuthenticationError,
    BodyTimeoutError,
    ChatInputError,
    CircuitOpenError,
    CodeExecutionDisabledError,
    ConfigurationError,
    ConstraintError,
    ContextOverflowError,
    CsrfTokenError,
    CutOffError,
    DecisionError,
    EmptyPromptError,
    EngineCapabilityError,
    EngineError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    EventFeedFullError,
    InputError,
    JudgeError,
    MCPConnectionError,
    MCPToolError,
    ModelError,
    ModelLoadError,
    ModelNotFoundError,
    NodeNotFoundError,
    OutputValidationError,
    RadixAgentError,
    RequestLimitError,
    RequestTimeoutError,
    RequestTooLargeError,
    SandboxUnavailableError,
    SchemaVersionError,
    ServerBusyError,
    ServerShuttingDownError,
    SessionNotFoundError,
    StoreError,
    StoreUnavailableError,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolExecutionError,
    ToolTimeoutError,
    UnknownToolError,
)
from radixagent.memory import RadixMemory, SQLiteStore, Store, open_store
from radixagent.schemas import (
    AgentResponse,
    AnswerPart,
    ApprovalRequestPart,
    Approve,
    DecisionPart,
    Deny,
    Message,
    MessagePart,
    ObservationPart,
    PendingApproval,
    QualityAssessment,
    SummaryPart,
    SystemPromptPart,
    ToolCall,
    ToolCallPart,
    ToolCallRecord,
    ToolDefinition,
    ToolResultPart,
    ToolSchema,
    UserTextPart,
    ValidationResult,
)
from radixagent.tools import ToolRegistry

if TYPE_CHECKING:
    from radixagent.memory.postgres import PostgresStore

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Imported on first use: the PostgreSQL store needs the optional `radixagent[postgres]` extra.
    if name == "PostgresStore":
        from radixagent.memory.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'radixagent' has no attribute {name!r}")


__all__ = [
    # agents
    "Agent",
    "AgentEvent",
    "AgentResponse",
    "AgentStatus",
    "ChatCompleter",
    "Decision",
    "DecisionSettings",
    "DecisionStrategy",
    "SGLangAgent",
    # approvals
    "ApprovalPolicy",
    "Approve",
    "Deny",
    "PendingApproval",
    # tools
    "ToolCall",
    "ToolCallRecord",
    "ToolDefinition",
    "ToolRegistry",
    "ToolSchema",
    # the conversation
    "AnswerPart",
    "ApprovalRequestPart",
    "DecisionPart",
    "Message",
    "MessagePart",
    "ObservationPart",
    "SummaryPart",
    "SystemPromptPart",
    "ToolCallPart",
    "ToolResultPart",
    "UserTextPart",
    "QualityAssessment",
    "ValidationResult",
    # memory and stores
    "PostgresStore",
    "RadixMemory",
    "SQLiteStore",
    "Store",
    "open_store",
    # engines
    "ChatMessage",
    "ChoicesConstraint",
    "Completion",
    "EmbeddedEngine",
    "Engine",
    "GrammarConstraint",
    "JsonSchemaConstraint",
    "OpenAICompatibleEngine",
    "RegexConstraint",
    "SGLangEngine",
    "SamplingParams",
    "ScriptedEngine",
    "Usage",
    "create_engine",
    # errors
    "ApprovalNotFoundError",
    "ApprovalPendingError",
    "AuthenticationError",
    "BodyTimeoutError",
    "ChatInputError",
    "CircuitOpenError",
    "CodeExecutionDisabledError",
    "ConfigurationError",
    "ConstraintError",
    "ContextOverflowError",
    "CsrfTokenError",
    "CutOffError",
    "DecisionError",
    "EmptyPromptError",
    "EngineCapabilityError",
    "EngineError",
    "EngineHTTPError",
    "EngineResponseError",
    "EngineTimeoutError",
    "EngineUnavailableError",
    "EventFeedFullError",
    "InputError",
    "JudgeError",
    "MCPConnectionError",
    "MCPToolError",
    "ModelError",
    "ModelLoadError",
    "ModelNotFoundError",
    "NodeNotFoundError",
    "OutputValidationError",
    "RadixAgentError",
    "RequestLimitError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "SandboxUnavailableError",
    "SchemaVersionError",
    "ServerBusyError",
    "ServerShuttingDownError",
    "SessionNotFoundError",
    "StoreError",
    "StoreUnavailableError",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "ToolExecutionError",
    "ToolTimeoutError",
    "UnknownToolError",
    "__version__",
]
