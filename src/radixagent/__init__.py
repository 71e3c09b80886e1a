"""radixagent: typed, tool-using LLM agents on open models, served over HTTP."""

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

__version__ = "0.1.0"

__all__ = [
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
