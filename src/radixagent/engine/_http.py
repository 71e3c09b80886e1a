"""HTTP plumbing shared by the engines that talk to a server: one client, one place where
transport faults and 4xx/5xx answers become radixagent's typed errors, one SSE reader."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from radixagent.errors import (
    ConstraintError,
    ContextOverflowError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InputError,
)


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

    async def request(
        self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """Send one request; return the decoded JSON body (or text when it is not JSON)."""
        try:
            response = await self._client.request(method, path, json=json_body, params=params)
        except httpx.TimeoutException as exc:
            raise self._timeout(path) from exc
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        self._raise_for_status(response.status_code, response.text, path)
        try:
            return response.json()
        except ValueError:
            return response.text

    async def post(self, path: str, body: Any) -> Any:
        return await self.request("POST", path, json_body=body)

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def stream_sse(self, path: str, body: Any) -> AsyncIterator[Any]:
        """POST `body` and yield each SSE `data:` payload decoded as JSON, up to `[DONE]`."""
        try:
            async with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._raise_for_status(response.status_code, response.text, path)
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

    def _raise_for_status(self, status: int, text: str, path: str) -> None:
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
        if 400 <= status < 500:
            lowered = message.lower()
            if "context" in lowered and ("exceed" in lowered or "too long" in lowered or "size" in lowered):
                raise ContextOverflowError(_first_int(message, 0), _first_int(message, 1), detail=f"(engine: {message})")
            if "grammar" in lowered or "schema" in lowered or "regex" in lowered:
                raise ConstraintError(f"The engine could not compile the constraint: {message}. Fix the schema or pattern.")
            raise InputError(f"{where} rejected the request ({status}): {message}")
        raise EngineHTTPError(f"{where} failed ({status}): {message}. Retry, or check the server's log.", status, text)


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
        return str(error)[:500]
    return str(body)[:500]


def _error_status(payload: dict[str, Any]) -> int:
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        return int(error["code"])
    return 500


def _first_int(text: str, index: int) -> int:
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    return numbers[index] if len(numbers) > index else 0
