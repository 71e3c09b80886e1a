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
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from radixagent.engine._http import HTTPTransport, W, Wire, WireTokens, parse_wire
from radixagent.engine.types import ChatMessage


class LlamaTimings(Wire):
    cache_n: int = 0
    prompt_n: int = 0
    prompt_ms: float = 0.0
    predicted_n: int = 0
    predicted_ms: float = 0.0


class LlamaTopLogprob(Wire):
    id: int
    token: str
    logprob: float


class LlamaTokenLogprob(Wire):
    id: int
    token: str
    logprob: float
    top_logprobs: list[LlamaTopLogprob] = Field(default_factory=list)


StopType = Literal["none", "eos", "limit", "word"]


class LlamaCompletion(Wire):
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


class LlamaTemplate(Wire):
    prompt: str


class SlotSaveResult(Wire):
    id_slot: int
    filename: str
    n_saved: int
    n_written: int


class SlotRestoreResult(Wire):
    id_slot: int
    filename: str
    n_restored: int
    n_read: int


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

    def _parse(self, model: type[W], payload: Any, path: str) -> W:
        return parse_wire(model, payload, f"llama.cpp at {self.base_url}{path}")

    # --- model and server ------------------------------------------------------------------

    async def health(self) -> bool:
        payload = await self._http.get("/health")
        return isinstance(payload, dict) and payload.get("status") == "ok"

    # --- text and tokens -------------------------------------------------------------------

    async def tokenize(self, text: str, *, add_special: bool = False, parse_special: bool = True) -> list[int]:
        """Token ids of `text`. `add_special` adds what the model puts before a prompt (BOS,
        if it has one); `parse_special` reads `<|im_start|>`-style markers as the special
        tokens they name, as llama.cpp does for a text prompt."""
        payload = await self._http.post(
            "/tokenize", {"content": text, "add_special": add_special, "parse_special": parse_special}
        )
        return self._parse(WireTokens, payload, "/tokenize").tokens

    async def apply_template(self, messages: Sequence[ChatMessage]) -> str:
        """The model's chat template applied to `messages`, ending with the assistant's turn
        opened (as text, so the prompt can be sent as token ids)."""
        payload = await self._http.post(
            "/apply-template", {"messages": [{"role": m.role, "content": m.content} for m in messages]}
        )
        return self._parse(LlamaTemplate, payload, "/apply-template").prompt

    # --- generation ------------------------------------------------------------------------

    async def completion(self, request: CompletionRequest) -> LlamaCompletion:
        body = request.model_copy(update={"stream": False}).body()
        return self._parse(LlamaCompletion, await self._http.post("/completion", body), "/completion")

    async def stream_completion(self, request: CompletionRequest) -> AsyncIterator[LlamaCompletion]:
        body = request.model_copy(update={"stream": True}).body()
        async for payload in self._stream_http.stream_sse("/completion", body):
            yield self._parse(LlamaCompletion, payload, "/completion (stream)")

    # --- slots -----------------------------------------------------------------------------

    async def save_slot(self, slot: int, filename: str) -> SlotSaveResult:
        """Write slot `slot`'s KV cache to `filename` in the server's slot directory."""
        payload = await self._http.request(
            "POST", f"/slots/{slot}", json_body={"filename": filename}, params={"action": "save"}
        )
        return self._parse(SlotSaveResult, payload, f"/slots/{slot}?action=save")

    async def restore_slot(self, slot: int, filename: str) -> SlotRestoreResult:
        """Load a saved KV cache into slot `slot` (replacing what it held)."""
        payload = await self._http.request(
            "POST", f"/slots/{slot}", json_body={"filename": filename}, params={"action": "restore"}
        )
        return self._parse(SlotRestoreResult, payload, f"/slots/{slot}?action=restore")

