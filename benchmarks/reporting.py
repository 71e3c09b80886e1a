"""What the model-running benchmark scripts share around a run: the options for the model they
load and for their report, and the report's JSON file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_model_options(parser: argparse.ArgumentParser, *, context: int, context_help: str = "context tokens per slot", llama_server: bool = False) -> None:
    """--model, --threads and --context; with `llama_server`, the options of the llama.cpp
    server a script starts as the baseline: --request-timeout and --baseline-template."""
    parser.add_argument("--model", default=None, help="GGUF path (default: the bundled SmolLM2-135M)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of each engine")
    parser.add_argument("--context", type=int, default=context, help=context_help)
    if llama_server:
        parser.add_argument("--request-timeout", type=float, default=600.0, help="seconds one request may take")
        parser.add_argument("--baseline-template", choices=("tools", "model"), default="tools", help="llama.cpp's chat template (see the module docstring)")


def add_report_options(parser: argparse.ArgumentParser, *, show_wrong: int, show_wrong_help: str, json_help: str) -> None:
    """--show-wrong (how many failures to print) and --json (where to write the whole report)."""
    parser.add_argument("--show-wrong", type=int, default=show_wrong, help=show_wrong_help)
    parser.add_argument("--json", type=Path, default=None, help=json_help)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run's options as JSON values, for the report."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def write_json(path: Path, report: Any) -> None:
    """The report as indented JSON, non-ASCII text kept as it is."""
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
