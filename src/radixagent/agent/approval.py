"""Tool calls that wait for a person's approval: which calls must (the policy), and which wait.

A call waits when its tool was registered with `requires_approval=True` or the agent's
`approval` policy says so. The run then pauses after the assistant turn that decided it: that
turn is stored as usual, with an `ApprovalRequestPart` per waiting call, so what waits is in
the conversation itself and survives a restart. Decisions are stored as they come
(`ApprovalRecord`); the run resumes once every waiting call of the turn is decided.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from radixagent.memory.store import ApprovalRecord
from radixagent.memory.tree import ConversationNode
from radixagent.schemas import ApprovalRequestPart, PendingApproval, ToolCall


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which calls wait for approval: every call of a tool in `tools`, and every call `when`
    says yes to (it sees the call with its arguments checked and defaults filled in).

        ApprovalPolicy(tools={"run_python"})
        ApprovalPolicy(when=lambda call: call.tool_name == "transfer" and call.arguments["amount"] > 100)
    """

    tools: frozenset[str] = field(default_factory=frozenset)
    when: Callable[[ToolCall], bool] | None = None

    def __init__(self, tools: Iterable[str] = (), when: Callable[[ToolCall], bool] | None = None) -> None:
        object.__setattr__(self, "tools", frozenset(tools))
        object.__setattr__(self, "when", when)

    def __call__(self, call: ToolCall) -> bool:
        return call.tool_name in self.tools or (self.when is not None and bool(self.when(call)))


ApprovalRule = ApprovalPolicy | Callable[[ToolCall], bool]
"""What `Agent(approval=...)` takes: a policy, or any function of the call."""


def waiting_calls(leaves: Iterable[ConversationNode], decisions: Sequence[ApprovalRecord]) -> list[PendingApproval]:
    """The calls of paused turns (leaves of the tree asking for approval: a resumed turn has
    the tool results under it), each with its latest decision so far."""
    latest = {(d.node_id, d.call_id): d for d in decisions}
    waiting = []
    for node in leaves:
        requested = {p.call_id for p in node.message.parts_of(ApprovalRequestPart)}
        for call in node.message.tool_calls:
            if call.id in requested:
                decided = latest.get((node.id, call.id))
                waiting.append(
                    PendingApproval(
                        call_id=call.id,
                        tool=call.tool_name,
                        arguments=call.arguments,
                        node_id=node.id,
                        decision=decided.decision if decided else None,
                        reason=decided.reason if decided else "",
                    )
                )
    return waiting
