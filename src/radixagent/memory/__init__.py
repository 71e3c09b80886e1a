"""Memory: the conversation tree, its persistence, and the engine's cache numbers.

ConversationTree   one session's messages as a tree (pure data, in memory)
RadixMemory        the tree + a Store + usage: what the agent uses
Store              the persistence interface; SQLiteStore is the default, PostgresStore
                   shares one database between server replicas; open_store picks one
"""

from typing import TYPE_CHECKING, Any

from radixagent.memory.open import open_store
from radixagent.memory.radix import CompactionResult, MemoryStatistics, RadixMemory
from radixagent.memory.schema import SCHEMA_VERSION
from radixagent.memory.sqlite import SQLiteStore, default_db_path
from radixagent.memory.store import (
    ApprovalRecord,
    AssessmentRecord,
    FeedbackRecord,
    RequestRecord,
    RunMetrics,
    SessionRecord,
    Store,
    ToolCallMetric,
    UsageRecord,
    UsageTotals,
)
from radixagent.memory.tree import (
    Branch,
    CompactionPlan,
    ConversationNode,
    ConversationTree,
    PromptPrefix,
    PromptRecord,
)

if TYPE_CHECKING:
    from radixagent.memory.postgres import PostgresStore as PostgresStore


def __getattr__(name: str) -> Any:
    """PostgresStore loads psycopg only when asked for."""
    if name == "PostgresStore":
        from radixagent.memory.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "ApprovalRecord",
    "AssessmentRecord",
    "Branch",
    "CompactionPlan",
    "CompactionResult",
    "ConversationNode",
    "ConversationTree",
    "FeedbackRecord",
    "MemoryStatistics",
    "PostgresStore",
    "PromptPrefix",
    "PromptRecord",
    "RadixMemory",
    "RequestRecord",
    "RunMetrics",
    "SQLiteStore",
    "SessionRecord",
    "Store",
    "ToolCallMetric",
    "UsageRecord",
    "UsageTotals",
    "default_db_path",
    "open_store",
]
