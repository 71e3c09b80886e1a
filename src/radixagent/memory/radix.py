"""`RadixMemory`: the tutorial's memory, made real.

A facade over one session's `ConversationTree`, the `Store` that persists it, and the
engine's usage numbers. Its cache hit rate is the engine's own (`cached_tokens / prompt_tokens`),
never a count of client-side lookups; its prefix efficiency (`cached / cacheable`) says how much
of what *could* have been reused the engine actually reused.

Every change is written to the store before it is applied in memory, so the in-memory tree
never holds what the store lost; `RadixMemory.load(store, session_id)` restores a session
after a restart.
"""

from __future__ import annotations

import threading
from collections.abc import ItemsView, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from radixagent.engine.types import Usage
from radixagent.errors import InputError, NodeNotFoundError
from radixagent.memory.sqlite import SQLiteStore
from radixagent.memory.store import ApprovalRecord, SessionRecord, Store, UsageRecord
from radixagent.memory.tree import (
    Branch,
    CompactionPlan,
    ConversationNode,
    ConversationTree,
    PromptPrefix,
    PromptRecord,
    fork_branches,
    make_node,
    new_message,
    plan_compaction,
)
from radixagent.schemas import ApprovalDecisionKind, Message, MessagePart, MessageRole, ToolSchema


class MemoryStatistics(BaseModel):
    """What `RadixMemory.get_statistics()` reports."""

    session_id: str | None = None
    total_messages: int = Field(default=0, description="nodes in the tree, the system root included")
    branches: int = Field(default=0, description="distinct root-to-leaf paths")
    max_depth: int = Field(default=0, description="depth of the deepest node (the root is 0)")
    current_depth: int = Field(default=0, description="depth of the current head")
    depth_limit: int = Field(description="the depth at which the branch should be compacted")
    engine_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cacheable_tokens: int = 0
    cache_hit_rate: float = Field(default=0.0, description="engine cached / prompt tokens")
    prefix_efficiency: float = Field(default=0.0, description="engine cached / cacheable tokens")
    compactions: int = 0

    def items(self) -> ItemsView[str, Any]:
        """The statistics as (name, value) pairs, as the tutorial's dict gave them."""
        return self.model_dump().items()


@dataclass(frozen=True)
class EngineCall:
    """One engine call's numbers, to store with the message it produced."""

    usage: Usage
    cacheable_tokens: int
    """How many of its prompt tokens an earlier prompt shared."""
    latency_ms: float


class CompactionResult(BaseModel):
    """What `RadixMemory.compact` did."""

    summary_node_id: str
    head_id: str = Field(description="the new current head, at the end of the compacted branch")
    replaced: int = Field(description="messages the summary stands for")
    kept: int = Field(description="messages copied after the summary")


class RadixMemory:
    """One session's conversation tree, persisted, with the engine's cache numbers.

    `RadixMemory()` keeps everything in a throwaway in-memory database; pass a `store`
    (e.g. `SQLiteStore()`, a file under the data directory) for sessions that survive a restart.
    """

    def __init__(
        self,
        max_depth: int = 50,
        *,
        store: Store | None = None,
        title: str = "",
        tools: Sequence[ToolSchema] = (),
        engine_settings: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> None:
        if max_depth < 1:
            raise InputError(f"max_depth must be at least 1, not {max_depth}.")
        self.max_depth = max_depth
        """The depth at which `needs_compaction` turns true (the tutorial's limit)."""
        self.store: Store = store if store is not None else SQLiteStore(":memory:")
        self.title = title
        self.tools = list(tools)
        self.engine_settings = dict(engine_settings or {})
        self.owner = owner
        """Stored with a new session: who may see it (a server stores a hash of the API key)."""
        self._lock = threading.RLock()
        self._tree: ConversationTree | None = None
        self._session_id: str | None = None
        self.updated_at: datetime | None = None
        """The session's `updated_at` as this memory's last write set it (None before one)."""

    # --- sessions ------------------------------------------------------------------------

    @classmethod
    def load(cls, store: Store, session_id: str, *, max_depth: int = 50) -> RadixMemory:
        """Restore a stored session: its whole tree, its current head, its usage."""
        session = store.get_session(session_id)
        nodes = store.load_nodes(session_id)
        memory = cls(
            max_depth,
            store=store,
            title=session.title,
            tools=session.tools,
            engine_settings=session.engine_settings,
            owner=session.owner,
        )
        memory._tree = ConversationTree.from_nodes(nodes, session.head_node_id)
        memory._session_id = session_id
        return memory

    @property
    def session_id(self) -> str | None:
        """The stored session's id; None until the first message."""
        return self._session_id

    @property
    def tree(self) -> ConversationTree | None:
        """The conversation tree (read it; change it through this object so the store follows)."""
        return self._tree

    def initialize_with_system(self, system_message: str) -> str:
        """Start a conversation with this system message; returns the root node's id.

        On a memory that already holds a conversation this starts a new session: the old one
        stays in the store."""
        with self._lock:
            tree = ConversationTree(system_message)
            session = SessionRecord(
                title=self.title,
                tools=self.tools,
                engine_settings=self.engine_settings,
                system_prompt=system_message,
                owner=self.owner,
            )
            self.store.create_session(session, tree.root)
            self._tree, self._session_id = tree, session.id
            return tree.root_id

    def _require_tree(self) -> ConversationTree:
        if self._tree is None:
            self.initialize_with_system("")
        assert self._tree is not None
        return self._tree

    # --- adding messages -----------------------------------------------------------------

    def add_message(
        self,
        role: MessageRole,
        content: str,
        parts: Sequence[MessagePart] = (),
        *,
        prompt: PromptRecord | None = None,
        call: EngineCall | None = None,
        node_id: str | None = None,
    ) -> str:
        """Append a message to the current branch and move the head to it; returns its id.

        Assistant messages may carry the exact engine `prompt` record that produced them, and
        the engine `call`'s numbers, stored with the message in one write. `node_id`: the
        node's id, when the caller derives it (a retried request's message keeps its id)."""
        return self.add_messages([(new_message(role, content, parts), node_id)], prompt=prompt, call=call)

    def add_messages(
        self,
        messages: Sequence[tuple[Message, str | None]],
        *,
        prompt: PromptRecord | None = None,
        call: EngineCall | None = None,
    ) -> str:
        """Append messages, each with its node id (None: a new one), one after the other to the
        current branch and move the head to the last, in one write (a turn's user message and
        the reply it got are one commit); returns the last id. `prompt` and `call` are the
        last message's, as in `add_message`."""
        with self._lock:
            return self._append(self._require_tree().head_id, messages, prompt, move_head=True, call=call)[-1].id

    def append(self, parent_id: str, message: Message, *, prompt: PromptRecord | None = None) -> ConversationNode:
        """Add a message under `parent_id` without moving the current head (what a `Branch`
        from `fork` uses)."""
        with self._lock:
            return self._append(parent_id, [(message, None)], prompt, move_head=False)[-1]

    def _append(
        self,
        parent_id: str,
        messages: Sequence[tuple[Message, str | None]],
        prompt: PromptRecord | None,
        *,
        move_head: bool,
        call: EngineCall | None = None,
    ) -> list[ConversationNode]:
        if not messages:
            raise InputError("add_messages needs at least one message.")
        tree = self._require_tree()
        parent, nodes = tree.get(parent_id), list[ConversationNode]()
        for i, (message, node_id) in enumerate(messages):
            parent = make_node(parent, message, prompt=prompt if i == len(messages) - 1 else None, node_id=node_id)
            nodes.append(parent)
        assert self._session_id is not None
        last = nodes[-1].id
        usage = [self._usage_record(call, last)] if call is not None else []
        self.updated_at = self.store.add_nodes(self._session_id, nodes, head_id=last if move_head else None, usage=usage)
        tree.attach(nodes)
        if move_head:
            tree.branch_from_node(last)
        return nodes

    # --- reading -------------------------------------------------------------------------

    def get_conversation_history(self, node_id: str | None = None) -> list[Message]:
        """The messages of the current branch (or the branch ending at `node_id`), system first."""
        if self._tree is None:
            return []
        return self._tree.messages(node_id)

    def get_node(self, node_id: str) -> ConversationNode:
        if self._tree is None:
            raise NodeNotFoundError(node_id)
        return self._tree.get(node_id)

    def path_to_root(self, node_id: str) -> list[ConversationNode]:
        if self._tree is None:
            raise NodeNotFoundError(node_id)
        return self._tree.path_to_root(node_id)

    @property
    def current_node_id(self) -> str | None:
        return self._tree.head_id if self._tree is not None else None

    @property
    def root_id(self) -> str | None:
        return self._tree.root_id if self._tree is not None else None

    def prompt_prefix(self, node_id: str | None = None) -> PromptPrefix | None:
        """The last exact engine prompt of a branch and what followed it (see `PromptPrefix`)."""
        if self._tree is None:
            return None
        return self._tree.prompt_prefix(node_id)

    @property
    def needs_compaction(self) -> bool:
        """Whether the current branch has reached `max_depth` messages."""
        return self._tree is not None and self._tree.head.depth >= self.max_depth

    # --- branching -----------------------------------------------------------------------

    def branch_from_node(self, node_id: str) -> bool:
        """Move the current head to `node_id`, so the next message starts a new branch there.
        False (and nothing changes) when there is no such node, as in the tutorial."""
        with self._lock:
            if self._tree is None or node_id not in self._tree:
                return False
            assert self._session_id is not None
            self.updated_at = self.store.set_head(self._session_id, node_id)
            self._tree.branch_from_node(node_id)
            return True

    def fork(self, node_id: str | None = None, n: int = 2) -> list[Branch]:
        """`n` branches sharing the path to `node_id` (default: the current head), each grown
        on its own (`branch.add_message`) and persisted; the current head does not move."""
        tree = self._require_tree()
        return fork_branches(self, tree.head_id if node_id is None else node_id, n, tree.get)

    # --- compaction ----------------------------------------------------------------------

    def compact(self, keep_last: int, summary: str, *, role: MessageRole = "system") -> CompactionResult:
        """Replace the current branch's older turns by `summary`, keeping the last `keep_last`
        messages: a new branch system -> summary -> kept messages becomes current. The original
        nodes stay in the tree (and in the store)."""
        with self._lock:
            tree = self._require_tree()
            plan: CompactionPlan = plan_compaction(tree, keep_last, summary, role=role)
            assert self._session_id is not None
            self.updated_at = self.store.add_nodes(self._session_id, plan.nodes, head_id=plan.head_id)
            tree.attach(plan.nodes)
            tree.branch_from_node(plan.head_id)
            return CompactionResult(
                summary_node_id=plan.summary.id,
                head_id=plan.head_id,
                replaced=len(plan.replaced_ids),
                kept=len(plan.kept),
            )

    # --- the engine's numbers ------------------------------------------------------------

    def record_usage(
        self,
        usage: Usage,
        cacheable_tokens: int,
        latency_ms: float,
        *,
        node_id: str | None = None,
    ) -> UsageRecord:
        """Store one engine call's usage as the engine reported it. `cacheable_tokens` is how
        many of its prompt tokens an earlier prompt shared (see `common_prefix_length`);
        `node_id` is the message the call produced, if any (`add_message(call=...)` stores the
        message and its call's usage in one write)."""
        with self._lock:
            self._require_tree()
            return self.store.add_usage(self._usage_record(EngineCall(usage, cacheable_tokens, latency_ms), node_id))

    def _usage_record(self, call: EngineCall, node_id: str | None) -> UsageRecord:
        usage, cacheable_tokens, latency_ms = call.usage, call.cacheable_tokens, call.latency_ms
        if cacheable_tokens < 0 or cacheable_tokens > usage.prompt_tokens:
            raise InputError(
                f"cacheable_tokens must be between 0 and the call's {usage.prompt_tokens} prompt tokens, "
                f"not {cacheable_tokens}."
            )
        if latency_ms < 0:
            raise InputError(f"latency_ms cannot be negative ({latency_ms}).")
        assert self._session_id is not None
        return UsageRecord(
            session_id=self._session_id,
            node_id=node_id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            cacheable_tokens=cacheable_tokens,
            latency_ms=latency_ms,
        )

    # --- approvals -----------------------------------------------------------------------

    def record_approval(self, node_id: str, call_id: str, decision: ApprovalDecisionKind, reason: str = "") -> ApprovalRecord:
        """Store a person's decision on a call of the turn `node_id` that waits for approval."""
        with self._lock:
            self._require_tree()
            assert self._session_id is not None
            record = ApprovalRecord(session_id=self._session_id, node_id=node_id, call_id=call_id, decision=decision, reason=reason)
            return self.store.add_approval(record)

    def approvals(self) -> list[ApprovalRecord]:
        """Every decision on this session's calls, oldest first."""
        return self.store.list_approvals(self._session_id) if self._session_id is not None else []

    def get_cache_hit_rate(self) -> float:
        """Engine-reported cached tokens / prompt tokens over this session's calls."""
        if self._session_id is None:
            return 0.0
        return self.store.usage_totals(self._session_id).cache_hit_rate

    def get_prefix_efficiency(self) -> float:
        """Engine-reported cached tokens / cacheable tokens over this session's calls."""
        if self._session_id is None:
            return 0.0
        return self.store.usage_totals(self._session_id).prefix_efficiency

    def get_statistics(self) -> MemoryStatistics:
        tree = self._tree
        if tree is None or self._session_id is None:
            return MemoryStatistics(depth_limit=self.max_depth)
        totals = self.store.usage_totals(self._session_id)
        return MemoryStatistics(
            session_id=self._session_id,
            total_messages=len(tree),
            branches=len(tree.leaves()),
            max_depth=tree.max_depth,
            current_depth=tree.head.depth,
            depth_limit=self.max_depth,
            engine_calls=totals.calls,
            prompt_tokens=totals.prompt_tokens,
            completion_tokens=totals.completion_tokens,
            cached_tokens=totals.cached_tokens,
            cacheable_tokens=totals.cacheable_tokens,
            cache_hit_rate=totals.cache_hit_rate,
            prefix_efficiency=totals.prefix_efficiency,
            compactions=tree.compactions,
        )

    def clear(self) -> None:
        """Forget this conversation: its tree and usage are deleted from the store. The next
        message starts a new session."""
        with self._lock:
            if self._session_id is not None:
                self.store.delete_session(self._session_id)
            self._tree, self._session_id = None, None
