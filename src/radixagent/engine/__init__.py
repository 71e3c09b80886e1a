"""Engines: one interface (`Engine`) over the embedded llama.cpp engine, SGLang, any
OpenAI-compatible server, and a scripted engine for tests; `EngineWrapper` is the base of an
engine that adds something around another."""

from radixagent.engine.base import Engine, EngineWrapper, Prompt
from radixagent.engine.embedded import EmbeddedEngine
from radixagent.engine.factory import create_engine
from radixagent.engine.openai_compat import OpenAICompatibleEngine
from radixagent.engine.reasoning import ReasoningFormat, ReasoningSplit, split_reasoning
from radixagent.engine.scripted import ScriptedEngine
from radixagent.engine.sglang import SGLangEngine
from radixagent.engine.types import (
    ChatMessage,
    ChoicesConstraint,
    ChoiceScore,
    Completion,
    Constraint,
    EngineHealth,
    FinishReason,
    GrammarConstraint,
    JsonSchemaConstraint,
    ModelInfo,
    RegexConstraint,
    SamplingParams,
    ScoreResult,
    StreamChunk,
    Timings,
    TokenLogprob,
    TopLogprob,
    Usage,
)

__all__ = [
    "ChatMessage",
    "ChoiceScore",
    "ChoicesConstraint",
    "Completion",
    "Constraint",
    "EmbeddedEngine",
    "Engine",
    "EngineHealth",
    "EngineWrapper",
    "FinishReason",
    "GrammarConstraint",
    "JsonSchemaConstraint",
    "ModelInfo",
    "OpenAICompatibleEngine",
    "Prompt",
    "ReasoningFormat",
    "ReasoningSplit",
    "RegexConstraint",
    "SamplingParams",
    "ScoreResult",
    "SGLangEngine",
    "ScriptedEngine",
    "StreamChunk",
    "Timings",
    "TokenLogprob",
    "TopLogprob",
    "Usage",
    "create_engine",
    "split_reasoning",
]
