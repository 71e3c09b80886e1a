"""A conversation as a tree: one session's messages, every branch sharing its prefix.

The root is the system message. A branch is the path from the root to a head node; the
tree keeps one current head (the tutorial's `current_node`), and `fork` hands out more heads
that grow on their own, so several continuations of one prefix can run in parallel. Nodes
are never removed or rewritten: branching and compaction only add nodes, which keeps every
prompt the engine has seen reproducible.

Assistant nodes can carry a `PromptRecord`: the exact prompt the engine was sent and the
exact tokens it generated. The next prompt of that branch is then built as an exact
extension of it (see `PromptPrefix`), which is what lets the engine's prefix cache reuse it.

The tree is pure data in memory; `radixagent.memory.radix.RadixMemory` persists it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from radixagent.errors import InputError, NodeNotFoundError
from radixagent.schemas import Message, MessagePart, MessageRole, SummaryPart, new_id

NodeKind = Literal["message", "summary"]


def _now() -> datetime:
    return datetime.now(UTC)


class PromptRecord(BaseModel):
    """What the engine saw and produced for one assistant turn, exactly.

    `prompt_token_ids` + `output_token_ids` (or `prompt_text` + `output_text` for engines that
    take text) is the prefix the branch's next prompt must start with."""

    model_config = ConfigDict(frozen=True)

    prompt_text: str | None = None
    prompt_token_ids: list[int] | None = None
    output_token_ids: list[int] | None = None
    output_text: str | None = Field(
        default=None, description="the generated text as the engine returned it (may differ from the message content)"
    )


class ConversationNode(BaseModel):
    """One message in the tree."""

    id: str = Field(default_factory=new_id)
    parent_id: str | None = None
    message: Message
    children: list[str] = Field(default_factory=list, description="child node ids, oldest first")
    depth: int = Field(default=0, ge=0, description="0 for the system root, parent depth + 1 below it")
    created_at: datetime = Field(default_factory=_now)
    kind: NodeKind = Field(default="message", description="'summary' for a node made by compaction")
    source_id: str | None = Field(default=None, description="the node this one copies (a turn kept by compaction)")
    prompt: PromptRecord | None = Field(default=None, description="the exact engine prompt (assistant nodes)")

    @property
    def role(self) -> MessageRole:
        return self.message.role

    @property
    def content(self) -> str:
        return self.message.content


class PromptPrefix(BaseModel):
    """How to build a branch's next prompt as an exact extension of the last one.

    `token_ids` (or `text`) is the last recorded prompt plus what the engine generated for it;
    `new_messages` are the branch's messages after that turn, to render and append."""

    node_id: str = Field(description="the assistant node whose prompt and output form the prefix")
    token_ids: list[int] | None = None
    text: str | None = None
    new_messages: list[Message] = Field(default_factory=list)


class _BranchOwner(Protocol):
    def append(self, parent_id: str, message: Message, *, prompt: PromptRecord | None = None) -> ConversationNode: ...

    def path_to_root(self, node_id: str) -> list[ConversationNode]: ...

    def prompt_prefix(self, node_id: str) -> PromptPrefix | None: ...


class Branch:
    """A head that grows on its own: one continuation of a shared prefix (SGLang's `fork`).

    Appending through a branch moves only this branch's head, never the tree's current head,
    so branches can be grown concurrently."""

    def __init__(self, owner: _BranchOwner, head_id: str, *, base_id: str | None = None) -> None:
        self.id = new_id()
        self._owner = owner
        self.base_id = base_id or head_id
        """The node the branch was forked at."""
        self.head_id = head_id

    def add_message(
        self, role: MessageRole, content: str, parts: Sequence[MessagePart] = (), *, prompt: PromptRecord | None = None
    ) -> str:
        """Append a message to this branch; returns the new node's id."""
        node = self._owner.append(self.head_id, new_message(role, content, parts), prompt=prompt)
        self.head_id = node.id
        return node.id

    def nodes(self) -> list[ConversationNode]:
        """The branch's nodes, root first."""
        return self._owner.path_to_root(self.head_id)

    def messages(self) -> list[Message]:
        """The branch's messages, system message first."""
        return [n.message for n in self.nodes()]

    def prompt_prefix(self) -> PromptPrefix | None:
        return self._owner.prompt_prefix(self.head_id)

    def __repr__(self) -> str:
        return f"Branch(id={self.id!r}, base_id={self.base_id!r}, head_id={self.head_id!r})"


def new_message(role: str, content: str, parts: Sequence[MessagePart] = (), *, token_count: int | None = None) -> Message:
    """A message from its role and text (parts default to what the role implies), or InputError."""
    try:
        return Message.model_validate({"role": role, "content": content, "parts": list(parts), "token_count": token_count})
    except ValueError as exc:
        raise InputError(f"Invalid message: {exc}") from exc


def make_node(
    parent: ConversationNode | None,
    message: Message,
    *,
    prompt: PromptRecord | None = None,
    kind: NodeKind = "message",
    source_id: str | None = None,
    node_id: str | None = None,
) -> ConversationNode:
    """A new node under `parent` (not yet linked into any tree): checks what a user can get wrong.
    `node_id`: the node's id when the caller chose it (default: a new uuid)."""
    if parent is None and message.role != "system":
        raise InputError(f"The root of a conversation is its system message, not a {message.role!r} message.")
    if prompt is not None and message.role != "assistant":
        raise InputError(f"Only assistant messages carry an engine prompt record, not {message.role!r} messages.")
    return ConversationNode(
        id=node_id or new_id(),
        parent_id=parent.id if parent else None,
        message=message,
        depth=parent.depth + 1 if parent else 0,
        created_at=message.timestamp,
        kind=kind,
        source_id=source_id,
        prompt=prompt,
    )


class ConversationTree:
    """The messages of one session as a tree, with a current head.

    Thread-safe: one lock guards every change, so branches may be grown from several threads."""

    def __init__(self, system_prompt: str = "") -> None:
        self._lock = threading.RLock()
        root = make_node(None, new_message("system", system_prompt))
        self._nodes: dict[str, ConversationNode] = {root.id: root}
        self.root_id = root.id
        self.head_id = root.id

    # --- building ------------------------------------------------------------------------

    @classmethod
    def from_nodes(cls, nodes: Iterable[ConversationNode], head_id: str | None = None) -> ConversationTree:
        """Rebuild a tree from stored nodes (parents before children). Children lists are
        rebuilt from the parent links, in the order given."""
        ordered = list(nodes)
        if not ordered:
            raise InputError("A conversation tree needs at least its system root node.")
        roots = [n for n in ordered if n.parent_id is None]
        if len(roots) != 1:
            raise InputError(f"A conversation tree has exactly one root; these nodes have {len(roots)}.")
        tree = cls.__new__(cls)
        tree._lock = threading.RLock()
        tree._nodes = {}
        for node in ordered:
            copy = node.model_copy(update={"children": []})
            if copy.parent_id is not None:
                parent = tree._nodes.get(copy.parent_id)
                if parent is None:
                    raise NodeNotFoundError(copy.parent_id)
                parent.children.append(copy.id)
            tree._nodes[copy.id] = copy
        tree.root_id = roots[0].id
        tree.head_id = head_id if head_id is not None else tree.root_id
        tree.get(tree.head_id)
        return tree

    def append(self, parent_id: str, message: Message, *, prompt: PromptRecord | None = None) -> ConversationNode:
        """Add a message as a child of `parent_id`; the current head does not move."""
        with self._lock:
            node = make_node(self.get(parent_id), message, prompt=prompt)
            self.attach([node])
            return node

    def attach(self, nodes: Sequence[ConversationNode]) -> None:
        """Link ready-made nodes (parents first) into the tree: all of them or, on an unknown
        parent or a duplicate id, none."""
        with self._lock:
            added: set[str] = set()  # not a copy of every id: a long session attaches often
            for node in nodes:
                if node.id in self._nodes or node.id in added:
                    raise InputError(f"The tree already has a node {node.id!r}.")
                if node.parent_id is None or not (node.parent_id in self._nodes or node.parent_id in added):
                    raise NodeNotFoundError(str(node.parent_id))
                added.add(node.id)
            for node in nodes:
                assert node.parent_id is not None  # checked above
                self._nodes[node.id] = node
                self._nodes[node.parent_id].children.append(node.id)

    def add_message(
        self, role: MessageRole, content: str, parts: Sequence[MessagePart] = (), *, prompt: PromptRecord | None = None
    ) -> ConversationNode:
        """Append a message to the current branch and move the head to it."""
        with self._lock:
            node = self.append(self.head_id, new_message(role, content, parts), prompt=prompt)
            self.head_id = node.id
            return node

    # --- moving around -------------------------------------------------------------------

    def branch_from_node(self, node_id: str) -> ConversationNode:
        """Make `node_id` the current head: the next message starts a new branch there."""
        with self._lock:
            node = self.get(node_id)
            self.head_id = node_id
            return node

    def compact(self, keep_last: int, summary: str, *, role: MessageRole = "system") -> CompactionPlan:
        """Summarise the current branch's older turns (see `plan_compaction`) and move the head
        to the compacted branch. The original nodes stay in the tree."""
        with self._lock:
            plan = plan_compaction(self, keep_last, summary, role=role)
            self.attach(plan.nodes)
            self.head_id = plan.head_id
            return plan

    def fork(self, node_id: str | None = None, n: int = 2) -> list[Branch]:
        """`n` new branches sharing the path to `node_id` (default: the current head)."""
        return fork_branches(self, self.head_id if node_id is None else node_id, n, self.get)

    # --- reading -------------------------------------------------------------------------

    def get(self, node_id: str) -> ConversationNode:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise NodeNotFoundError(node_id) from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    @property
    def root(self) -> ConversationNode:
        return self._nodes[self.root_id]

    @property
    def head(self) -> ConversationNode:
        return self._nodes[self.head_id]

    def nodes(self) -> list[ConversationNode]:
        """Every node, parents before children (insertion order)."""
        with self._lock:
            return list(self._nodes.values())

    def children(self, node_id: str) -> list[ConversationNode]:
        return [self._nodes[c] for c in self.get(node_id).children]

    def path_to_root(self, node_id: str | None = None) -> list[ConversationNode]:
        """The nodes from the root to `node_id` (default: the current head), root first."""
        with self._lock:
            path: list[ConversationNode] = []
            current: ConversationNode | None = self.get(self.head_id if node_id is None else node_id)
            while current is not None:
                path.append(current)
                current = self._nodes[current.parent_id] if current.parent_id is not None else None
            path.reverse()
            return path

    def messages(self, node_id: str | None = None) -> list[Message]:
        """The messages of the branch ending at `node_id` (default: the current head)."""
        return [n.message for n in self.path_to_root(node_id)]

    def leaves(self) -> list[ConversationNode]:
        """Nodes without children: each one ends a distinct branch."""
        with self._lock:
            return [n for n in self._nodes.values() if not n.children]

    @property
    def max_depth(self) -> int:
        with self._lock:
            return max(n.depth for n in self._nodes.values())

    @property
    def compactions(self) -> int:
        with self._lock:
            return sum(1 for n in self._nodes.values() if n.kind == "summary")

    def prompt_prefix(self, node_id: str | None = None) -> PromptPrefix | None:
        """The last recorded engine prompt on the branch ending at `node_id` (default: the
        current head) plus what followed it; None when no turn of the branch has a record.

        A compaction summary ends the search: the prompt before it is not a prefix of the
        compacted branch's prompts."""
        path = self.path_to_root(node_id)
        for i in range(len(path) - 1, -1, -1):
            node = path[i]
            if node.kind == "summary":
                return None
            record = node.prompt
            if record is None:
                continue
            ids = text = None
            if record.prompt_token_ids is not None and record.output_token_ids is not None:
                ids = [*record.prompt_token_ids, *record.output_token_ids]
            if record.prompt_text is not None:
                text = record.prompt_text + (record.output_text if record.output_text is not None else node.content)
            return PromptPrefix(
                node_id=node.id, token_ids=ids, text=text, new_messages=[n.message for n in path[i + 1 :]]
            )
        return None


class CompactionPlan(BaseModel):
    """The nodes a compaction adds: a summary under the root, then copies of the kept turns."""

    summary: ConversationNode
    kept: list[ConversationNode] = Field(default_factory=list)
    replaced_ids: list[str] = Field(default_factory=list, description="the older nodes the summary stands for")

    @property
    def nodes(self) -> list[ConversationNode]:
        return [self.summary, *self.kept]

    @property
    def head_id(self) -> str:
        return self.nodes[-1].id


def plan_compaction(
    tree: ConversationTree, keep_last: int, summary: str, *, role: MessageRole = "system", node_id: str | None = None
) -> CompactionPlan:
    """Replace the older turns of the branch ending at `node_id` (default: the current head)
    by `summary`, keeping its last `keep_last` messages: the new branch is
    system -> summary -> copies of the kept messages. Nothing is attached yet."""
    if keep_last < 0:
        raise InputError(f"keep_last is a number of messages to keep, 0 or more; got {keep_last}.")
    if not summary.strip():
        raise InputError("The compaction summary is empty: pass the text that stands for the older turns.")
    path = tree.path_to_root(node_id)
    body = path[1:]
    if len(body) <= keep_last:
        raise InputError(
            f"Nothing to compact: the branch has {len(body)} messages after the system prompt and "
            f"keep_last={keep_last} keeps them all. Lower keep_last."
        )
    split = len(body) - keep_last
    older, kept = body[:split], body[split:]
    replaced = [n.id for n in older]
    summary_node = make_node(path[0], new_message(role, summary, [SummaryPart(content=summary, replaces=replaced)]), kind="summary")
    copies: list[ConversationNode] = []
    parent = summary_node
    for original in kept:
        copy = ConversationNode(
            parent_id=parent.id,
            message=original.message.model_copy(deep=True),
            depth=parent.depth + 1,
            source_id=original.source_id or original.id,
        )
        copies.append(copy)
        parent = copy
    return CompactionPlan(summary=summary_node, kept=copies, replaced_ids=replaced)


def fork_branches(owner: _BranchOwner, node_id: str, n: int, check: Callable[[str], ConversationNode]) -> list[Branch]:
    """`n` branch heads at `node_id` of `owner` (shared by the tree and the persisted memory)."""
    if n < 1:
        raise InputError(f"fork() makes at least one branch; n={n}.")
    check(node_id)
    return [Branch(owner, node_id) for _ in range(n)]
