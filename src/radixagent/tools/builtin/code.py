"""`execute_code`: run a model's Python code in a separate, limited process.

Off unless enabled (`RADIXAGENT_ENABLE_CODE=1`, `enable_code=True`, or the CLI flag), because
running code a model wrote is a decision for the operator, not a default.

Each run gets a fresh, unbuffered Python (`sys.executable -I -u`: no user site-packages, no PYTHON*
variables) in a new temporary directory that is removed afterwards, an environment with no
inherited variables (only PATH, LANG, HOME and TMPDIR, the last two pointing at that
directory, so secrets in the parent's environment stay there), and limits: wall time (the
whole process group is killed), CPU seconds, address space (memory), file size, no core
files. Output (stdout and stderr, interleaved) is capped.

These are limits, not a security sandbox: the code runs as the same user, can read what that
user can read and can use the network. Run radixagent in a container or VM, as an
unprivileged user, if the model may be hostile.
"""

from __future__ import annotations

import asyncio
import codecs
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field

from radixagent.errors import CodeExecutionDisabledError, ConfigurationError, ToolArgumentsError

SUPPORTED_LANGUAGES = ("python",)
_PYTHON_ALIASES = frozenset({"python", "python3", "py"})
_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


class CodeResult(BaseModel):
    """How one run of code ended."""

    language: str
    exit_code: int = Field(description="the process's exit status; negative: killed by that signal")
    output: str = Field(description="stdout and stderr, interleaved, at most max_output_bytes of it")
    output_bytes: int = Field(description="bytes the code wrote in all, including what was cut")
    truncated: bool = False
    timed_out: bool = False
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def observation(self, timeout_s: float | None = None) -> str:
        """The result as the model reads it."""
        if self.timed_out:
            limit = f" after {timeout_s:g} s" if timeout_s is not None else ""
            head = f"timed out{limit}: the process was killed"
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
    """Runs Python code in a limited subprocess; the `execute_code` tool.

    `enabled=None` reads the setting (`RADIXAGENT_ENABLE_CODE`, default off). Calling a
    disabled runner raises `CodeExecutionDisabledError`."""

    def __init__(
        self,
        *,
        enabled: bool | None = None,
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        max_output_bytes: int = 8192,
        max_file_mb: int = 16,
        python: str | Path = sys.executable,
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
        self.enabled = enabled
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_output_bytes = max_output_bytes
        self.max_file_mb = max_file_mb
        self.python = str(python)

    def run(self, code: str, language: str = "python") -> CodeResult:
        """Run `code` and wait for it (at most `timeout_s`)."""
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

        workdir = tempfile.mkdtemp(prefix="radixagent-code-")
        try:
            script = Path(workdir) / "main.py"
            script.write_text(code, encoding="utf-8")
            return self._run_process(script, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def arun(self, code: str, language: str = "python") -> CodeResult:
        """`run` without blocking the event loop."""
        return await asyncio.to_thread(self.run, code, language)

    async def __call__(self, code: str, language: str = "python") -> str:
        """Run Python code in a limited subprocess; returns the exit code and the output."""
        return (await self.arun(code, language)).observation(self.timeout_s)

    # --- the process -------------------------------------------------------------------

    def _run_process(self, script: Path, workdir: str) -> CodeResult:
        env = {"PATH": _SAFE_PATH, "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
        started = time.perf_counter()
        try:
            process = subprocess.Popen(
                [self.python, "-I", "-u", str(script)],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                close_fds=True,
                start_new_session=True,  # its own process group, killed as a whole
                preexec_fn=self._limits(),
            )
        except OSError as exc:
            raise ConfigurationError(
                f"Could not start {self.python}: {exc}. Give the path of a Python interpreter."
            ) from exc
        assert process.stdout is not None
        collector = _OutputCollector(process.stdout, self.max_output_bytes)
        collector.start()
        timed_out = False
        try:
            process.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process.pid)  # also whatever the code left running in the background
            process.wait()
        collector.join(timeout=5)
        process.stdout.close()
        return CodeResult(
            language="python",
            exit_code=process.returncode,
            output=codecs.getincrementaldecoder("utf-8")("replace").decode(collector.kept),  # drops a cut-off last char
            output_bytes=collector.total,
            truncated=collector.total > len(collector.kept),
            timed_out=timed_out,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    def _limits(self) -> Callable[[], None]:
        """The function the child runs before exec: only plain values and C calls in it."""
        memory = self.memory_mb * 1024 * 1024
        cpu = math.ceil(self.timeout_s) + 1
        file_size = self.max_file_mb * 1024 * 1024
        setrlimit = resource.setrlimit

        def apply() -> None:
            setrlimit(resource.RLIMIT_AS, (memory, memory))
            setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
            setrlimit(resource.RLIMIT_CORE, (0, 0))

        return apply


class _OutputCollector(threading.Thread):
    """Reads a pipe to the end, keeping the first `limit` bytes and counting the rest, so a
    chatty child neither blocks on a full pipe nor fills our memory."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(name="radixagent-code-output", daemon=True)
        self.stream = stream
        self.limit = limit
        self._kept = bytearray()
        self.total = 0

    @property
    def kept(self) -> bytes:
        return bytes(self._kept)

    def run(self) -> None:
        while True:
            chunk = self.stream.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                break
            self.total += len(chunk)
            room = self.limit - len(self._kept)
            if room > 0:
                self._kept += chunk[:room]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
