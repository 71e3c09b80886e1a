"""The embedded engine: llama.cpp's own server, run in-process by xllamacpp, on a loopback
port, with radixagent choosing the slot for every request.

Why an HTTP server inside the process rather than xllamacpp's in-process `handle_*` calls:
only the HTTP server has `/tokenize`, `/apply-template` and the slot save/restore endpoints,
and the slot endpoints are what make a radix-like prefix cache possible on llama.cpp (see
`slots.py`). Every prompt is sent as token ids, so the engine knows exactly what each slot
holds.

Measured facts this module rests on (xllamacpp 2026.10.11549, SmolLM2-135M, 2 cores):
- a grammar llguidance cannot compile is logged and *ignored*: generation runs unconstrained.
  Constraints are therefore compiled here first (constraints.py).
- `cache_ram_mib` (llama.cpp's host-RAM prompt cache, on by default at 8 GiB) together with
  pinned slots caches nothing, and with `kv_unified` using one slot clears the others. So the
  radix policy runs with `cache_ram_mib=0` and a separate KV cache per slot (`kv_unified` off;
  it also slowed decoding once several slots were full).
- `slot_save_path` must end with a path separator (llama.cpp joins it to the file name).
- deleting the xllamacpp server while one of its HTTP requests is still open never returns;
  closing the client's connections first makes it take ~1 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal

from radixagent.engine.base import Engine, Prompt
from radixagent.engine.constraints import check_output, to_llama, token_ids_grammar
from radixagent.engine.llamacpp import CompletionRequest, LlamaCompletion, LlamaCppClient, LlamaTokenLogprob, StopType
from radixagent.engine.models import DEFAULT_MODEL_NAME, default_model_path, resolve_model_path
from radixagent.engine.prefix import common_prefix_length
from radixagent.engine.slots import SchedulerStats, SlotPlan, SlotScheduler
from radixagent.engine.types import (
    ChatMessage,
    ChoiceScore,
    Completion,
    Constraint,
    EngineHealth,
    FinishReason,
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
    ConfigurationError,
    ContextOverflowError,
    EmptyPromptError,
    EngineError,
    EngineResponseError,
    EngineUnavailableError,
    InputError,
    ModelLoadError,
    RadixAgentError,
)
from radixagent.settings import Settings, get_settings

logger = logging.getLogger(__name__)

SlotPolicy = Literal["radix", "server"]

_FINISH: dict[StopType, FinishReason] = {"eos": "stop", "word": "stop", "limit": "length"}
"""Why llama.cpp stopped, in the engine's words; a stop for no reason it names is an abort."""

_GGUF_MAGIC = b"GGUF"
_STARTUP_TIMEOUT_S = 60.0


def check_gguf(path: Path) -> None:
    """Refuse a file that is not GGUF before llama.cpp tries to load it (a clear error
    instead of llama.cpp's generic "failed to init server")."""
    try:
        with path.open("rb") as handle:
            header = handle.read(8)
    except OSError as exc:
        raise ModelLoadError(str(path)) from exc
    version = int.from_bytes(header[4:8], "little") if len(header) == 8 else 0
    if header[:4] != _GGUF_MAGIC or version not in (2, 3):
        raise ModelLoadError(str(path))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ServerHandle:
    """Owns the xllamacpp server object and the slot-state directory. `stop` is idempotent and
    safe from a finalizer: dropping the last reference to the server shuts it down."""

    def __init__(self, server: Any, url: str, state_dir: str) -> None:
        self.server: Any = server
        self.url = url
        self.state_dir = state_dir

    def stop(self) -> None:
        self.server = None
        shutil.rmtree(self.state_dir, ignore_errors=True)


class _Lease:
    """A slot held for one request; `tokens` is what the slot holds when the request ends."""

    def __init__(self, slot: int, plan: SlotPlan | None) -> None:
        self.slot = slot
        self.plan = plan
        self.tokens: list[int] | None = None
        self.prepare_ms = 0.0

    def holds(self, prompt: Sequence[int], generated: Sequence[int], tokens_cached: int) -> None:
        self.tokens = (list(prompt) + list(generated))[: max(tokens_cached, 0)]


class EmbeddedEngine(Engine):
    """llama.cpp in-process (xllamacpp) with a radix-like slot scheduler.

    `model_path`: any GGUF file (default: the bundled SmolLM2-135M-Instruct).
    `context_size`, `slots`, `threads`, `timeout`: default to `Settings` (RADIXAGENT_*).
    Each slot has its own `context_size` tokens of KV cache.
    `slot_policy`: "radix" (radixagent places each prompt, see slots.py) or "server"
    (llama.cpp picks; only for comparison). `host_cache_mib` enables llama.cpp's host-RAM
    prompt cache, which only works with the "server" policy.
    The server starts on first use and stops in `aclose()` (or when the engine is collected).
    """

    name = "embedded"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        context_size: int | None = None,
        slots: int | None = None,
        threads: int | None = None,
        timeout: float | None = None,
        slot_policy: SlotPolicy = "radix",
        host_cache_mib: int = 0,
        max_saved_states: int = 32,
        max_saved_bytes: int = 2 << 30,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.model_path = resolve_model_path(model_path or settings.model_path)
        check_gguf(self.model_path)
        self.context_size = int(context_size or settings.context_size)
        self.slots = int(slots or settings.slots)
        self.threads = int(threads or settings.threads)
        self.timeout = float(timeout or settings.timeout)
        if self.context_size < 64 or self.slots < 1 or self.threads < 1:
            raise ConfigurationError(
                f"context_size={self.context_size}, slots={self.slots}, threads={self.threads}: "
                "the embedded engine needs a context of at least 64 tokens, one slot and one thread."
            )
        if slot_policy not in ("radix", "server"):
            raise ConfigurationError(f"slot_policy must be 'radix' or 'server', not {slot_policy!r}.")
        if slot_policy == "radix" and host_cache_mib:
            raise ConfigurationError(
                "host_cache_mib (llama.cpp's host-RAM prompt cache) breaks pinned slots: with it, pinned "
                "slots reuse nothing. Use it only with slot_policy='server'."
            )
        self.slot_policy: SlotPolicy = slot_policy
        self.host_cache_mib = host_cache_mib
        self.model_name = DEFAULT_MODEL_NAME if self._is_default_model() else self.model_path.name
        self._scheduler = SlotScheduler(self.slots, max_saved=max_saved_states, max_saved_bytes=max_saved_bytes)
        self._slot_freed = asyncio.Condition()
        self._start_lock = asyncio.Lock()
        self._client: LlamaCppClient | None = None
        self._handle: _ServerHandle | None = None
        self._finalizer: weakref.finalize[[], EmbeddedEngine] | None = None
        self._closed = False

    def _is_default_model(self) -> bool:
        try:
            return self.model_path.resolve() == default_model_path().resolve()
        except RadixAgentError:
            return False

    @property
    def takes_token_ids(self) -> bool:
        return True

    @property
    def url(self) -> str | None:
        """The loopback URL of the running llama.cpp server (None before the first use)."""
        return self._handle.url if self._handle else None

    def slot_stats(self) -> SchedulerStats:
        """How the slot scheduler placed requests so far."""
        return self._scheduler.stats.model_copy()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Load the model now instead of on first use."""
        await self._ensure_started()

    async def _ensure_started(self) -> LlamaCppClient:
        if self._closed:
            raise EngineUnavailableError("The embedded engine was closed: create a new EmbeddedEngine to use it again.")
        if self._client is not None:
            return self._client
        async with self._start_lock:
            if self._client is None:
                started = time.perf_counter()
                handle = await asyncio.to_thread(self._launch)
                self._handle = handle
                self._finalizer = weakref.finalize(self, handle.stop)
                client = LlamaCppClient(handle.url, timeout=self.timeout)
                await self._wait_ready(client)
                self._client = client
                logger.info(
                    "embedded llama.cpp engine ready: %s on %s, %d slots x %d tokens, %d threads (%.2f s)",
                    self.model_name,
                    handle.url,
                    self.slots,
                    self.context_size,
                    self.threads,
                    time.perf_counter() - started,
                )
        return self._client

    def _launch(self) -> _ServerHandle:
        import xllamacpp  # untyped: see [tool.mypy] in pyproject.toml

        state_dir = tempfile.mkdtemp(prefix="radixagent-slots-")
        for attempt in range(2):  # a second port if another process took the first one meanwhile
            params = xllamacpp.CommonParams()
            params.model.path = str(self.model_path)
            params.n_parallel = self.slots
            params.n_ctx = self.context_size * self.slots
            params.kv_unified = False
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.n_threads_http = max(8, 2 * self.slots + 2)
            params.warmup = False
            params.verbosity = -1
            params.endpoint_slots = True
            params.slot_save_path = state_dir + os.sep
            params.cache_ram_mib = self.host_cache_mib
            params.cache_idle_slots = self.host_cache_mib > 0
            params.port = _free_port()
            params.hostnames = ["127.0.0.1"]
            try:
                server = xllamacpp.Server(params)
            except RuntimeError as exc:
                logger.warning("llama.cpp failed to start with %s (attempt %d): %s", self.model_path, attempt + 1, exc)
                continue
            return _ServerHandle(server, f"http://127.0.0.1:{params.port}", state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        raise ModelLoadError(str(self.model_path))

    async def _wait_ready(self, client: LlamaCppClient) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while True:
            try:
                if await client.health():
                    return
            except EngineError:
                pass
            if time.monotonic() > deadline:
                raise EngineUnavailableError(
                    f"The embedded llama.cpp server did not become ready within {_STARTUP_TIMEOUT_S:g} s."
                )
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        """Stop the server and remove saved slot states. In-flight requests fail with
        EngineUnavailableError; the engine cannot be used afterwards."""
        self._closed = True
        client, handle, finalizer = self._client, self._handle, self._finalizer
        self._client = self._handle = self._finalizer = None
        if client is not None:
            await client.aclose()  # open requests first: the server cannot stop under them
        if handle is not None:
            await asyncio.to_thread(handle.stop)
        if finalizer is not None:
            finalizer.detach()

    # --- prompts -------------------------------------------------------------------------

    async def _prompt_ids(self, client: LlamaCppClient, prompt: Prompt) -> list[int]:
        if isinstance(prompt, str):
            return await client.tokenize(prompt, add_special=True)
        if is_chat(prompt):
            return await client.tokenize(await client.apply_template(prompt), add_special=True)
        return [int(i) for i in prompt]

    def _check_fits(self, prompt_tokens: int, max_tokens: int) -> None:
        if prompt_tokens + max_tokens > self.context_size:
            raise ContextOverflowError(
                prompt_tokens,
                self.context_size,
                detail=f"With max_tokens={max_tokens} the request needs {prompt_tokens + max_tokens} tokens.",
            )

    # --- slots ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lease(self, client: LlamaCppClient, ids: list[int]) -> AsyncIterator[_Lease]:
        if self.slot_policy == "server":
            yield _Lease(-1, None)
            return
        async with self._slot_freed:
            while (plan := self._scheduler.acquire(ids)) is None:
                await self._slot_freed.wait()
        lease = _Lease(plan.slot, plan)
        try:
            started = time.perf_counter()
            await self._prepare(client, plan)
            lease.prepare_ms = (time.perf_counter() - started) * 1000
            yield lease
        finally:
            dropped = self._scheduler.release(plan, lease.tokens)
            self._delete_states(dropped)
            async with self._slot_freed:
                self._slot_freed.notify_all()

    async def _prepare(self, client: LlamaCppClient, plan: SlotPlan) -> None:
        """Carry out a plan's saves and restores. A failed copy only costs speed (the prompt
        is then computed), so it is logged, not raised; a vanished server is raised."""
        if plan.save_first is not None:
            await self._save(client, plan.slot, plan.save_first)
        restore = plan.restore
        if plan.copy_from is not None and plan.copy_file is not None:
            try:
                if not self._scheduler.copy_source_ready(plan):  # a busy slot: wait for its request
                    async with self._slot_freed:
                        await self._slot_freed.wait_for(lambda: self._scheduler.copy_source_ready(plan))
                if await self._save(client, plan.copy_from, plan.copy_file):
                    restore = plan.copy_file
            finally:
                self._scheduler.copied(plan)
                async with self._slot_freed:  # the source may be free for others again
                    self._slot_freed.notify_all()
        if restore is not None:
            try:
                result = await client.restore_slot(plan.slot, restore)
                logger.debug("slot %d: restored %d tokens from %s", plan.slot, result.n_restored, restore)
            except EngineUnavailableError:
                raise
            except RadixAgentError as exc:
                logger.warning(
                    "slot %d: could not restore %s (%s); computing the prompt instead", plan.slot, restore, exc
                )

    async def _save(self, client: LlamaCppClient, slot: int, name: str) -> bool:
        try:
            result = await client.save_slot(slot, name)
        except EngineUnavailableError:
            self._scheduler.save_failed(name)
            raise
        except RadixAgentError as exc:
            logger.warning("slot %d: could not save its state (%s)", slot, exc)
            self._scheduler.save_failed(name)
            return False
        self._delete_states(self._scheduler.saved(name, result.n_written))
        logger.debug("slot %d: saved %d tokens (%d bytes) to %s", slot, result.n_saved, result.n_written, name)
        return True

    def _delete_states(self, names: Sequence[str]) -> None:
        if not names or self._handle is None:
            return
        for name in names:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(self._handle.state_dir, name))

    # --- generation ----------------------------------------------------------------------

    def _request(self, ids: list[int], sampling: SamplingParams, grammar: str | None, slot: int) -> CompletionRequest:
        return CompletionRequest(
            prompt=ids,
            n_predict=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k or 0,
            seed=sampling.seed,
            stop=list(sampling.stop),
            n_probs=0 if sampling.logprobs is None else max(1, sampling.logprobs),
            id_slot=slot,
            grammar=grammar,
        )

    async def _begin(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> tuple[LlamaCppClient, list[int], str | None]:
        """The grammar (compiled first: a bad one must not reach llama.cpp, which would ignore
        it), the running server, and the prompt's ids, checked to fit with the answer."""
        grammar = to_llama(constraint).grammar if constraint is not None else None
        client = await self._ensure_started()
        ids = await self._prompt_ids(client, prompt)
        self._check_fits(len(ids), sampling.max_tokens)
        return client, ids, grammar

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        started = time.perf_counter()
        client, ids, grammar = await self._begin(prompt, constraint, sampling)
        async with self._lease(client, ids) as lease:
            response = await client.completion(self._request(ids, sampling, grammar, lease.slot))
            lease.holds(ids, response.tokens, response.tokens_cached)
        return self._completion(
            ids,
            response,
            response.content,
            response.tokens,
            response.completion_probabilities,
            constraint,
            sampling,
            started,
            first_token_ms=None,
        )

    async def _stream(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]:
        started = time.perf_counter()
        client, ids, grammar = await self._begin(prompt, constraint, sampling)
        texts: list[str] = []
        token_ids: list[int] = []
        probs: list[LlamaTokenLogprob] = []
        final: LlamaCompletion | None = None
        first_token_ms: float | None = None
        async with self._lease(client, ids) as lease:
            async for chunk in client.stream_completion(self._request(ids, sampling, grammar, lease.slot)):
                if first_token_ms is None and (chunk.content or chunk.tokens):
                    first_token_ms = (time.perf_counter() - started) * 1000
                texts.append(chunk.content)
                token_ids.extend(chunk.tokens)
                probs.extend(chunk.completion_probabilities)
                if chunk.stop:
                    final = chunk
                if chunk.content or chunk.tokens:
                    yield StreamChunk(text=chunk.content, token_ids=list(chunk.tokens))
            if final is None:
                raise EngineResponseError("llama.cpp ended the stream without its final message.")
            lease.holds(ids, token_ids, final.tokens_cached)
        yield StreamChunk(
            completion=self._completion(
                ids, final, "".join(texts), token_ids, probs, constraint, sampling, started, first_token_ms
            )
        )

    def _completion(
        self,
        ids: list[int],
        response: LlamaCompletion,
        text: str,
        token_ids: list[int],
        probs: list[LlamaTokenLogprob],
        constraint: Constraint | None,
        sampling: SamplingParams,
        started: float,
        first_token_ms: float | None,
    ) -> Completion:
        finish = _FINISH.get(response.stop_type, "abort")
        if response.stop_type == "eos":
            check_output(constraint, text)
        timings = response.timings
        return Completion(
            text=text,
            finish_reason=finish,
            usage=Usage(
                prompt_tokens=len(ids),
                completion_tokens=timings.predicted_n if timings else len(token_ids),
                cached_tokens=timings.cache_n if timings else 0,
            ),
            timings=Timings(
                total_ms=(time.perf_counter() - started) * 1000,
                prompt_ms=timings.prompt_ms if timings else None,
                decode_ms=timings.predicted_ms if timings else None,
                first_token_ms=first_token_ms,
            ),
            token_ids=list(token_ids),
            logprobs=_logprobs(probs, sampling.logprobs) if sampling.logprobs is not None else None,
            model=self.model_name,
        )

    # --- scoring -------------------------------------------------------------------------

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        """SGLang `select`: each choice's own tokens (as tokenized after the prefix) are forced
        one by one with a token-id grammar at temperature 0, and the logprobs llama.cpp reports
        for them (the model's, before the grammar) are averaged."""
        client = await self._ensure_started()
        scores: list[ChoiceScore] = []
        usage = Usage()
        base = await client.tokenize(prefix, add_special=True) if isinstance(prefix, str) else [int(t) for t in prefix]
        for choice in choices:
            if isinstance(prefix, str):
                full = await client.tokenize(prefix + choice, add_special=True)
                cut = common_prefix_length(base, full)
                prompt, forced = full[:cut], full[cut:]
            else:
                prompt, forced = base, await client.tokenize(choice)
            if not prompt:
                raise EmptyPromptError()
            if not forced:
                raise InputError(f"The choice {choice!r} has no tokens of its own after the prefix.")
            self._check_fits(len(prompt), len(forced))
            request_sampling = SamplingParams(max_tokens=len(forced), temperature=0.0, logprobs=0)
            async with self._lease(client, prompt) as lease:
                response = await client.completion(
                    self._request(prompt, request_sampling, token_ids_grammar(forced), lease.slot)
                )
                lease.holds(prompt, response.tokens, response.tokens_cached)
            logprobs = _forced_logprobs(forced, response.tokens, [(p.id, p.logprob) for p in response.completion_probabilities])
            if logprobs is None:
                raise EngineResponseError(
                    f"llama.cpp did not follow the forced tokens of {choice!r}: asked {forced}, got {response.tokens}."
                )
            scores.append(
                ChoiceScore(choice=choice, mean_logprob=sum(logprobs) / len(logprobs), token_logprobs=logprobs)
            )
            timings = response.timings
            usage = usage + Usage(
                prompt_tokens=len(prompt),
                completion_tokens=len(forced),
                cached_tokens=timings.cache_n if timings else 0,
            )
        return ScoreResult(scores=scores, usage=usage)

    # --- the rest of the interface -------------------------------------------------------

    async def render_chat(self, messages: Sequence[ChatMessage]) -> str | None:
        """The model's own chat template, through llama.cpp's /apply-template."""
        client = await self._ensure_started()
        return await client.apply_template(messages)

    async def tokenize(self, text: str) -> list[int]:
        client = await self._ensure_started()
        return await client.tokenize(text, add_special=False)

    async def health(self) -> EngineHealth:
        try:
            client = await self._ensure_started()
            ok = await client.health()
        except RadixAgentError as exc:
            return EngineHealth(ok=False, model=self.model_name, detail=str(exc))
        return EngineHealth(ok=ok, model=self.model_name, detail="" if ok else "llama.cpp is not ready")

    async def model_info(self) -> ModelInfo:
        return ModelInfo(name=self.model_name, context_size=self.context_size, path=str(self.model_path))


def _forced_logprobs(forced: Sequence[int], got: Sequence[int], entries: Sequence[tuple[int, float]]) -> list[float] | None:
    """The logprob of each forced token, or None when llama.cpp generated other tokens.

    llama.cpp reports one entry per piece of text, under the piece's last token: a character
    whose UTF-8 bytes span several tokens (Korean, emoji) has one entry for all of them. Its
    leading tokens get 0.0, so every choice that shares the text loses the same terms and the
    ranking between them holds."""
    if list(got) != list(forced):
        return None
    logprobs = [0.0] * len(forced)
    position = len(forced) - 1
    for token, logprob in reversed(entries[: len(forced)]):
        while position >= 0 and forced[position] != token:
            position -= 1
        if position < 0:
            return None
        logprobs[position] = logprob
        position -= 1
    return logprobs


def _logprobs(probs: Sequence[LlamaTokenLogprob], alternatives: int | None) -> list[TokenLogprob]:
    keep = alternatives or 0
    return [
        TokenLogprob(
            token=p.token,
            logprob=p.logprob,
            token_id=p.id,
            top=[TopLogprob(token=t.token, logprob=t.logprob, token_id=t.id) for t in p.top_logprobs[:keep]],
        )
        for p in probs
    ]
