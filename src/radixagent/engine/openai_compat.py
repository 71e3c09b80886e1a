"""OpenAICompatibleEngine: any server that speaks the `/v1` API (llama.cpp's llama-server,
vLLM, Ollama, SGLang's OpenAI endpoints).

Chat messages go to `/v1/chat/completions`, text and token ids to `/v1/completions`. The
OpenAI API has no regex, choice or grammar constraint and no way to score choices, so the
engine finds out what kind of server it talks to (once, lazily: `GET /props` answers on
llama.cpp, `/v1/models` names vLLM or SGLang as owner) and uses that server's own extension:

| constraint | llama.cpp                     | vLLM                              | SGLang          | other           |
|------------|-------------------------------|-----------------------------------|-----------------|-----------------|
| JSON schema| response_format / json_schema | response_format / structured_outputs.json | response_format | response_format |
| regex      | `grammar` (llguidance)        | structured_outputs.regex          | `regex`         | ConstraintError |
| choices    | `grammar` (llguidance)        | structured_outputs.choice         | `regex`         | ConstraintError |
| grammar    | `grammar` (as given)          | structured_outputs.grammar        | `ebnf`          | ConstraintError |

llama.cpp's grammars are the embedded engine's own (`constraints.to_llama`), compiled here
before they are sent: llama.cpp generates without a grammar it cannot compile. They need a
llama.cpp built with llguidance (`LLAMA_LLGUIDANCE`, as xllamacpp is), as scoring does.

`score()` needs the model's logprobs for given tokens: llama.cpp forces the choice's token ids
with an llguidance grammar and reports the model's own logprobs for them (measured: they are
the logprobs before the grammar); vLLM and SGLang echo the prompt with its logprobs. Other
servers cannot score, and say so with EngineCapabilityError.

The module also holds the OpenAI wire format (request pieces, response models) that the SGLang
engine shares for its chat path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, ValidationError

from radixagent.engine._http import HTTPTransport, Wire, WireTokens, parse_wire, server_root
from radixagent.engine.base import Engine, Prompt
from radixagent.engine.constraints import bounded_schema, to_llama, to_sglang, token_ids_grammar
from radixagent.engine.reasoning import (
    ReasoningFormat,
    StreamingReasoningSplitter,
    reasoning_format_for_model,
    split_reasoning,
)
from radixagent.engine.types import (
    ChatMessage,
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
    TokenLogprob,
    TopLogprob,
    Usage,
    is_chat,
)
from radixagent.errors import (
    ConstraintError,
    EngineCapabilityError,
    EngineError,
    EngineResponseError,
    InputError,
)

logger = logging.getLogger(__name__)

ServerFlavor = Literal["llamacpp", "vllm", "sglang", "generic"]

# --- the wire format --------------------------------------------------------------------


class WirePromptDetails(Wire):
    cached_tokens: int | None = None


class WireUsage(Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: WirePromptDetails | None = None


class WireTimings(Wire):
    """llama.cpp's own timings (`timings` beside `usage`)."""

    prompt_ms: float | None = None
    predicted_ms: float | None = None
    cache_n: int | None = None


class WireTopLogprob(Wire):
    token: str = ""
    logprob: float
    id: int | None = None


class WireTokenLogprob(Wire):
    token: str = ""
    logprob: float
    id: int | None = None
    top_logprobs: list[WireTopLogprob] | None = None


class WireLogprobs(Wire):
    """Chat logprobs (`content`, also llama.cpp's completions) or the legacy completions form
    (`tokens`, `token_logprobs`, `top_logprobs`, as vLLM and SGLang send)."""

    content: list[WireTokenLogprob] | None = None
    tokens: list[str] | None = None
    token_logprobs: list[float | None] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None

    def to_token_logprobs(self, top_n: int) -> list[TokenLogprob]:
        if self.content is not None:
            return [
                TokenLogprob(
                    token=c.token,
                    logprob=c.logprob,
                    token_id=c.id,
                    top=[
                        TopLogprob(token=t.token, logprob=t.logprob, token_id=t.id)
                        for t in (c.top_logprobs or [])[:top_n]
                    ],
                )
                for c in self.content
            ]
        out: list[TokenLogprob] = []
        tops = self.top_logprobs or []
        for i, (token, logprob) in enumerate(zip(self.tokens or [], self.token_logprobs or [], strict=False)):
            if logprob is None:
                continue
            alternatives = (tops[i] if i < len(tops) else None) or {}
            top = sorted(alternatives.items(), key=lambda kv: -kv[1])[:top_n]
            out.append(
                TokenLogprob(token=token, logprob=logprob, top=[TopLogprob(token=t, logprob=lp) for t, lp in top])
            )
        return out


class WireMessage(Wire):
    """A chat message, or a streamed chat delta: the answer and any reasoning the server separated."""

    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class WireChoiceEnd(Wire):
    """What every kind of choice carries besides its text."""

    finish_reason: str | None = None
    logprobs: WireLogprobs | None = None


class WireChatChoice(WireChoiceEnd):
    message: WireMessage


class WireTextChoice(WireChoiceEnd):
    text: str


class WireChunkChoice(WireChoiceEnd):
    delta: WireMessage | None = None
    text: str | None = None


class WireAnswer(Wire):
    """What every answer carries besides its choices."""

    model: str = ""
    usage: WireUsage | None = None
    timings: WireTimings | None = None


class WireChatResponse(WireAnswer):
    choices: list[WireChatChoice] = Field(min_length=1)


class WireTextResponse(WireAnswer):
    choices: list[WireTextChoice] = Field(min_length=1)


class WireChunk(WireAnswer):
    choices: list[WireChunkChoice] = Field(default_factory=list)


class WireModel(Wire):
    id: str
    owned_by: str | None = None
    max_model_len: int | None = None
    meta: WireModelMeta | None = None


class WireModelMeta(Wire):
    """llama.cpp's extra model facts in `/v1/models`."""

    n_ctx: int | None = None
    n_ctx_train: int | None = None


class WireModelList(Wire):
    data: list[WireModel] = Field(default_factory=list)


class WireLlamaProps(Wire):
    """llama.cpp's `GET /props`: its presence is how a llama.cpp server is recognised."""

    class Settings(Wire):
        n_ctx: int | None = None

    default_generation_settings: Settings
    model_path: str | None = None
    model_alias: str | None = None


WireModel.model_rebuild()


# --- request pieces -----------------------------------------------------------------------


def chat_messages(prompt: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in prompt]


def openai_sampling(sampling: SamplingParams, *, chat: bool, min_top: int = 0) -> dict[str, Any]:
    """The sampling fields of an OpenAI request. `min_top` raises the number of alternatives
    asked for, for servers that send no logprobs at all when asked for none."""
    body: dict[str, Any] = {
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
    }
    if sampling.top_k is not None:
        body["top_k"] = sampling.top_k
    if sampling.stop:
        body["stop"] = list(sampling.stop)
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if sampling.logprobs is not None:
        top = max(sampling.logprobs, min_top)
        if chat:
            body["logprobs"] = True
            if top:
                body["top_logprobs"] = top
        else:
            body["logprobs"] = top
    return body


def json_schema_response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": dict(schema), "strict": True}}


def finish_reason(value: str | None) -> FinishReason:
    if value == "length":
        return "length"
    if value == "abort":
        return "abort"
    return "stop"


def usage_of(usage: WireUsage | None, timings: WireTimings | None = None) -> Usage:
    """Usage as the server reported it. `prompt_tokens_details.cached_tokens` is absent when
    the server does not report caching or (SGLang) when it is zero: both read as 0."""
    if usage is None:
        return Usage()
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    if cached is None and timings is not None and timings.cache_n is not None:
        cached = timings.cache_n
    return Usage(
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, cached_tokens=cached or 0
    )


def _join(*parts: str | None) -> str | None:
    kept = [p.strip() for p in parts if p and p.strip()]
    return "\n".join(kept) or None


def _token_ids(logprobs: list[TokenLogprob] | None) -> list[int] | None:
    if not logprobs or any(lp.token_id is None for lp in logprobs):
        return None
    return [int(lp.token_id) for lp in logprobs if lp.token_id is not None]


def completion_of(
    response: WireChatResponse | WireTextResponse,
    *,
    fmt: ReasoningFormat,
    top_n: int | None,
    started: float,
    model: str = "",
) -> Completion:
    """A chat or text answer as a Completion, reasoning kept out of `text`."""
    choice = response.choices[0]
    if isinstance(choice, WireChatChoice):
        text, separated = choice.message.content or "", choice.message.reasoning_content or choice.message.reasoning
    else:
        text, separated = choice.text, None
    split = split_reasoning(text, fmt)
    logprobs = choice.logprobs.to_token_logprobs(top_n) if choice.logprobs and top_n is not None else None
    return Completion(
        text=split.answer,
        reasoning=_join(separated, split.reasoning),
        finish_reason=finish_reason(choice.finish_reason),
        usage=usage_of(response.usage, response.timings),
        timings=_timings(started, response.timings),
        token_ids=_token_ids(logprobs),
        logprobs=logprobs,
        model=response.model or model,
    )


def _timings(started: float, timings: WireTimings | None, first_token_ms: float | None = None) -> Timings:
    return Timings(
        total_ms=(time.perf_counter() - started) * 1000,
        prompt_ms=timings.prompt_ms if timings else None,
        decode_ms=timings.predicted_ms if timings else None,
        first_token_ms=first_token_ms,
    )


async def stream_openai(
    http: HTTPTransport,
    path: str,
    body: dict[str, Any],
    *,
    chat: bool,
    fmt: ReasoningFormat,
    top_n: int | None,
    model: str = "",
) -> AsyncIterator[StreamChunk]:
    """Stream an OpenAI chat or text completion: answer deltas (reasoning held back and kept
    out), then the whole Completion."""
    started = time.perf_counter()
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    splitter = StreamingReasoningSplitter(fmt)
    server_reasoning: list[str] = []
    logprobs: list[TokenLogprob] = []
    finish: str | None = None
    usage: WireUsage | None = None
    timings: WireTimings | None = None
    first_token_ms: float | None = None
    where = f"{http.base_url}{path}"
    async for payload in http.stream_sse(path, body):
        chunk = parse_wire(WireChunk, payload, where)
        model = chunk.model or model
        usage = chunk.usage or usage
        timings = chunk.timings or timings
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        piece = (choice.delta.content if choice.delta else None) if chat else choice.text
        thought = (choice.delta.reasoning_content or choice.delta.reasoning) if choice.delta else None
        if thought:
            server_reasoning.append(thought)
            if splitter.fmt == "think" and not splitter.text:
                splitter.fmt = "auto"  # the server separates reasoning: `content` is answer only
        new_logprobs = choice.logprobs.to_token_logprobs(top_n) if choice.logprobs and top_n is not None else []
        logprobs.extend(new_logprobs)
        if (piece or thought) and first_token_ms is None:
            first_token_ms = (time.perf_counter() - started) * 1000
        answer = splitter.feed(piece or "")
        ids = [lp.token_id for lp in new_logprobs if lp.token_id is not None]
        if answer or ids:
            yield StreamChunk(text=answer, token_ids=ids)
        if choice.finish_reason:
            finish = choice.finish_reason
    if finish is None:
        raise EngineResponseError(
            f"{where} ended its stream before saying why it stopped: the connection was cut; retry."
        )
    split, rest = splitter.finish()
    if rest:
        yield StreamChunk(text=rest)
    kept = logprobs if top_n is not None else None
    yield StreamChunk(
        completion=Completion(
            text=split.answer,
            reasoning=_join("".join(server_reasoning), split.reasoning),
            finish_reason=finish_reason(finish),
            usage=usage_of(usage, timings),
            timings=_timings(started, timings, first_token_ms),
            token_ids=_token_ids(kept),
            logprobs=kept,
            model=model,
        )
    )


# --- the engine ---------------------------------------------------------------------------


class ServerFacts(BaseModel):
    """What the engine learned about the server, once."""

    flavor: ServerFlavor
    model: str
    context_size: int | None = None
    model_path: str | None = None
    version: str | None = None


class OpenAICompatibleEngine(Engine):
    """An engine over any OpenAI-compatible `/v1` server.

    `base_url` is the server's root (`http://host:8080`; a trailing `/v1` is accepted).
    `model` is sent in every request (vLLM needs the served name; by default the first model
    `/v1/models` lists). `flavor` skips the detection of the server kind. `reasoning` says how
    to find reasoning in output the server did not separate (`auto`: from the model's name).
    `extra_body` is merged into every generation request (server-specific options).
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 120.0,
        flavor: ServerFlavor | Literal["auto"] = "auto",
        reasoning: ReasoningFormat = "auto",
        extra_body: Mapping[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        root = server_root(base_url)
        self._http = HTTPTransport(root, api_key=api_key, timeout=timeout, transport=transport)
        self.base_url = root
        self._model = model
        self._flavor = flavor
        self._reasoning: ReasoningFormat = reasoning
        self._extra = dict(extra_body or {})
        self._facts: ServerFacts | None = None

    @property
    def takes_token_ids(self) -> bool:
        """`/v1/completions` takes a list of token ids as the prompt (OpenAI API; llama.cpp,
        vLLM and SGLang honour it)."""
        return True

    # --- what the server is --------------------------------------------------------------

    async def server_facts(self) -> ServerFacts:
        """Find out (once) what kind of server this is and which model it serves."""
        if self._facts is None:
            self._facts = await self._detect()
        return self._facts

    async def _detect(self) -> ServerFacts:
        props: WireLlamaProps | None = None
        if self._flavor in ("auto", "llamacpp"):
            response = await self._http.send("GET", "/props")
            if response.status_code in (401, 403):
                self._http.raise_for_status(response, "/props")
            if response.status_code == 200:
                try:
                    props = WireLlamaProps.model_validate(response.json())
                except (ValueError, ValidationError):
                    props = None
        models = await self._models()
        first = models.data[0] if models.data else None
        owner = (first.owned_by or "").lower() if first is not None else ""
        flavor: ServerFlavor
        if self._flavor != "auto":
            flavor = self._flavor
        elif props is not None:
            flavor = "llamacpp"
        elif owner == "vllm":
            flavor = "vllm"
        elif owner == "sglang":
            flavor = "sglang"
        else:
            flavor = "generic"
        version = await self._vllm_version() if flavor == "vllm" else None
        context = None
        if props is not None and props.default_generation_settings.n_ctx:
            context = props.default_generation_settings.n_ctx
        elif first is not None:
            context = first.max_model_len or (first.meta.n_ctx if first.meta else None)
        facts = ServerFacts(
            flavor=flavor,
            model=self._model or (first.id if first else "default"),
            context_size=context,
            model_path=props.model_path if props else None,
            version=version,
        )
        if self._reasoning == "auto":
            self._reasoning = reasoning_format_for_model(facts.model_path or facts.model)
        logger.debug("server at %s: %s", self.base_url, facts)
        return facts

    async def _models(self) -> WireModelList:
        response = await self._http.send("GET", "/v1/models")
        if response.status_code == 404:
            return WireModelList()
        self._http.raise_for_status(response, "/v1/models")
        return parse_wire(WireModelList, self._http.decode_json(response, "/v1/models"), f"{self.base_url}/v1/models")

    async def _vllm_version(self) -> str | None:
        response = await self._http.send("GET", "/version")
        if response.status_code != 200:
            return None
        try:
            return str(response.json().get("version"))
        except (ValueError, AttributeError):
            return None

    # --- generation ----------------------------------------------------------------------

    async def _request(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> tuple[str, dict[str, Any], bool]:
        facts = await self.server_facts()
        body: dict[str, Any] = {"model": facts.model}
        if is_chat(prompt):
            chat = True
            body["messages"] = chat_messages(prompt)
        else:
            chat = False
            body["prompt"] = prompt if isinstance(prompt, str) else list(prompt)
        body.update(openai_sampling(sampling, chat=chat, min_top=1 if facts.flavor == "llamacpp" else 0))
        body.update(self._constraint_body(facts, constraint, chat=chat))
        body.update(self._extra)
        return ("/v1/chat/completions" if chat else "/v1/completions"), body, chat

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        started = time.perf_counter()
        path, body, chat = await self._request(prompt, constraint, sampling)
        data = await self._http.post_json(path, body)
        where = f"{self.base_url}{path}"
        response = parse_wire(WireChatResponse, data, where) if chat else parse_wire(WireTextResponse, data, where)
        return completion_of(response, fmt=self._reasoning, top_n=sampling.logprobs, started=started)

    async def _stream(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]:
        path, body, chat = await self._request(prompt, constraint, sampling)
        async for chunk in stream_openai(
            self._http, path, body, chat=chat, fmt=self._reasoning, top_n=sampling.logprobs
        ):
            yield chunk

    def _constraint_body(self, facts: ServerFacts, constraint: Constraint | None, *, chat: bool) -> dict[str, Any]:
        if constraint is None:
            return {}
        flavor = facts.flavor
        if isinstance(constraint, JsonSchemaConstraint):
            schema = bounded_schema(constraint.json_schema)
            if chat or flavor in ("sglang", "generic"):
                return {"response_format": json_schema_response_format(schema)}
            if flavor == "llamacpp":
                return {"json_schema": schema}
            return self._vllm(facts, "json", schema)
        if flavor == "generic":
            raise ConstraintError(
                f"The server at {self.base_url} is an OpenAI-compatible server of unknown kind, and the OpenAI API "
                f"has no {constraint.kind} constraint: use a JSON schema constraint, or a llama.cpp, vLLM or SGLang "
                "server (or the embedded engine)."
            )
        if flavor == "llamacpp":
            return {"grammar": to_llama(constraint).grammar}
        if flavor == "sglang":
            return to_sglang(constraint)
        if isinstance(constraint, RegexConstraint):
            return self._vllm(facts, "regex", constraint.pattern)
        if isinstance(constraint, ChoicesConstraint):
            return self._vllm(facts, "choice", list(constraint.choices))
        return self._vllm(facts, "grammar", constraint.grammar)

    @staticmethod
    def _vllm(facts: ServerFacts, kind: str, value: Any) -> dict[str, Any]:
        """vLLM's structured outputs: `structured_outputs` from 0.10.2 (the `guided_*` fields
        were removed in 0.12), `guided_<kind>` before."""
        if _version_tuple(facts.version) < (0, 10, 2):
            return {f"guided_{kind}": value}
        return {"structured_outputs": {kind: value}}

    # --- scoring -------------------------------------------------------------------------

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        facts = await self.server_facts()
        if facts.flavor == "llamacpp":
            return await self._score_forced(facts, prefix, choices)
        if facts.flavor in ("vllm", "sglang"):
            return await self._score_echo(facts, prefix, choices)
        raise EngineCapabilityError(
            f"The server at {self.base_url} cannot score choices: the OpenAI API returns no logprobs for "
            "given tokens. Use a llama.cpp, vLLM or SGLang server, the SGLang engine, or the embedded engine."
        )

    async def _score_forced(
        self, facts: ServerFacts, prefix: str | Sequence[int], choices: Sequence[str]
    ) -> ScoreResult:
        """llama.cpp: generate each choice's own token ids under a grammar that allows nothing
        else; the logprobs reported for forced tokens are the model's, before the grammar. The
        prefix stays in the slot's cache between choices, so each costs only its own tokens."""
        prefix_ids = list(prefix) if not isinstance(prefix, str) else await self._tokenize(facts, prefix, special=True)
        scores: list[ChoiceScore] = []
        usage = Usage()
        for choice in choices:
            ids = await self._tokenize(facts, choice, special=False)
            body = {
                "model": facts.model,
                "prompt": prefix_ids,
                "max_tokens": len(ids),
                "temperature": 0.0,
                "logprobs": 1,
                "grammar": token_ids_grammar(ids),
                "cache_prompt": True,
            }
            try:
                data = await self._http.post_json("/v1/completions", body)
            except InputError as exc:
                raise EngineCapabilityError(
                    f"The llama.cpp server at {self.base_url} refused a token-forcing grammar ({exc}); it is probably "
                    "built without llguidance (LLAMA_LLGUIDANCE). Score with the embedded engine or SGLang instead."
                ) from exc
            response = parse_wire(WireTextResponse, data, f"{self.base_url}/v1/completions")
            logprobs = response.choices[0].logprobs.to_token_logprobs(0) if response.choices[0].logprobs else []
            forced = logprobs[: len(ids)]
            got = [lp.token_id for lp in forced]
            if len(forced) < len(ids) or (all(g is not None for g in got) and got != ids):
                raise EngineResponseError(
                    f"The llama.cpp server at {self.base_url} did not follow the grammar forcing {ids} for "
                    f"{choice!r} (got {got}); it cannot score choices."
                )
            values = [lp.logprob for lp in forced]
            scores.append(ChoiceScore(choice=choice, mean_logprob=sum(values) / len(values), token_logprobs=values))
            usage = usage + usage_of(response.usage, response.timings)
        return ScoreResult(scores=scores, usage=usage)

    async def _score_echo(self, facts: ServerFacts, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        """vLLM / SGLang: send prefix + choice tokens with `echo` and read the prompt's logprobs
        at the choice's positions."""
        prefix_ids = list(prefix) if not isinstance(prefix, str) else await self._tokenize(facts, prefix, special=True)
        scores: list[ChoiceScore] = []
        usage = Usage()
        for choice in choices:
            ids = await self._tokenize(facts, choice, special=False)
            body = {
                "model": facts.model,
                "prompt": prefix_ids + ids,
                "max_tokens": 1,
                "temperature": 0.0,
                "echo": True,
                "logprobs": 1,
            }
            data = await self._http.post_json("/v1/completions", body)
            response = parse_wire(WireTextResponse, data, f"{self.base_url}/v1/completions")
            lp = response.choices[0].logprobs
            values_raw = (lp.token_logprobs or []) if lp else []
            window = values_raw[len(prefix_ids) : len(prefix_ids) + len(ids)]
            if len(window) != len(ids) or any(v is None for v in window):
                raise EngineCapabilityError(
                    f"The server at {self.base_url} did not return prompt logprobs with echo for {choice!r}; it "
                    "cannot score choices this way. Use the SGLang engine or the embedded engine."
                )
            values = [float(v) for v in window if v is not None]
            scores.append(ChoiceScore(choice=choice, mean_logprob=sum(values) / len(values), token_logprobs=values))
            usage = usage + usage_of(response.usage)
        return ScoreResult(scores=scores, usage=usage)

    # --- tokens, health, model -----------------------------------------------------------

    async def tokenize(self, text: str) -> list[int]:
        return await self._tokenize(await self.server_facts(), text, special=False)

    async def _tokenize(self, facts: ServerFacts, text: str, *, special: bool) -> list[int]:
        if facts.flavor == "llamacpp":
            body: dict[str, Any] = {"content": text, "add_special": special}
        elif facts.flavor in ("vllm", "sglang"):
            body = {"model": facts.model, "prompt": text, "add_special_tokens": special}
        else:
            raise EngineCapabilityError(
                f"The server at {self.base_url} has no tokenize endpoint that radixagent knows (the OpenAI API has "
                "none): use a llama.cpp, vLLM or SGLang server, or the embedded engine."
            )
        data = await self._http.post_json("/tokenize", body)
        return parse_wire(WireTokens, data, f"{self.base_url}/tokenize").tokens

    async def health(self) -> EngineHealth:
        """Whether the server answers and has its model loaded (llama.cpp `/health`, else
        `/v1/models`). Faults are reported, not raised."""
        try:
            facts = await self.server_facts()
            if facts.flavor == "llamacpp":
                await self._http.get_json("/health")
            else:
                await self._models()
        except EngineError as exc:
            return EngineHealth(ok=False, detail=str(exc))
        return EngineHealth(ok=True, model=facts.model)

    async def model_info(self) -> ModelInfo:
        facts = await self.server_facts()
        path = facts.model_path or (facts.model if facts.model.endswith(".gguf") else None)
        name = facts.model
        if name.endswith(".gguf") or name == path:  # llama.cpp names the model by its file path
            name = PurePosixPath(name).name
        return ModelInfo(name=name, context_size=facts.context_size, path=path)

    async def aclose(self) -> None:
        await self._http.aclose()


def _version_tuple(version: str | None) -> tuple[int, ...]:
    if not version:
        return (999,)
    parts: list[int] = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or (999,)


__all__ = ["OpenAICompatibleEngine", "ServerFacts", "ServerFlavor"]
