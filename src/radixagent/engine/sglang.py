"""SGLangEngine: radixagent's production engine, an SGLang server (or an sglang-router in front
of several).

Text and token-id prompts go to SGLang's native `POST /generate`, which takes `input_ids`, so
an agent can send exactly the previous prompt's ids + the output ids + the new turn's ids and
the radix cache matches every token (no chat template re-rendering earlier turns). Chat
messages go to `/v1/chat/completions`. The engine never sends `tools` (radixagent builds its
own constraint from its tool registry), so `response_format` never meets `tools` there, which
SGLang would answer by silently dropping the tool calls.

Facts this module relies on (SGLang's http_server.py, openai_api protocol and the frontend's
runtime_endpoint.py; check your server's version):
- `/generate`: `sampling_params.json_schema` is a JSON *string*; only one of `json_schema`,
  `regex`, `ebnf`. `meta_info.cached_tokens` is always there; `finish_reason` is a dict
  `{"type": "stop"|"length"|"abort", ...}`; streamed `text` is cumulative unless the server
  runs with `--incremental-streaming-output`; logprobs are `[logprob, token_id, text]` lists.
- `/v1/chat/completions`: `usage.prompt_tokens_details` is null without
  `--enable-cache-report` (read as 0 cached tokens); with the flag it is there, 0 included.
- `/model_info`, `/server_info` (older servers and routers: `/get_model_info`,
  `/get_server_info`), `/health_generate` (503 while starting), `/flush_cache` (400 while
  requests are running), `/tokenize` (= `/v1/tokenize`, honours `add_special_tokens`).
- Input logprobs (scheduler_components/logprob_result_processor.py): the entry for the token
  *at* `logprob_start_len` is `[None, id, text]` (nothing before it in the request predicts it),
  so scoring starts one token before the choice, as the frontend's `select` does.
- sglang-router (sgl-model-gateway: server.rs, protocols/generate.rs, routers/tokenize): no
  `/tokenize` (404); `/v1/tokenize` uses the router's own tokenizer, 400 `tokenizer_not_found`
  unless launched with `--model-path`/`--tokenizer-path`, and never adds special tokens;
  `/generate` takes `text` as one string (a list is refused, 422) but `input_ids` batched.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

import httpx

from radixagent.engine._http import HTTPTransport, Wire, WireTokens, context_overflow, parse_wire, server_root
from radixagent.engine.base import Engine, Prompt
from radixagent.engine.constraints import bounded_schema, to_sglang
from radixagent.engine.openai_compat import (
    WireChatResponse,
    WireModelList,
    chat_messages,
    completion_of,
    finish_reason,
    json_schema_response_format,
    openai_sampling,
    stream_openai,
)
from radixagent.engine.reasoning import (
    ReasoningFormat,
    StreamingReasoningSplitter,
    reasoning_format_for_model,
    split_reasoning,
)
from radixagent.engine.types import (
    ChatMessage,
    ChoiceScore,
    Completion,
    Constraint,
    EngineHealth,
    JsonSchemaConstraint,
    ModelInfo,
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
    EngineHTTPError,
    EngineResponseError,
)

logger = logging.getLogger(__name__)


# --- SGLang's native wire format ---------------------------------------------------------


class SGLangFinishReason(Wire):
    type: str
    message: str | None = None
    matched: int | str | list[int] | None = None
    length: int | None = None


class SGLangMetaInfo(Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    finish_reason: SGLangFinishReason | None = None
    e2e_latency: float | None = None
    output_token_logprobs: list[list[Any]] | None = None
    output_top_logprobs: list[list[list[Any]] | None] | None = None
    input_token_logprobs: list[list[Any]] | None = None


class SGLangGenerateOut(Wire):
    text: str = ""
    output_ids: list[int] | None = None
    meta_info: SGLangMetaInfo


class SGLangServerInfo(Wire):
    """The parts of `/server_info` radixagent uses. `reasoning_parser` tells whether chat
    answers come with reasoning separated; `enable_cache_report` whether chat usage reports
    cached tokens at all."""

    version: str | None = None
    model_path: str | None = None
    served_model_name: str | None = None
    context_length: int | None = None
    max_total_num_tokens: int | None = None
    max_req_input_len: int | None = None
    tp_size: int | None = None
    dp_size: int | None = None
    enable_cache_report: bool | None = None
    reasoning_parser: str | None = None
    tool_call_parser: str | None = None


class WireTokenBatch(Wire):
    """`/tokenize` of a list of texts: one list of ids per text."""

    tokens: list[list[int]]


TokenizerRoute = Literal["worker", "router", "router-without-tokenizer", "none"]


class SGLangModelInfo(Wire):
    model_path: str | None = None
    served_model_name: str | None = None
    model_id: str | None = None
    is_generation: bool | None = None
    max_context_length: int | None = None


def looks_like_sglang(data: Any) -> bool:
    """Whether a `/server_info` answer is SGLang's (its server arguments plus a version)."""
    return isinstance(data, dict) and "model_path" in data and ("version" in data or "tp_size" in data)


def _entry_logprob(entry: Sequence[Any]) -> tuple[float | None, int | None, str]:
    """One SGLang logprob entry: `[logprob, token_id, text-or-null]`."""
    logprob = entry[0] if entry else None
    token_id = entry[1] if len(entry) > 1 else None
    text = entry[2] if len(entry) > 2 and entry[2] is not None else ""
    return (
        (float(logprob) if logprob is not None else None),
        (int(token_id) if token_id is not None else None),
        str(text),
    )


def _logprobs(meta: SGLangMetaInfo, top_n: int) -> list[TokenLogprob]:
    out: list[TokenLogprob] = []
    tops = meta.output_top_logprobs or []
    for i, entry in enumerate(meta.output_token_logprobs or []):
        logprob, token_id, text = _entry_logprob(entry)
        if logprob is None:
            continue
        top: list[TopLogprob] = []
        alternatives = (tops[i] if i < len(tops) else None) or []
        for alt in alternatives[:top_n]:
            alt_lp, alt_id, alt_text = _entry_logprob(alt)
            if alt_lp is not None:
                top.append(TopLogprob(token=alt_text, logprob=alt_lp, token_id=alt_id))
        out.append(TokenLogprob(token=text, logprob=logprob, token_id=token_id, top=top))
    return out


class SGLangEngine(Engine):
    """An engine over an SGLang server or sglang-router.

    `reasoning` says how to find reasoning in `/generate` output (`auto`: from the model's
    name, e.g. Qwen3 -> think tags, gpt-oss -> harmony channels). `chat_template_kwargs` go with
    every chat request (e.g. `{"enable_thinking": False}` for Qwen3).
    """

    name = "sglang"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        model: str | None = None,
        reasoning: ReasoningFormat = "auto",
        chat_template_kwargs: Mapping[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        root = server_root(base_url)
        self.base_url = root
        self._http = HTTPTransport(root, api_key=api_key, timeout=timeout, transport=transport)
        self._model = model
        self._reasoning: ReasoningFormat = reasoning
        self._reasoning_resolved = reasoning != "auto"
        self._chat_template_kwargs = dict(chat_template_kwargs or {})
        self._info: ModelInfo | None = None
        self._separates: bool | None = None
        self._route: TokenizerRoute | None = None

    @property
    def takes_token_ids(self) -> bool:
        return True

    # --- generation ----------------------------------------------------------------------

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        started = time.perf_counter()
        fmt = await self._format()
        if is_chat(prompt):
            body = await self._chat_body(prompt, constraint, sampling)
            data = await self._http.post_json("/v1/chat/completions", body)
            response = parse_wire(WireChatResponse, data, f"{self.base_url}/v1/chat/completions")
            return completion_of(
                response, fmt=fmt, top_n=sampling.logprobs, started=started, model=self._model or ""
            )
        body = self._generate_body(prompt, constraint, sampling, fmt)
        data = await self._http.post_json("/generate", body)
        out = parse_wire(SGLangGenerateOut, data, f"{self.base_url}/generate")
        return self._completion(out, out.output_ids, sampling, fmt, started)

    async def _stream(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]:
        fmt = await self._format()
        if is_chat(prompt):
            body = await self._chat_body(prompt, constraint, sampling)
            if fmt == "think" and await self._server_separates_reasoning():
                fmt = "auto"  # the answer arrives as `content` already: no need to hold it back
            async for chunk in stream_openai(
                self._http,
                "/v1/chat/completions",
                body,
                chat=True,
                fmt=fmt,
                top_n=sampling.logprobs,
                model=self._model or "",
            ):
                yield chunk
            return
        async for chunk in self._stream_generate(prompt, constraint, sampling, fmt):
            yield chunk

    async def _stream_generate(
        self, prompt: str | Sequence[int], constraint: Constraint | None, sampling: SamplingParams, fmt: ReasoningFormat
    ) -> AsyncIterator[StreamChunk]:
        """`/generate` with `stream`: each event carries the text so far (or, with
        `--incremental-streaming-output`, only the new text). Which one is told by the ids:
        cumulative events carry as many `output_ids` as `completion_tokens`."""
        started = time.perf_counter()
        body = {**self._generate_body(prompt, constraint, sampling, fmt), "stream": True}
        splitter = StreamingReasoningSplitter(fmt)
        text = ""
        ids: list[int] = []
        logprob_entries: list[list[Any]] = []
        top_entries: list[list[list[Any]] | None] = []
        last: SGLangGenerateOut | None = None
        first_token_ms: float | None = None
        async for payload in self._http.stream_sse("/generate", body):
            event = parse_wire(SGLangGenerateOut, payload, f"{self.base_url}/generate (stream)")
            meta = event.meta_info
            new_ids = event.output_ids or []
            cumulative = (
                len(new_ids) == meta.completion_tokens if event.output_ids is not None else event.text.startswith(text)
            )
            if cumulative:
                delta, delta_ids = event.text[len(text) :], new_ids[len(ids) :]
                text, ids = event.text, list(new_ids)
                logprob_entries = list(meta.output_token_logprobs or logprob_entries)
                top_entries = list(meta.output_top_logprobs or top_entries)
            else:
                delta, delta_ids = event.text, list(new_ids)
                text, ids = text + event.text, ids + list(new_ids)
                logprob_entries.extend(meta.output_token_logprobs or [])
                top_entries.extend(meta.output_top_logprobs or [])
            if delta and first_token_ms is None:
                first_token_ms = (time.perf_counter() - started) * 1000
            answer = splitter.feed(delta)
            if answer or delta_ids:
                yield StreamChunk(text=answer, token_ids=delta_ids)
            last = event
        if last is None or last.meta_info.finish_reason is None:
            raise EngineResponseError(
                f"{self.base_url}/generate ended its stream before saying why it stopped: the connection was cut; retry."
            )
        split, rest = splitter.finish()
        if rest:
            yield StreamChunk(text=rest)
        meta = last.meta_info.model_copy(
            update={"output_token_logprobs": logprob_entries, "output_top_logprobs": top_entries}
        )
        whole = last.model_copy(update={"text": text, "meta_info": meta})
        yield StreamChunk(
            completion=self._completion(
                whole, ids or None, sampling, fmt, started, first_token_ms, split.answer, split.reasoning
            )
        )

    def _completion(
        self,
        out: SGLangGenerateOut,
        ids: list[int] | None,
        sampling: SamplingParams,
        fmt: ReasoningFormat,
        started: float,
        first_token_ms: float | None = None,
        answer: str | None = None,
        reasoning: str | None = None,
    ) -> Completion:
        meta = out.meta_info
        finish = meta.finish_reason
        if finish is None:
            raise EngineResponseError(
                f"{self.base_url}/generate answered without a finish_reason: {out.model_dump_json()[:300]}"
            )
        if finish.type == "abort":
            _raise_for_abort(finish)
        if answer is None:
            split = split_reasoning(out.text, fmt)
            answer, reasoning = split.answer, split.reasoning
        logprobs = _logprobs(meta, sampling.logprobs) if sampling.logprobs is not None else None
        return Completion(
            text=answer,
            reasoning=reasoning,
            finish_reason=finish_reason(finish.type),
            usage=Usage(
                prompt_tokens=meta.prompt_tokens,
                completion_tokens=meta.completion_tokens,
                cached_tokens=meta.cached_tokens,
            ),
            timings=Timings(total_ms=(time.perf_counter() - started) * 1000, first_token_ms=first_token_ms),
            token_ids=ids,
            logprobs=logprobs,
            model=self._model or (self._info.name if self._info else ""),
        )

    def _generate_body(
        self, prompt: str | Sequence[int], constraint: Constraint | None, sampling: SamplingParams, fmt: ReasoningFormat
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_new_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if sampling.top_k is not None:
            params["top_k"] = sampling.top_k
        if sampling.stop:
            params["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            params["sampling_seed"] = sampling.seed
        if fmt == "harmony":  # keep gpt-oss's channel markers, or the split has nothing to go by
            params["skip_special_tokens"] = False
        params.update(self._native_constraint(constraint))
        body: dict[str, Any] = {"sampling_params": params}
        if isinstance(prompt, str):
            body["text"] = prompt
        else:
            body["input_ids"] = [int(i) for i in prompt]
        if sampling.logprobs is not None:
            body["return_logprob"] = True
            body["return_text_in_logprobs"] = True
            if sampling.logprobs:
                body["top_logprobs_num"] = sampling.logprobs
        return body

    @staticmethod
    def _native_constraint(constraint: Constraint | None) -> dict[str, str]:
        if constraint is None:
            return {}
        if isinstance(constraint, JsonSchemaConstraint):
            return {"json_schema": json.dumps(bounded_schema(constraint.json_schema))}
        return to_sglang(constraint)

    async def _chat_body(
        self, prompt: Sequence[ChatMessage], constraint: Constraint | None, sampling: SamplingParams
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model or "default",
            "messages": chat_messages(prompt),
            "separate_reasoning": True,
        }
        body.update(openai_sampling(sampling, chat=True))
        if self._chat_template_kwargs:
            body["chat_template_kwargs"] = self._chat_template_kwargs
        if isinstance(constraint, JsonSchemaConstraint):
            body["response_format"] = json_schema_response_format(bounded_schema(constraint.json_schema))
        elif constraint is not None:
            body.update(to_sglang(constraint))
        return body

    async def _format(self) -> ReasoningFormat:
        """The reasoning format, resolved once from the model's name when left to `auto`."""
        if not self._reasoning_resolved:
            self._reasoning_resolved = True
            try:
                info = await self.model_info()
                self._reasoning = reasoning_format_for_model(info.path or info.name)
            except EngineError as exc:
                logger.debug("could not read the model's name to pick a reasoning format: %s", exc)
        return self._reasoning

    async def _server_separates_reasoning(self) -> bool:
        """Whether the server runs a reasoning parser (`--reasoning-parser`), so chat answers
        come without the reasoning in `content`. Asked once."""
        if self._separates is None:
            try:
                self._separates = bool((await self.server_info()).reasoning_parser)
            except EngineError as exc:
                logger.debug("could not read the server's reasoning parser: %s", exc)
                self._separates = False
        return self._separates

    # --- scoring -------------------------------------------------------------------------

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        """SGLang `select`: prefill the prefix once (`max_new_tokens: 0`, so it sits in the radix
        cache), then ask for the input logprobs of prefix + each choice from one token before
        the choice on (SGLang reports None for the token *at* `logprob_start_len`); a choice
        scores the mean logprob of its own tokens.

        With token ids the choice tokens are exactly the choice's own, in one batched request.
        Without them (a str prefix behind a router, or a server with no tokenizer endpoint) the
        text goes as the frontend sends it, one request per choice where batched text is
        refused (sglang-router)."""
        route = await self._tokenizer_route()
        if route == "worker":
            prefix_ids = list(prefix) if not isinstance(prefix, str) else await self._tokenize(prefix, special=True)
            choice_ids = await self._tokenize_many(list(choices))
            return await self._score_ids(prefix_ids, choice_ids, choices)
        if route == "router" and not isinstance(prefix, str):
            choice_ids = await self._tokenize_many(list(choices))
            return await self._score_ids(list(prefix), choice_ids, choices)
        if not isinstance(prefix, str):
            raise self._no_tokenizer(route)
        # A str prefix behind a router: the router cannot add the model's special tokens (BOS),
        # so the worker tokenizes the text itself; the router's tokenizer, when it has one, only
        # tells how many tokens each choice has.
        lengths: list[int | None] = (
            [len(ids) for ids in await self._tokenize_many(list(choices))] if route == "router" else [None] * len(choices)
        )
        return await self._score_text(prefix, choices, lengths, batched=route == "none")

    async def _score_ids(
        self, prefix: list[int], choice_ids: list[list[int]], choices: Sequence[str]
    ) -> ScoreResult:
        prefill = await self._post_generate({"input_ids": prefix, "sampling_params": {"max_new_tokens": 0}})
        body = self._score_body("input_ids", [prefix + ids for ids in choice_ids], _start(len(prefix)))
        outs = await self._post_generate_batch(body, len(choices))
        return self._scores(choices, outs, [len(ids) for ids in choice_ids], prefill)

    async def _score_text(
        self, prefix: str, choices: Sequence[str], lengths: Sequence[int | None], *, batched: bool
    ) -> ScoreResult:
        prefill = await self._post_generate({"text": prefix, "sampling_params": {"max_new_tokens": 0}})
        start = _start(prefill.meta_info.prompt_tokens)
        texts = [prefix + c for c in choices]
        if batched:
            outs = await self._post_generate_batch(self._score_body("text", texts, start), len(choices))
        else:
            outs = [await self._post_generate(self._score_body("text", text, start)) for text in texts]
        return self._scores(choices, outs, lengths, prefill)

    @staticmethod
    def _score_body(key: Literal["input_ids", "text"], prompts: Any, start: int) -> dict[str, Any]:
        return {
            key: prompts,
            "sampling_params": {"max_new_tokens": 0, "temperature": 0.0},
            "return_logprob": True,
            "return_text_in_logprobs": True,
            "logprob_start_len": start,
        }

    def _scores(
        self,
        choices: Sequence[str],
        outs: list[SGLangGenerateOut],
        lengths: Sequence[int | None],
        prefill: SGLangGenerateOut,
    ) -> ScoreResult:
        """Each choice's logprobs: the entries after the None at `logprob_start_len`, the last
        `length` of them when the choice's token count is known (text sent whole may tokenize
        differently where prefix and choice meet; the count then says which are the choice's)."""
        usage = Usage(
            prompt_tokens=prefill.meta_info.prompt_tokens,
            completion_tokens=0,
            cached_tokens=prefill.meta_info.cached_tokens,
        )
        scores: list[ChoiceScore] = []
        for choice, out, length in zip(choices, outs, lengths, strict=True):
            entries = out.meta_info.input_token_logprobs or []
            values = [lp for lp, _, _ in (_entry_logprob(e) for e in entries) if lp is not None]
            if length is not None:
                values = values[-length:] if length else []
            if not values:
                raise EngineResponseError(
                    f"{self.base_url}/generate returned no input logprobs for choice {choice!r}: the server cannot "
                    "score it (is return_logprob supported by this SGLang version?)."
                )
            scores.append(ChoiceScore(choice=choice, mean_logprob=sum(values) / len(values), token_logprobs=values))
            usage = usage + Usage(prompt_tokens=out.meta_info.prompt_tokens, cached_tokens=out.meta_info.cached_tokens)
        return ScoreResult(scores=scores, usage=usage)

    async def _post_generate(self, body: dict[str, Any]) -> SGLangGenerateOut:
        data = await self._http.post_json("/generate", body)
        out = parse_wire(SGLangGenerateOut, data, f"{self.base_url}/generate")
        if out.meta_info.finish_reason is not None and out.meta_info.finish_reason.type == "abort":
            _raise_for_abort(out.meta_info.finish_reason)
        return out

    async def _post_generate_batch(self, body: dict[str, Any], n: int) -> list[SGLangGenerateOut]:
        data = await self._http.post_json("/generate", body)
        if not isinstance(data, list) or len(data) != n:
            raise EngineResponseError(
                f"{self.base_url}/generate answered a batch of {n} with {type(data).__name__} "
                f"{json.dumps(data)[:200]}: expected a list of {n} results."
            )
        return [parse_wire(SGLangGenerateOut, item, f"{self.base_url}/generate") for item in data]

    # --- tokens --------------------------------------------------------------------------

    async def tokenize(self, text: str) -> list[int]:
        return await self._tokenize(text, special=False)

    async def _tokenizer_route(self) -> TokenizerRoute:
        """Where this server tokenizes, asked once: an SGLang server's `/tokenize`, a router's
        `/v1/tokenize` (its own tokenizer, loaded with --model-path/--tokenizer-path), or nowhere
        (`router-without-tokenizer`: the router answered `tokenizer_not_found`; `none`: an SGLang
        too old to have either)."""
        if self._route is None:
            probe = {"prompt": "a", "add_special_tokens": False}
            response = await self._http.send("POST", "/tokenize", json_body=probe)
            if response.status_code not in (404, 405):
                self._http.raise_for_status(response, "/tokenize")
                self._route = "worker"
                return self._route
            response = await self._http.send("POST", "/v1/tokenize", json_body={"model": "default", "prompt": "a"})
            if response.status_code in (404, 405):
                self._route = "none"
            elif response.status_code == 400 and "tokenizer_not_found" in response.text:
                self._route = "router-without-tokenizer"
            else:
                self._http.raise_for_status(response, "/v1/tokenize")
                self._route = "router"
        return self._route

    def _no_tokenizer(self, route: TokenizerRoute) -> EngineCapabilityError:
        if route == "router-without-tokenizer":
            return EngineCapabilityError(
                f"{self.base_url} is an sglang-router with no tokenizer loaded (its /v1/tokenize answered "
                "tokenizer_not_found), so radixagent cannot send token ids through it: launch the router with "
                "--model-path <the workers' model> (or --tokenizer-path): radixagent sends token ids so the radix "
                "cache matches every token, and counts tokens to keep prompts within the context."
            )
        return EngineCapabilityError(
            f"The SGLang server at {self.base_url} has neither /tokenize nor /v1/tokenize (an older SGLang): "
            "upgrade SGLang."
        )

    async def _tokenize(self, text: str, *, special: bool) -> list[int]:
        data = await self._post_tokenize(text, special=special)
        return parse_wire(WireTokens, data, f"{self.base_url}/tokenize").tokens

    async def _tokenize_many(self, texts: list[str]) -> list[list[int]]:
        data = await self._post_tokenize(texts, special=False)
        batch = parse_wire(WireTokenBatch, data, f"{self.base_url}/tokenize")
        if len(batch.tokens) != len(texts):
            raise EngineResponseError(
                f"{self.base_url}/tokenize answered a list of {len(texts)} texts with {len(batch.tokens)} results"
            )
        return batch.tokens

    async def _post_tokenize(self, prompt: str | list[str], *, special: bool) -> Any:
        route = await self._tokenizer_route()
        if route == "worker":
            return await self._http.post_json("/tokenize", {"prompt": prompt, "add_special_tokens": special})
        if route == "router" and not special:  # the router's tokenizer never adds special tokens
            return await self._http.post_json("/v1/tokenize", {"model": "default", "prompt": prompt})
        raise self._no_tokenizer(route)

    # --- server state --------------------------------------------------------------------

    async def _get_with_fallback(self, *paths: str) -> Any:
        """GET the first of `paths` the server has (SGLang renamed `/get_model_info` and
        `/get_server_info`; routers may only know the old names)."""
        missing = EngineHTTPError(
            f"{self.base_url} has none of {', '.join(paths)}: is this an SGLang server (or sglang-router)?", 404
        )
        return await self._first_found("GET", paths, missing)

    async def _first_found(self, method: str, paths: Sequence[str], missing: EngineError, body: Any = None) -> Any:
        """The JSON answer of the first of `paths` the server has (404 or 405: it has not);
        `missing` is raised when it has none."""
        for path in paths:
            response = await self._http.send(method, path, json_body=body)
            if response.status_code in (404, 405):
                continue
            self._http.raise_for_status(response, path)
            return self._http.decode_json(response, path)
        raise missing

    async def server_info(self) -> SGLangServerInfo:
        data = await self._get_with_fallback("/server_info", "/get_server_info")
        return parse_wire(SGLangServerInfo, data, f"{self.base_url}/server_info")

    async def model_info(self) -> ModelInfo:
        if self._info is None:
            data = await self._get_with_fallback("/model_info", "/get_model_info")
            raw = parse_wire(SGLangModelInfo, data, f"{self.base_url}/model_info")
            path = raw.model_path
            name = self._model or raw.served_model_name or raw.model_id or path or "sglang"
            context = raw.max_context_length or await self._max_model_len()
            self._info = ModelInfo(name=name, context_size=context, path=path)
        return self._info

    async def _max_model_len(self) -> int | None:
        response = await self._http.send("GET", "/v1/models")
        if response.status_code != 200:
            return None
        try:
            models = WireModelList.model_validate(response.json())
        except ValueError:
            return None
        return models.data[0].max_model_len if models.data else None

    async def health(self) -> EngineHealth:
        """`/health_generate` runs one token through the model: 200 when it can generate, 503
        while the server is starting or stuck. Faults are reported, not raised."""
        try:
            await self._http.request("GET", "/health_generate")
        except EngineError as exc:
            return EngineHealth(ok=False, detail=str(exc))
        return EngineHealth(ok=True, model=self._model or (self._info.name if self._info else ""))

    async def flush_cache(self) -> None:
        """Empty SGLang's radix cache (for clean measurements). SGLang refuses while requests
        are running or waiting: that raises EngineHTTPError (400) saying so."""
        response = await self._http.send("POST", "/flush_cache")
        if response.status_code == 400:
            raise EngineHTTPError(
                f"{self.base_url} did not flush its cache: requests are running or waiting. Retry when it is idle.",
                400,
                response.text,
            )
        self._http.raise_for_status(response, "/flush_cache")

    async def aclose(self) -> None:
        await self._http.aclose()


def _start(prefix_tokens: int) -> int:
    """`logprob_start_len` for choices after `prefix_tokens` tokens: one before the first choice
    token, whose own entry is then the None SGLang puts at the start."""
    return max(prefix_tokens - 1, 0)


def _raise_for_abort(finish: SGLangFinishReason) -> None:
    """SGLang aborts a request it cannot run with a message instead of an HTTP error on some
    paths (always when streaming): a constraint it could not compile and a prompt longer than the
    context are the caller's to fix and raise here; any other abort (a cancelled request, a server shutting
    down) comes back as `finish_reason="abort"`."""
    message = finish.message or "no reason given"
    lowered = message.lower()
    if "grammar" in lowered or "json_schema" in lowered or "regex" in lowered or "ebnf" in lowered:
        raise ConstraintError(f"SGLang could not compile the constraint: {message}. Fix the schema, regex or grammar.")
    overflow = context_overflow(message)
    if overflow is not None:  # the scheduler's "Input length ... exceeds the maximum allowed length"
        raise overflow
    logger.warning("SGLang aborted a request: %s", message)


__all__ = ["SGLangEngine", "SGLangServerInfo", "looks_like_sglang"]
