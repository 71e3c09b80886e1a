"""HTTP plumbing shared by the engines that talk to a server: one client, one place where
transport faults and 4xx/5xx answers become radixagent's typed errors, one SSE reader, and one
base (`Wire`) and reader (`parse_wire`) for what a server answers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from radixagent.errors import (
    ConstraintError,
    ContextOverflowError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InputError,
)


class Wire(BaseModel):
    """What a server sent: read the fields radixagent uses, ignore the rest."""

    model_config = ConfigDict(extra="ignore")


class WireTokens(Wire):
    """A `/tokenize` answer (llama.cpp, vLLM and SGLang agree on this much)."""

    tokens: list[int]


W = TypeVar("W", bound=BaseModel)


def parse_wire(model: type[W], data: Any, where: str) -> W:
    """Read a server's answer into a wire model; a wrong shape is an EngineResponseError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        shown = json.dumps(data)[:300] if not isinstance(data, str) else repr(data[:300])
        first = exc.errors()[0]
        raise EngineResponseError(
            f"{where} answered in a shape radixagent cannot read ({exc.error_count()} problems, first: "
            f"{first['msg']} at {'.'.join(str(p) for p in first['loc'])}): {shown}. "
            "Is this the kind of server the engine expects?"
        ) from exc


def server_root(url: str) -> str:
    """A server's root URL: users often give the OpenAI base (`.../v1`), the engines need the root."""
    root = url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class HTTPTransport:
    """An httpx.AsyncClient bound to one base URL, raising radixagent errors only."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )

    async def send(
        self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """Send one request and return the raw response, whatever its status. Transport faults
        still become typed errors; the caller decides what each status means (fallback paths,
        a busy server answering 400)."""
        try:
            return await self._client.request(method, path, json=json_body, params=params)
        except httpx.TimeoutException as exc:
            raise self._timeout(path) from exc
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc

    async def request(
        self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """Send one request; return the decoded JSON body (or text when it is not JSON)."""
        response = await self.send(method, path, json_body=json_body, params=params)
        self.raise_for_status(response, path)
        try:
            return response.json()
        except ValueError:
            return response.text

    async def request_json(
        self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """Like `request`, but an answer that is not JSON is an EngineResponseError: for the
        endpoints whose protocol promises JSON."""
        response = await self.send(method, path, json_body=json_body, params=params)
        self.raise_for_status(response, path)
        return self.decode_json(response, path)

    def decode_json(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise EngineResponseError(
                f"{self.base_url}{path} answered with something that is not JSON "
                f"({response.headers.get('content-type', 'no content type')}): {response.text[:200]!r}. "
                "Is the URL the engine's own address?"
            ) from exc

    async def post(self, path: str, body: Any) -> Any:
        return await self.request("POST", path, json_body=body)

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def post_json(self, path: str, body: Any) -> Any:
        return await self.request_json("POST", path, json_body=body)

    async def get_json(self, path: str) -> Any:
        return await self.request_json("GET", path)

    async def stream_sse(self, path: str, body: Any) -> AsyncIterator[Any]:
        """POST `body` and yield each SSE `data:` payload decoded as JSON, up to `[DONE]`."""
        try:
            async with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self.raise_for_status(response, path)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        payload = json.loads(data)
                    except ValueError as exc:
                        raise EngineResponseError(f"{self.base_url}{path} streamed a line that is not JSON: {data[:200]!r}") from exc
                    if isinstance(payload, dict) and "error" in payload:
                        self._raise_for_status(_error_status(payload), json.dumps(payload), path)
                    yield payload
        except httpx.TimeoutException as exc:
            raise self._timeout(path) from exc
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- errors ----------------------------------------------------------------------------

    def _timeout(self, path: str) -> EngineTimeoutError:
        return EngineTimeoutError(
            f"{self.base_url}{path} did not answer within {self._client.timeout.read:g} s: the server may be "
            "overloaded; raise the timeout (--timeout or RADIXAGENT_TIMEOUT) or retry later."
        )

    def _unavailable(self, exc: Exception) -> EngineUnavailableError:
        return EngineUnavailableError(
            f"Cannot reach the engine at {self.base_url} ({type(exc).__name__}: {exc}). "
            "Is the server running, and is the URL right?"
        )

    def raise_for_status(self, response: httpx.Response, path: str) -> None:
        """Turn a 4xx/5xx response into radixagent's typed error; do nothing below 400."""
        if response.status_code >= 400:
            self._raise_for_status(
                response.status_code, response.text, path, retry_after=_retry_after(response.headers.get("retry-after"))
            )

    def _raise_for_status(self, status: int, text: str, path: str, retry_after: float | None = None) -> None:
        if status < 400:
            return
        message = _error_message(text)
        where = f"{self.base_url}{path}"
        if status in (401, 403):
            raise EngineHTTPError(
                f"{where} refused the request ({status}: {message}): check the API key (--api-key or RADIXAGENT_API_KEY).",
                status,
                text,
            )
        if status == 503:
            raise EngineUnavailableError(f"{where} is not ready ({status}: {message}); it may still be loading the model.")
        if status in (404, 405):
            raise EngineHTTPError(
                f"{where} answered {status} ({message}): this server has no such endpoint or model. Give the "
                "server's root URL (no /v1 suffix), check that it is the kind of engine you meant, and that "
                "the model name matches what it serves.",
                status,
                text,
            )
        if status == 429:
            wait = f" (it asked to wait {retry_after:g} s)" if retry_after is not None else ""
            raise EngineHTTPError(
                f"{where} is rate-limiting requests ({status}: {message}){wait}; retry later or send fewer requests.",
                status,
                text,
                retry_after=retry_after,
            )
        if 400 <= status < 500:
            overflow = context_overflow(message)
            if overflow is not None:
                raise overflow
            lowered = message.lower()
            if "grammar" in lowered or "schema" in lowered or "regex" in lowered:
                raise ConstraintError(f"The engine could not compile the constraint: {message}. Fix the schema or pattern.")
            raise InputError(f"{where} rejected the request ({status}): {message}")
        raise EngineHTTPError(
            f"{where} failed ({status}): {message}. Retry, or check the server's log.", status, text, retry_after=retry_after
        )


# SGLang's three ways of saying a prompt does not fit, each with (prompt, context) groups: the
# tokenizer manager's two ValueErrors (tokenizer_manager.py, _validate_one_request) and the
# scheduler's abort (managers/utils.py, validate_input_length), whose limit is the KV-pool bound
# max_req_input_len.
_SGLANG_OVERFLOW = (
    re.compile(r"The input \((?P<prompt>\d+) tokens\) is longer than the model's context length \((?P<context>\d+) tokens\)"),
    re.compile(
        r"Requested token count exceeds the model's maximum context length of (?P<context>\d+) tokens\. "
        r"You requested a total of \d+ tokens: (?P<prompt>\d+) tokens from the input"
    ),
    re.compile(r"Input length \((?P<prompt>\d+) tokens\) exceeds the maximum allowed length \((?P<context>\d+) tokens\)"),
)


def context_overflow(message: str) -> ContextOverflowError | None:
    """The ContextOverflowError an engine's message describes, or None. SGLang's messages are
    read by their own wording, so the numbers land the right way round; other engines' (llama.cpp:
    "the request exceeds the available context size") by the first two numbers."""
    for pattern in _SGLANG_OVERFLOW:
        found = pattern.search(message)
        if found:
            return ContextOverflowError(
                int(found["prompt"]), int(found["context"]), detail=f"(engine: {message})"
            )
    lowered = message.lower()
    if "context" in lowered and ("exceed" in lowered or "too long" in lowered or "size" in lowered):
        return ContextOverflowError(_first_int(message, 0), _first_int(message, 1), detail=f"(engine: {message})")
    return None


def _error_message(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:500] or "no message"
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error)[:500]
        if "message" in body:
            return str(body["message"])[:500]
        if "detail" in body:
            return str(body["detail"])[:500]
        return str(error)[:500]
    return str(body)[:500]


def _error_status(payload: dict[str, Any]) -> int:
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        return int(error["code"])
    return 500


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare from engines and is ignored)."""
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _first_int(text: str, index: int) -> int:
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    return numbers[index] if len(numbers) > index else 0
