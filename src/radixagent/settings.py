"""The library's settings, read from `RADIXAGENT_*` environment variables.

One settings object per kind of process: a program using the Python API reads `Settings`
(the engine, the data directory, the database); the server reads `ServerSettings`
(`radixagent.server.config`), which is `Settings` plus the serving knobs, so each variable is
declared once.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The engine, where data lives, and what the built-in tools may do."""

    model_config = SettingsConfigDict(env_prefix="RADIXAGENT_", extra="ignore")

    engine: str = Field(default="embedded", description="'embedded', or the URL of an SGLang or /v1 server")
    model_path: Path | None = Field(default=None, description="GGUF file for the embedded engine; default: bundled")
    context_size: int = Field(default=8192, ge=256, description="tokens of context per session (slot)")
    slots: int = Field(default=6, ge=1, le=64, description="parallel sessions the embedded engine keeps warm")
    threads: int = Field(default=2, ge=1, description="CPU threads for the embedded engine")
    api_key: str | None = Field(default=None, description="Bearer token for a remote engine")
    timeout: float = Field(default=120.0, gt=0, description="seconds to wait for an engine's answer")
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("radixagent")))
    enable_code: bool = Field(default=False, description="let the execute_code tool run the model's Python code")
    database_url: str | None = Field(
        default=None,
        description="where sessions and feedback live: postgresql://user:password@host:port/dbname (shared by "
        "several server replicas), a SQLite file path or sqlite:///path; default: radixagent.db in data_dir",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="an OpenTelemetry collector's OTLP/HTTP address (http://host:4318) to send traces to; default: "
        "OTEL_EXPORTER_OTLP_ENDPOINT when set, else no export (needs the [otel] extra)",
    )


def get_settings() -> Settings:
    """The library's settings, read from the environment now."""
    return Settings()
