"""`execute_code`: run a model's Python code in a bubblewrap sandbox.

Off unless enabled (`RADIXAGENT_ENABLE_CODE=1`, `enable_code=True`, or the CLI flag), because
running code a model wrote is a decision for the operator, not a default.

Each run happens in fresh Linux namespaces (user, PID, network, mount, IPC, UTS) made by
bubblewrap (`sandbox.py` says exactly what the code sees): an empty environment, a read-only
root of `/usr` with no `/etc`, home or data directory, its own `/proc`, no network, a private
size-capped tmpfs at `/tmp` as the only writable place, limits on processes, memory (per
process and summed over all), CPU time and file size, and a wall-clock deadline after which
every process it started is killed. Output (stdout and stderr, interleaved) is capped.

Where the sandbox cannot be made, `run` raises `SandboxUnavailableError` and runs nothing;
there is no weaker fallback. docs/security.md lists what this does and does not guarantee.
"""

from __future__ import annotations

import asyncio
import codecs
import signal
from pathlib import Path

from pydantic import BaseModel, Field

from radixagent.errors import CodeExecutionDisabledError, ConfigurationError, ToolArgumentsError
from radixagent.tools.builtin.sandbox import Sandbox, SandboxLimits

SUPPORTED_LANGUAGES = ("python",)
_PYTHON_ALIASES = frozenset({"python", "python3", "py"})


class CodeResult(BaseModel):
    """How one run of code ended."""

    language: str
    exit_code: int = Field(description="the process's exit status; negative: killed by that signal")
    output: str = Field(description="stdout and stderr, interleaved, at most max_output_bytes of it")
    output_bytes: int = Field(description="bytes the code wrote in all, including what was cut")
    truncated: bool = False
    timed_out: bool = False
    memory_exceeded: bool = Field(
        default=False, description="killed because its processes together used more than the memory limit"
    )
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def observation(self, timeout_s: float | None = None) -> str:
        """The result as the model reads it."""
        if self.timed_out:
            limit = f" after {timeout_s:g} s" if timeout_s is not None else ""
            head = f"timed out{limit}: the process was killed"
        elif self.memory_exceeded:
            head = "killed: its processes together used more memory than allowed"
        elif self.exit_code < 0:
            head = f"killed by signal {_signal_name(-self.exit_code)}"
        else:
            head = f"exit code {self.exit_code}"
        body = self.output if self.output.strip() else "(no output)"
        lines = [head, body.rstrip("\n")]
        if self.truncated:
            lines.append(f"[output truncated: first {len(self.output.encode())} of {self.output_bytes} bytes shown]")
        return "\n".join(lines)


class CodeRunner:
    """Runs Python code in a bubblewrap sandbox; the `execute_code` tool.

    `enabled=None` reads the setting (`RADIXAGENT_ENABLE_CODE`, default off). Calling a
    disabled runner raises `CodeExecutionDisabledError`; calling it where the sandbox cannot
    be made raises `SandboxUnavailableError` (`check_sandbox()` finds that out up front).

    Limits: `timeout_s` of wall time for everything the code starts; `memory_mb` of address
    space per process and of resident memory for all its processes together;
    `max_processes` processes and threads; `disk_mb` for its private /tmp and `max_file_mb`
    per file; `max_output_bytes` of output kept. `python` is the interpreter inside
    (default: /usr/bin/python3; one outside /usr gets its installation folder mounted
    read-only, and must be readable by an unprivileged user)."""

    def __init__(
        self,
        *,
        enabled: bool | None = None,
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        max_output_bytes: int = 8192,
        max_file_mb: int = 16,
        python: str | Path | None = None,
        max_processes: int = 16,
        disk_mb: int = 64,
        bwrap: str | None = None,
    ) -> None:
        if enabled is None:
            from radixagent.settings import get_settings

            enabled = get_settings().enable_code
        if timeout_s <= 0:
            raise ConfigurationError(f"timeout_s must be positive, not {timeout_s}.")
        if memory_mb < 64:
            raise ConfigurationError(f"memory_mb={memory_mb} is too small for Python to start: use 64 or more.")
        if max_output_bytes < 64:
            raise ConfigurationError(f"max_output_bytes={max_output_bytes} is too small: use 64 or more.")
        if max_processes < 4:
            raise ConfigurationError(f"max_processes={max_processes} is too small for the sandbox: use 4 or more.")
        if disk_mb < 1 or max_file_mb < 1:
            raise ConfigurationError("disk_mb and max_file_mb must be at least 1.")
        self.enabled = enabled
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_output_bytes = max_output_bytes
        self.max_file_mb = max_file_mb
        self.max_processes = max_processes
        self.disk_mb = disk_mb
        self.sandbox = Sandbox(
            SandboxLimits(
                timeout_s=timeout_s,
                memory_mb=memory_mb,
                max_processes=max_processes,
                disk_mb=disk_mb,
                max_file_mb=max_file_mb,
                max_output_bytes=max_output_bytes,
            ),
            python=python,
            bwrap=bwrap,
        )
        self.python = self.sandbox.python

    def check_sandbox(self) -> None:
        """Raise `SandboxUnavailableError` unless the sandbox can be made here (runs a probe
        inside it once per process)."""
        self.sandbox.check()

    def run(self, code: str, language: str = "python") -> CodeResult:
        """Run `code` in the sandbox and wait for it (at most `timeout_s`)."""
        if not self.enabled:
            raise CodeExecutionDisabledError()
        lang = language.strip().lower()
        if lang not in _PYTHON_ALIASES:
            raise ToolArgumentsError(
                "execute_code",
                [f"language {language!r} cannot run here: only Python is supported; rewrite the code in Python."],
            )
        if not code.strip():
            raise ToolArgumentsError("execute_code", ["code is empty: give the Python code to run."])
        run = self.sandbox.run(code)
        return CodeResult(
            language="python",
            exit_code=run.exit_code,
            output=codecs.getincrementaldecoder("utf-8")("replace").decode(run.output),  # drops a cut-off last char
            output_bytes=run.output_bytes,
            truncated=run.output_bytes > len(run.output),
            timed_out=run.timed_out,
            memory_exceeded=run.memory_exceeded,
            duration_ms=run.duration_ms,
        )

    async def arun(self, code: str, language: str = "python") -> CodeResult:
        """`run` without blocking the event loop."""
        return await asyncio.to_thread(self.run, code, language)

    async def __call__(self, code: str, language: str = "python") -> str:
        """Run Python code in a sandbox; returns the exit code and the output."""
        return (await self.arun(code, language)).observation(self.timeout_s)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
