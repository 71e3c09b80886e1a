"""Shared fixtures. Model-backed fixtures are session-scoped: the model loads once per run."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from radixagent.models import default_model_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def model_path() -> str:
    return str(default_model_path())


@pytest.fixture(scope="session")
def llama_server_url(model_path: str) -> Iterator[str]:
    """A real llama.cpp server (xllamacpp) with the default model, on a free loopback port:
    the OpenAI-compatible HTTP peer for the HTTP engines' tests."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.n_parallel = 2
    params.n_ctx = 4096
    params.cpuparams.n_threads = 2
    params.warmup = False
    params.verbosity = -1
    params.port = free_port()
    params.hostnames = ["127.0.0.1"]
    server = xllamacpp.Server(params)
    url = f"http://127.0.0.1:{params.port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the llama.cpp test server at {url} did not come up")
        time.sleep(0.05)
    yield url
    del server
