"""Everything a collector holds, to JSON or CSV files and back, without loss."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from radixagent.errors import InputError
from radixagent.memory.store import AssessmentRecord, FeedbackRecord, RunMetrics, ToolCallMetric
from radixagent.schemas import QualityAssessment

__all__ = ["FeedbackExport", "read_csv_export", "read_json_export", "write_csv_export", "write_json_export"]


class FeedbackExport(BaseModel):
    """Everything a collector sees, as exported to JSON or CSV."""

    version: int = 1
    exported_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    feedback: list[FeedbackRecord] = Field(default_factory=list)
    assessments: list[AssessmentRecord] = Field(default_factory=list)
    runs: list[RunMetrics] = Field(default_factory=list)


# --- JSON ----------------------------------------------------------------------------------


def write_json_export(data: FeedbackExport, path: str | Path) -> Path:
    """Write one JSON file (read it back with `read_json_export`)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(data.model_dump_json(indent=2), encoding="utf-8")
    return target


def read_json_export(path: str | Path) -> FeedbackExport:
    """Read a file written by `write_json_export` (`FeedbackCollector.export_json`)."""
    try:
        return FeedbackExport.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise InputError(f"{path} is not a radixagent feedback export: {exc}") from exc


# --- CSV -----------------------------------------------------------------------------------

_FEEDBACK_COLUMNS = ["id", "session_id", "node_id", "query", "response", "rating", "comment", "metadata", "at"]
_ASSESSMENT_COLUMNS = [
    "id",
    "session_id",
    "node_id",
    "query",
    "response",
    "accuracy_score",
    "coherence_score",
    "completeness_score",
    "overall_score",
    "feedback_comment",
    "source",
    "at",
]
_RUN_COLUMNS = [
    "id",
    "session_id",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "total_tokens",
    "cache_hit_rate",
    "success",
    "error",
    "at",
]
_TOOL_CALL_COLUMNS = ["run_id", "position", "tool", "success", "duration_ms", "error"]


def write_csv_export(data: FeedbackExport, directory: str | Path) -> list[Path]:
    """Write one CSV file per table into `directory` (feedback, assessments, runs, tool_calls);
    read them back with `read_csv_export`."""
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file: a CSV export writes several files, give it a directory.")
    target.mkdir(parents=True, exist_ok=True)
    tables: dict[str, tuple[list[str], list[dict[str, str]]]] = {
        "feedback": (_FEEDBACK_COLUMNS, [_flat_feedback(f) for f in data.feedback]),
        "assessments": (_ASSESSMENT_COLUMNS, [_flat_assessment(a) for a in data.assessments]),
        "runs": (_RUN_COLUMNS, [_flat_run(r) for r in data.runs]),
        "tool_calls": (
            _TOOL_CALL_COLUMNS,
            [_flat_tool_call(r.id, i, c) for r in data.runs for i, c in enumerate(r.tool_calls)],
        ),
    }
    written = []
    for name, (columns, rows) in tables.items():
        file = target / f"{name}.csv"
        with file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        written.append(file)
    return written


def read_csv_export(directory: str | Path) -> FeedbackExport:
    """Read the files written by `write_csv_export` (`FeedbackCollector.export_csv`)."""
    base = Path(directory)
    try:
        calls: dict[str, list[tuple[int, ToolCallMetric]]] = {}
        for row in _rows(base / "tool_calls.csv"):
            metric = ToolCallMetric.model_validate(_optional(row, "error"))
            calls.setdefault(row["run_id"], []).append((int(row["position"]), metric))
        feedback = [
            FeedbackRecord.model_validate(
                _optional(row, "id", "session_id", "node_id") | {"metadata": json.loads(row["metadata"])}
            )
            for row in _rows(base / "feedback.csv")
        ]
        assessments = []
        for row in _rows(base / "assessments.csv"):
            fields = _optional(row, "id", "session_id", "node_id")
            scores = {k: fields.pop(k) for k in QualityAssessment.model_fields}
            assessments.append(AssessmentRecord.model_validate(fields | {"assessment": scores}))
        runs = [
            RunMetrics.model_validate(
                _optional(row, "id", "session_id", "error")
                | {"tool_calls": [m for _, m in sorted(calls.get(row["id"], []), key=lambda p: p[0])]}
            )
            for row in _rows(base / "runs.csv")
        ]
    except (ValidationError, ValueError, KeyError) as exc:
        raise InputError(f"{base} does not hold a readable radixagent CSV export: {exc}") from exc
    return FeedbackExport(feedback=feedback, assessments=assessments, runs=runs)


def _cell(value: Any) -> str:
    """CSV text for a value: None is empty, floats keep every digit, datetimes are ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _flat_feedback(f: FeedbackRecord) -> dict[str, str]:
    row = {c: _cell(getattr(f, c)) for c in _FEEDBACK_COLUMNS if c != "metadata"}
    return row | {"metadata": json.dumps(f.metadata, ensure_ascii=False)}


def _flat_assessment(a: AssessmentRecord) -> dict[str, str]:
    scores = a.assessment.model_dump()
    return {c: _cell(scores[c] if c in scores else getattr(a, c)) for c in _ASSESSMENT_COLUMNS}


def _flat_run(r: RunMetrics) -> dict[str, str]:
    return {c: _cell(getattr(r, c)) for c in _RUN_COLUMNS}


def _flat_tool_call(run_id: int | None, position: int, c: ToolCallMetric) -> dict[str, str]:
    return {
        "run_id": _cell(run_id),
        "position": str(position),
        "tool": c.tool,
        "success": _cell(c.success),
        "duration_ms": _cell(c.duration_ms),
        "error": _cell(c.error),
    }


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError(f"{path} is missing: read_csv_export needs the directory export_csv wrote.")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _optional(row: dict[str, str], *columns: str) -> dict[str, Any]:
    return {k: (None if k in columns and v == "" else v) for k, v in row.items()}
