"""A typed client for llama.cpp's native HTTP server API (`llama-server`, or xllamacpp's
in-process server on a loopback port).

The native `/completion` endpoint is the one that gives everything radixagent needs in one
answer: the generated token ids (`return_tokens`), each token's logprob with its id and the
alternatives (`n_probs`), the engine's own count of cached prompt tokens (`timings.cache_n`),
and a choice of slot (`id_slot`). The slot endpoints (`/slots/{id}?action=save|restore|erase`)
copy a slot's KV cache through a file, which is what lets radixagent place sessions in slots
the way SGLang's radix cache would.

Two connection pools: llama.cpp's HTTP server (cpp-httplib) closes a connection shortly after
a streamed answer, so a plain request sent on that connection next fails with "server
disconnected" (measured: every second plain request after a stream). Streams therefore use
connections of their own that are never reused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from radixagent.engine._http import HTTPTransport
from radixagent.engine.types import ChatMessage
from radixagent.errors import EngineResponseError


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LlamaTimings(_Wire):
    cache_n: int = 0
    prompt_n: int = 0
    prompt_ms: float = 0.0
    predicted_n: int = 0
    predicted_ms: float = 0.0


class LlamaTopLogprob(_Wire):
    id: int
    token: str
    logprob: float


class LlamaTokenLogprob(_Wire):
    id: int
    token: str
    logprob: float
    top_logprobs: list[LlamaTopLogprob] = Field(default_factory=list)


StopType = Literal["none", "eos", "limit", "word"]


class LlamaCompletion(_Wire):
    """One /completion answer, or one streamed chunk of it (then `content` and `tokens` are
    the delta, and only the last chunk has `stop`, `stop_type` and `timings`)."""

    content: str = ""
    tokens: list[int] = Field(default_factory=list)
    stop: bool = False
    stop_type: StopType = "none"
    stopping_word: str = ""
    tokens_cached: int = 0
    tokens_evaluated: int = 0
    truncated: bool = False
    id_slot: int = -1
    timings: LlamaTimings | None = None
    completion_probabilities: list[LlamaTokenLogprob] = Field(default_factory=list)


class CompletionRequest(BaseModel):
    """The /completion fields radixagent sends. Sampling defaults that llama.cpp adds on its
    own (top_k 40, top_p 0.95, min_p 0.05) are switched off unless asked for, so a request
    means the same on every engine."""

    prompt: list[int] | str
    n_predict: int
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    n_probs: int = 0
    id_slot: int = -1
    cache_prompt: bool = True
    return_tokens: bool = True
    grammar: str | None = None
    stream: bool = False

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SlotSaveResult(_Wire):
    id_slot: int
    filename: str
    n_saved: int
    n_written: int


class SlotRestoreResult(_Wire):
    id_slot: int
    filename: str
    n_restored: int
    n_read: int


class LlamaModelMeta(_Wire):
    n_ctx_train: int | None = None
    n_params: int | None = None
    n_vocab: int | None = None


class LlamaProps(_Wire):
    total_slots: int = 1
    model_path: str = ""
    bos_token: str = ""
    eos_token: str = ""


_WireT = TypeVar("_WireT", bound=_Wire)


def _parse(model: type[_WireT], payload: Any, where: str) -> _WireT:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise EngineResponseError(f"llama.cpp answered {where} with something unexpected: {exc.errors()[:2]}") from exc


class LlamaCppClient:
    """llama.cpp's native API, with radixagent's typed errors (see `HTTPTransport`)."""

    def __init__(self, base_url: str, *, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        # cpp-httplib drops an idle keep-alive connection after 5 s; expire ours before that.
        self._http = HTTPTransport(
            self.base_url,
            timeout=timeout,
            transport=httpx.AsyncHTTPTransport(limits=httpx.Limits(keepalive_expiry=4.0)),
        )
        self._stream_http = HTTPTransport(
            self.base_url,
            timeout=timeout,
            transport=httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0)),
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._stream_http.aclose()

    # --- model and server ------------------------------------------------------------------

    async def health(self) -> bool:
        payload = await self._http.get("/health")
        return isinstance(payload, dict) and payload.get("status") == "ok"

    async def props(self) -> LlamaProps:
        return _parse(LlamaProps, await self._http.get("/props"), "/props")

    async def model_meta(self) -> LlamaModelMeta:
        payload = await self._http.get("/v1/models")
        try:
            meta = payload["data"][0].get("meta") or {}
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise EngineResponseError(f"llama.cpp's /v1/models has no model entry: {str(payload)[:200]}") from exc
        return _parse(LlamaModelMeta, meta, "/v1/models")

    # --- text and tokens -------------------------------------------------------------------

    async def tokenize(self, text: str, *, add_special: bool = False, parse_special: bool = True) -> list[int]:
        """Token ids of `text`. `add_special` adds what the model puts before a prompt (BOS,
        if it has one); `parse_special` reads `<|im_start|>`-style markers as the special
        tokens they name, as llama.cpp does for a text prompt."""
        payload = await self._http.post(
            "/tokenize", {"content": text, "add_special": add_special, "parse_special": parse_special}
        )
        try:
            return [int(t) for t in payload["tokens"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineResponseError(f"llama.cpp's /tokenize answered {str(payload)[:200]}") from exc

    async def detokenize(self, token_ids: Sequence[int]) -> str:
        payload = await self._http.post("/detokenize", {"tokens": list(token_ids)})
        try:
            return str(payload["content"])
        except (KeyError, TypeError) as exc:
            raise EngineResponseError(f"llama.cpp's /detokenize answered {str(payload)[:200]}") from exc

    async def apply_template(self, messages: Sequence[ChatMessage]) -> str:
        """The model's chat template applied to `messages`, ending with the assistant's turn
        opened (as text, so the prompt can be sent as token ids)."""
        payload = await self._http.post(
            "/apply-template", {"messages": [{"role": m.role, "content": m.content} for m in messages]}
        )
        try:
            return str(payload["prompt"])
        except (KeyError, TypeError) as exc:
            raise EngineResponseError(f"llama.cpp's /apply-template answered {str(payload)[:200]}") from exc

    # --- generation ------------------------------------------------------------------------

    async def completion(self, request: CompletionRequest) -> LlamaCompletion:
        body = request.model_copy(update={"stream": False}).body()
        return _parse(LlamaCompletion, await self._http.post("/completion", body), "/completion")

    async def stream_completion(self, request: CompletionRequest) -> AsyncIterator[LlamaCompletion]:
        body = request.model_copy(update={"stream": True}).body()
        async for payload in self._stream_http.stream_sse("/completion", body):
            yield _parse(LlamaCompletion, payload, "/completion (stream)")

    # --- slots -----------------------------------------------------------------------------

    async def save_slot(self, slot: int, filename: str) -> SlotSaveResult:
        """Write slot `slot`'s KV cache to `filename` in the server's slot directory."""
        payload = await self._http.request(
            "POST", f"/slots/{slot}", json_body={"filename": filename}, params={"action": "save"}
        )
        return _parse(SlotSaveResult, payload, f"/slots/{slot}?action=save")

    async def restore_slot(self, slot: int, filename: str) -> SlotRestoreResult:
        """Load a saved KV cache into slot `slot` (replacing what it held)."""
        payload = await self._http.request(
            "POST", f"/slots/{slot}", json_body={"filename": filename}, params={"action": "restore"}
        )
        return _parse(SlotRestoreResult, payload, f"/slots/{slot}?action=restore")

    async def erase_slot(self, slot: int) -> None:
        await self._http.request("POST", f"/slots/{slot}", params={"action": "erase"})
