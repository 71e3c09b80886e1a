"""An engine whose replies are given in advance: deterministic, instant, for tests.

Like pydantic-ai's TestModel/FunctionModel: pass a list of replies (taken in order) or a
function of the prompt. It keeps a real prefix cache over its own word-level tokens, so
`cached_tokens` behaves as an engine's would: a prompt that extends an earlier prompt (or
an earlier prompt plus its reply) reports the shared prefix as cached.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from functools import lru_cache

import jsonschema
from referencing import Registry

from radixagent.engine.base import Engine, Prompt
from radixagent.engine.prefix import PrefixLedger, computable_once
from radixagent.engine.types import (
    ChoicesConstraint,
    ChoiceScore,
    Completion,
    Constraint,
    EngineHealth,
    FinishReason,
    JsonSchemaConstraint,
    ModelInfo,
    RegexConstraint,
    SamplingParams,
    ScoreResult,
    StreamChunk,
    Timings,
    Usage,
    is_chat,
)
from radixagent.errors import ConstraintError, ContextOverflowError, EngineError

Reply = str | Completion | Exception
ReplyFunction = Callable[[Prompt, Constraint | None], Reply]

_TOKEN = re.compile(r"\s*\S+|\s+")


class ScriptedEngine(Engine):
    """Replies from a script. A reply may be a string, a ready `Completion`, or an exception
    to raise (to test recovery). Under a constraint the reply must satisfy it: a script that
    breaks its own constraint fails loudly instead of testing the wrong thing."""

    name = "scripted"

    def __init__(
        self,
        replies: Sequence[Reply] | ReplyFunction = (),
        *,
        context_size: int = 8192,
        model: str = "scripted",
    ) -> None:
        self._function = replies if callable(replies) else None
        self._queue: list[Reply] = [] if callable(replies) else list(replies)
        self._vocab: dict[str, int] = {}
        self._pieces: dict[int, str] = {}
        self._cache = PrefixLedger()
        self.context_size = context_size
        self.model = model
        self.prompts: list[Prompt] = []
        """Every prompt the engine was given, in order: for assertions in tests."""

    def add_replies(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    @property
    def replies_left(self) -> int:
        """Replies given in advance and not used yet (a test can check that all were)."""
        return len(self._queue)

    @property
    def takes_token_ids(self) -> bool:
        return True

    # --- tokens and the prefix cache -----------------------------------------------------

    def _ids(self, text: str) -> list[int]:
        return [self._vocab.setdefault(piece, len(self._vocab) + 1) for piece in _TOKEN.findall(text)]

    def _prompt_ids(self, prompt: Prompt) -> list[int]:
        if isinstance(prompt, str):
            return self._ids(prompt)
        if is_chat(prompt):
            return self._ids("".join(f"<|{m.role}|>{m.content}<|end|>" for m in prompt) + "<|assistant|>")
        return list(map(int, prompt))

    def _cached(self, ids: list[int]) -> int:
        return self._cache.cacheable(ids)

    # --- the engine ----------------------------------------------------------------------

    def _next_reply(self, prompt: Prompt, constraint: Constraint | None) -> Reply:
        if self._function is not None:
            return self._function(prompt, constraint)
        if not self._queue:
            raise EngineError("The scripted engine has no replies left: add more with add_replies().")
        return self._queue.pop(0)

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        started = time.perf_counter()
        self.prompts.append(prompt)
        ids = self._prompt_ids(prompt)
        if len(ids) + sampling.max_tokens > self.context_size:
            raise ContextOverflowError(len(ids), self.context_size)
        reply = self._next_reply(prompt, constraint)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, Completion):
            return reply
        _check(reply, constraint)
        out = self._ids(reply)
        finish: FinishReason = "stop"
        if len(out) > sampling.max_tokens:
            out, finish = out[: sampling.max_tokens], "length"
            reply = "".join(self._piece(i) for i in out)
        cached = self._cached(ids)
        self._cache.observe(ids + out)
        return Completion(
            text=reply,
            finish_reason=finish,
            usage=Usage(prompt_tokens=len(ids), completion_tokens=len(out), cached_tokens=cached),
            timings=Timings(total_ms=(time.perf_counter() - started) * 1000),
            token_ids=out,
            model=self.model,
        )

    def _piece_table(self) -> dict[int, str]:
        if len(self._pieces) != len(self._vocab):
            self._pieces = {i: piece for piece, i in self._vocab.items()}
        return self._pieces

    def _piece(self, token_id: int) -> str:
        return self._piece_table().get(token_id, "")

    def decode(self, prompt: Prompt) -> str:
        """The text of a prompt as this engine saw it (for reply functions that look at it)."""
        if isinstance(prompt, str):
            return prompt
        if is_chat(prompt):
            return "".join(m.content for m in prompt)
        pieces = self._piece_table()
        return "".join([pieces.get(int(i), "") for i in prompt])

    async def _stream(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]:
        completion = await self._generate(prompt, constraint, sampling)
        for token_id in completion.token_ids or []:
            yield StreamChunk(text=self._piece(token_id), token_ids=[token_id])
        yield StreamChunk(completion=completion)

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        """The next reply names the winning choice; it scores 0.0 and the others -10.0. Usage
        counts one request per choice on the prefix cache, as a real engine's would."""
        self.prompts.append(prefix if isinstance(prefix, str) else list(prefix))
        winner = self._next_reply(prefix, ChoicesConstraint(choices=list(choices)))
        if isinstance(winner, Exception):
            raise winner
        text = winner.text if isinstance(winner, Completion) else winner
        _check(text, ChoicesConstraint(choices=list(choices)))
        base = self._prompt_ids(prefix)
        usage = Usage()
        for choice in choices:
            ids = base + self._ids(choice)
            usage = usage + Usage(prompt_tokens=len(ids), cached_tokens=computable_once(self._cache.record(ids), len(ids)))
        return ScoreResult(
            scores=[
                ChoiceScore(choice=c, mean_logprob=0.0 if c == text else -10.0, token_logprobs=[])
                for c in choices
            ],
            usage=usage,
        )

    async def tokenize(self, text: str) -> list[int]:
        return self._ids(text)

    async def health(self) -> EngineHealth:
        return EngineHealth(ok=True, model=self.model)

    async def model_info(self) -> ModelInfo:
        return ModelInfo(name=self.model, context_size=self.context_size)


@lru_cache(maxsize=256)
def _validator(schema: str) -> jsonschema.protocols.Validator:
    """A validator of one constraint's schema text, kept: a script's replies check against the
    same few schemas again and again. The schema is not checked against its metaschema (the
    code that made the constraint did), and no reference is ever retrieved."""
    loaded = json.loads(schema)
    validator: jsonschema.protocols.Validator = jsonschema.validators.validator_for(loaded, default=jsonschema.Draft202012Validator)(
        loaded, registry=Registry()
    )
    return validator


def _check(text: str, constraint: Constraint | None) -> None:
    """Fail when a scripted reply breaks the constraint it was generated under."""
    if isinstance(constraint, JsonSchemaConstraint):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ConstraintError(f"Scripted reply {text!r} does not satisfy its JSON schema: it is not JSON ({exc})") from exc
        error = jsonschema.exceptions.best_match(_validator(json.dumps(constraint.json_schema, sort_keys=True)).iter_errors(value))
        if error is not None:
            raise ConstraintError(f"Scripted reply {text!r} does not satisfy its JSON schema: {error}")
    elif isinstance(constraint, RegexConstraint):
        if not re.fullmatch(constraint.pattern, text):
            raise ConstraintError(f"Scripted reply {text!r} does not match /{constraint.pattern}/")
    elif isinstance(constraint, ChoicesConstraint):
        if text not in constraint.choices:
            raise ConstraintError(f"Scripted reply {text!r} is not one of {constraint.choices}")
