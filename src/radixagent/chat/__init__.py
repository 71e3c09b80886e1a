"""OpenAI-style chat completions with tools, valid by construction, on any engine.

    wire.py       OpenAI's request and response models (shared with the server)
    planning.py   check a request and plan its turn, before any engine call
    completer.py  `ChatCompleter`: the turn itself, whole or streamed
"""

from radixagent.chat.completer import ChatCompleter, ChatDelta, ChatFinishReason, ChatResult, ChatToolCall
from radixagent.chat.planning import ChatPlan, plan_request
from radixagent.chat.wire import ChatRequest

__all__ = [
    "ChatCompleter",
    "ChatDelta",
    "ChatFinishReason",
    "ChatPlan",
    "ChatRequest",
    "ChatResult",
    "ChatToolCall",
    "plan_request",
]
