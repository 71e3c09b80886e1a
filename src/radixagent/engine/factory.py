"""One place that turns an engine spec (a flag, `RADIXAGENT_ENGINE`) into an Engine.

    None, "embedded"            the in-process llama.cpp engine (the bundled model by default)
    "http://host:port"          probe: SGLang if /server_info (or /get_server_info) answers
                                like SGLang, else any OpenAI-compatible /v1 server
    "sglang+http://host:port"   SGLang, no probe (also sglang+https)
    "openai+http://host:port"   OpenAI-compatible, no probe (also openai+https)

The scripted engine is not a spec: its replies are code, so tests build `ScriptedEngine(...)`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from radixagent.engine._http import server_root
from radixagent.engine.base import Engine
from radixagent.engine.openai_compat import OpenAICompatibleEngine
from radixagent.engine.sglang import SGLangEngine, looks_like_sglang
from radixagent.errors import (
    ConfigurationError,
    EngineHTTPError,
    EngineTimeoutError,
    EngineUnavailableError,
)
from radixagent.settings import Settings

logger = logging.getLogger(__name__)

_FORMS = (
    "'embedded', an engine URL such as 'http://localhost:30000' (SGLang or any /v1 server), "
    "or a URL with its kind forced: 'sglang+http://...', 'openai+http://...'"
)


def create_engine(
    spec: str | None = None,
    *,
    model_path: str | Path | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
) -> Engine:
    """The engine `spec` names (default: `settings.engine`, itself `embedded` by default).
    `model_path` is for the embedded engine; `api_key` (default `settings.api_key`) is sent as
    a Bearer token to remote engines. A URL without a kind is probed once, here."""
    settings = settings or Settings()
    raw = spec if spec is not None else settings.engine
    text = raw.strip()
    key = api_key if api_key is not None else settings.api_key
    lowered = text.lower()
    if lowered in ("", "embedded"):
        return _embedded(model_path if model_path is not None else settings.model_path, settings)
    if lowered == "scripted":
        raise ConfigurationError(
            "'scripted' is not an engine spec: a scripted engine's replies are code. Build one in Python with "
            f"radixagent.ScriptedEngine([...]); engine specs are {_FORMS}."
        )
    scheme = lowered.split("://", 1)[0] if "://" in lowered else ""
    kind, url = "", text
    if "+" in scheme:
        kind = scheme.split("+", 1)[0]
        url = text[len(kind) + 1 :]
        if kind not in ("sglang", "openai"):
            raise ConfigurationError(f"Unknown engine kind {kind!r} in {raw!r}: engine specs are {_FORMS}.")
    _check_url(url, raw)
    if kind == "sglang":
        return SGLangEngine(url, api_key=key, timeout=settings.timeout)
    if kind == "openai":
        return OpenAICompatibleEngine(url, api_key=key, timeout=settings.timeout)
    if _probe_is_sglang(url, key, settings.timeout):
        logger.info("%s answers like SGLang: using the SGLang engine", url)
        return SGLangEngine(url, api_key=key, timeout=settings.timeout)
    logger.info("%s is not SGLang: using the OpenAI-compatible engine", url)
    return OpenAICompatibleEngine(url, api_key=key, timeout=settings.timeout)


def _embedded(model_path: str | Path | None, settings: Settings) -> Engine:
    from radixagent.engine.embedded import EmbeddedEngine  # loads llama.cpp: only when asked for

    engine: Engine = EmbeddedEngine(model_path, settings=settings)  # context, slots, threads from settings
    return engine


def _check_url(url: str, raw: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"Engine spec {raw!r} is not understood: engine specs are {_FORMS}.")


def _probe_is_sglang(url: str, api_key: str | None, timeout: float) -> bool:
    """Ask the server what it is: SGLang (and sglang-router) answer `/server_info` or the older
    `/get_server_info` with their server arguments and version. Anything else that answers
    HTTP is taken as an OpenAI-compatible server, checked on `/v1/models`."""
    root = server_root(url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    probe_timeout = httpx.Timeout(min(timeout, 10.0))
    try:
        with httpx.Client(base_url=root, headers=headers, timeout=probe_timeout) as client:
            for path in ("/server_info", "/get_server_info"):
                response = client.get(path)
                _refuse_auth(response, root)
                if response.status_code == 200:
                    try:
                        if looks_like_sglang(response.json()):
                            return True
                    except ValueError:
                        pass
            models = client.get("/v1/models")
            _refuse_auth(models, root)
            if models.status_code == 404:
                raise ConfigurationError(
                    f"{root} answers HTTP but is neither SGLang (no /server_info) nor an OpenAI-compatible server "
                    "(no /v1/models): give the engine server's root URL, e.g. http://localhost:30000."
                )
            return False
    except httpx.TimeoutException as exc:
        raise EngineTimeoutError(
            f"{root} did not answer within {probe_timeout.read:g} s while radixagent asked what engine it is: "
            "is the server overloaded or still starting? Retry, or force the kind with sglang+URL / openai+URL."
        ) from exc
    except httpx.TransportError as exc:
        raise EngineUnavailableError(
            f"Nothing answers at {root} ({type(exc).__name__}: {exc}). Check that the engine server is running, "
            "that the host and port are right (SGLang listens on 30000 by default), and that no firewall is in "
            "the way; or run without a server with --engine embedded."
        ) from exc


def _refuse_auth(response: httpx.Response, root: str) -> None:
    if response.status_code in (401, 403):
        raise EngineHTTPError(
            f"{root} refused radixagent's request ({response.status_code}): check the API key "
            "(--api-key or RADIXAGENT_API_KEY).",
            response.status_code,
            response.text,
        )


__all__ = ["create_engine"]
