"""Engines: one interface (`Engine`) over the embedded llama.cpp engine, SGLang, any
OpenAI-compatible server, and a scripted engine for tests."""

from radixagent.engine.base import Engine, Prompt
from radixagent.engine.scripted import ScriptedEngine
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
    "Engine",
    "EngineHealth",
    "FinishReason",
    "GrammarConstraint",
    "JsonSchemaConstraint",
    "ModelInfo",
    "Prompt",
    "RegexConstraint",
    "SamplingParams",
    "ScoreResult",
    "ScriptedEngine",
    "StreamChunk",
    "Timings",
    "TokenLogprob",
    "TopLogprob",
    "Usage",
]
