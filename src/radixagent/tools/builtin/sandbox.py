"""A bubblewrap sandbox for one run of untrusted Python code.

`Sandbox.run` starts `bwrap` (Debian's `bubblewrap`) with fresh user, PID, network, mount,
IPC, UTS and cgroup namespaces, and runs the code inside it with:

- an empty environment (`--clearenv`, then PATH, LANG, HOME=/tmp, TMPDIR=/tmp) and no
  inherited file descriptors except the output pipe; bwrap itself starts with an empty
  environment, so even `/proc/1/environ` inside holds nothing of the server's;
- a read-only root made of `/usr` (with the `/bin`, `/lib`, `/lib64` links; `/usr/local` is
  an empty folder unless the interpreter lives there), its own `/proc`
  (which shows only the sandbox's own processes), a minimal read-only `/dev`, and a private
  tmpfs at `/tmp` capped at `disk_mb`: the only writable place, gone when the run ends. No
  `/etc`, no home directory, no data directory, nothing of the host's `/tmp`. When the
  interpreter lives outside `/usr`, its installation folder is added, read-only;
- only a loopback interface of its own (no route to the host's loopback or anything else);
- no way to create further user namespaces (`--disable-userns`), no capabilities,
  `no_new_privs`, and its own session (`--new-session`: no terminal to inject input into);
- when the server runs as root, an unprivileged uid of its own (see `_sandbox_uid`),
  because root ignores the process limit;
- limits on each process (address space, CPU seconds, file size, no core files), on the
  number of processes and threads together (`RLIMIT_NPROC`, counted in the sandbox's own
  user namespace), and on memory for all processes together: a watchdog sums their
  resident memory every `_POLL_S` (pages shared after a fork counted once, as PSS) and kills
  the whole sandbox when it passes the limit. There is no
  cgroup here, so the hard bound is `max_processes × memory_mb` of address space, and the
  summed limit is enforced within one poll interval;
- a deadline for the whole process tree and for the output pipe: when it passes, or when
  the code's main process exits, the sandbox's PID namespace is killed (bwrap is killed
  and `--die-with-parent` takes the namespace's init, and with it every process, down
  with it). Output is read with a deadline, never by blocking on a pipe a leftover process
  holds open, and only the first `max_output_bytes` are kept.

Where the sandbox cannot be made (no bwrap, no user namespaces, a failing self-check),
`SandboxUnavailableError` is raised: nothing ever runs outside it.
"""

from __future__ import annotations

import itertools
import math
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from radixagent.errors import SandboxUnavailableError

SYSTEM_PYTHON = "/usr/bin/python3"
SANDBOX_PATH = "/usr/bin:/bin"
SCRIPT_PATH = "/tmp/main.py"
_POLL_S = 0.02
_DRAIN_S = 0.5
_PAGE = os.sysconf("SC_PAGE_SIZE")
# Uids for sandboxes started by root: above the ranges systemd gives to dynamic users and
# containers (up to 1879048191) and below its reserved foreign range (2147352576...).
_UID_BASE = 2_000_000_000
_UID_SPAN = 100_000_000
_uid_counter = itertools.count()

# Runs first inside the sandbox: the process limit must be set there, after bwrap made the
# user namespace, so that it counts the sandbox's processes only (not the server user's).
_LAUNCHER = (
    "import os, resource, sys\n"
    "n = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_NPROC, (n, n))\n"
    "os.execv(sys.executable, [sys.executable, '-I', '-u', '-c', sys.argv[3], sys.argv[2]])\n"
)

# Runs the script as a notebook cell runs: as `__main__`, with the value of a last bare
# expression printed ("17 * 23" shows 391), since a model's code often ends with the value it
# wants to see. Tracebacks show the script's frames only; `sys.exit` keeps its status.
_CELL = """\
import ast, sys, traceback
path = sys.argv[1]
sys.argv = [path]
namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
try:
    with open(path, "rb") as script:
        tree = ast.parse(script.read(), path)
except Exception as error:  # a syntax error, a null byte, nesting too deep to parse
    sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
    sys.exit(1)
last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
try:
    exec(compile(tree, path, "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), path, "eval"), namespace)
        if value is not None:
            print(repr(value))
except SystemExit:
    raise
except BaseException as error:
    traceback.print_exception(type(error), error, error.__traceback__.tb_next)
    sys.exit(1)
"""


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0
    memory_mb: int = 512
    max_processes: int = 16
    disk_mb: int = 64
    max_file_mb: int = 16
    max_output_bytes: int = 8192


@dataclass(frozen=True)
class SandboxRun:
    """How one run ended. `exit_code` is negative for a signal (bwrap's 128+N is mapped)."""

    exit_code: int
    output: bytes
    output_bytes: int
    timed_out: bool
    memory_exceeded: bool
    duration_ms: float


class Sandbox:
    """Runs Python code in bubblewrap; see the module docstring for what the code sees."""

    _checked: set[tuple[str, str]] = set()
    _check_lock = threading.Lock()

    def __init__(self, limits: SandboxLimits, *, python: str | Path | None = None, bwrap: str | None = None) -> None:
        self.limits = limits
        self.python = _interpreter(python)
        self.bwrap = bwrap

    # --- availability ----------------------------------------------------------------

    def check(self) -> None:
        """Make sure a sandbox can be made here: bwrap exists and a probe run inside it sees
        its own PID namespace, no network and no host files. Raises `SandboxUnavailableError`;
        a success is remembered for the process's lifetime."""
        bwrap = self._bwrap_path()
        key = (bwrap, self.python)
        with self._check_lock:
            if key in self._checked:
                return
            probe = (
                "import os, socket\n"
                "assert os.getpid() <= 3, os.getpid()\n"
                "assert [n for _, n in socket.if_nameindex()] == ['lo']\n"
                "assert not os.path.exists('/etc') and not os.access('/usr', os.W_OK)\n"
                "print('sandbox-ok')\n"
            )
            limits = SandboxLimits(timeout_s=10.0, memory_mb=max(self.limits.memory_mb, 256), max_processes=8)
            try:
                result = self._run(bwrap, probe, limits)
            except OSError as exc:
                raise SandboxUnavailableError(f"could not start {bwrap}: {exc}") from exc
            if result.exit_code != 0 or result.output.strip() != b"sandbox-ok":
                detail = result.output.decode("utf-8", "replace").strip()[-600:] or f"exit code {result.exit_code}"
                raise SandboxUnavailableError(f"the self-check inside bubblewrap failed: {detail}")
            self._checked.add(key)

    def _bwrap_path(self) -> str:
        if not sys.platform.startswith("linux"):
            raise SandboxUnavailableError(f"it needs Linux namespaces, and this is {sys.platform}")
        found = shutil.which(self.bwrap or "bwrap")
        if found is None:
            raise SandboxUnavailableError(
                f"bubblewrap ({self.bwrap or 'bwrap'}) is not installed: on Debian or Ubuntu, apt-get install bubblewrap"
            )
        return found

    # --- a run ------------------------------------------------------------------------

    def run(self, code: str) -> SandboxRun:
        self.check()
        bwrap = self._bwrap_path()
        try:
            return self._run(bwrap, code, self.limits)
        except OSError as exc:  # bwrap went away or cannot start: never run without it
            raise SandboxUnavailableError(f"could not start {bwrap}: {exc}") from exc

    def _run(self, bwrap: str, code: str, limits: SandboxLimits) -> SandboxRun:
        with tempfile.TemporaryFile(prefix="radixagent-code-") as script:  # unlinked: nothing left on disk
            script.write(code.encode("utf-8"))
            script.flush()
            script.seek(0)
            prefix = _install_prefix(self.python)
            command = [
                bwrap,
                "--unshare-all",
                "--unshare-user",
                "--disable-userns",
                "--die-with-parent",
                "--new-session",
                "--clearenv",
                "--setenv", "PATH", SANDBOX_PATH,
                "--setenv", "LANG", "C.UTF-8",
                "--setenv", "HOME", "/tmp",
                "--setenv", "TMPDIR", "/tmp",
                "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/bin", "/bin",
                "--symlink", "usr/lib", "/lib",
                "--symlink", "usr/lib64", "/lib64",
                "--proc", "/proc",
                "--dev", "/dev",
                "--size", str(limits.disk_mb * 1024 * 1024),
                "--tmpfs", "/tmp",
            ]  # fmt: skip
            if not self.python.startswith("/usr/local/"):
                # Host-local installs and settings (/usr/local/etc, pip's system-wide packages)
                # are not the system Python's business: an empty, read-only folder instead.
                command += ["--tmpfs", "/usr/local", "--remount-ro", "/usr/local"]
            if prefix is not None:
                command += ["--ro-bind", prefix, prefix]
            command += [
                "--ro-bind-data", str(script.fileno()), SCRIPT_PATH,
                "--remount-ro", "/dev",
                "--remount-ro", "/",
                "--chdir", "/tmp",
                self.python, "-I", "-S", "-c", _LAUNCHER, str(limits.max_processes), SCRIPT_PATH, _CELL,
            ]  # fmt: skip
            switch_user = os.geteuid() == 0
            uid = _sandbox_uid() if switch_user else None
            started = time.monotonic()
            process = subprocess.Popen(
                command,
                env={},  # bwrap's own environment shows as /proc/1/environ inside
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                close_fds=True,
                pass_fds=(script.fileno(),),
                start_new_session=True,
                user=uid,
                group=uid,
                extra_groups=[] if switch_user else None,
                preexec_fn=_limits(limits),
            )
        return _supervise(process, limits, started)


def _supervise(process: subprocess.Popen[bytes], limits: SandboxLimits, started: float) -> SandboxRun:
    """Read the output, watch memory and the deadline; kill the sandbox when done."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = started + limits.timeout_s
    kept = bytearray()
    total = 0
    timed_out = memory_exceeded = False
    eof = False
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)

    def read_available() -> bool:
        nonlocal total
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return False
            if not chunk:
                return True
            total += len(chunk)
            room = limits.max_output_bytes - len(kept)
            if room > 0:
                kept.extend(chunk[:room])

    try:
        next_memory_check = 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                timed_out = process.poll() is None or not eof
                break
            if not eof:
                if selector.select(min(_POLL_S, deadline - now)):
                    eof = read_available()
            elif process.poll() is not None:
                break
            else:
                time.sleep(min(_POLL_S, max(deadline - now, 0)))
            if eof and process.poll() is not None:
                break
            now = time.monotonic()
            if now >= next_memory_check:
                memory_limit = limits.memory_mb * 1024 * 1024
                if _tree_memory(process.pid, memory_limit) > memory_limit:
                    memory_exceeded = True
                    break
                spent = time.monotonic() - now  # PSS is slow to read: keep the watchdog under ~20% of a core
                next_memory_check = now + max(_POLL_S, 4 * spent)
    finally:
        if process.poll() is None:
            _kill_sandbox(process)
        # Whatever is still in the pipe; a leftover holder died with the namespace, but
        # never wait on the pipe longer than a moment.
        drain_until = time.monotonic() + _DRAIN_S
        while not eof and time.monotonic() < drain_until:
            if selector.select(_POLL_S):
                eof = read_available()
        selector.close()
        process.stdout.close()
    exit_code = process.returncode
    if exit_code is not None and 128 < exit_code < 128 + 65:
        exit_code = -(exit_code - 128)  # bwrap reports a child killed by signal N as 128+N
    return SandboxRun(
        exit_code=exit_code if exit_code is not None else -signal.SIGKILL,
        output=bytes(kept),
        output_bytes=total,
        timed_out=timed_out,
        memory_exceeded=memory_exceeded,
        duration_ms=(time.monotonic() - started) * 1000,
    )


def _kill_sandbox(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL bwrap's process group (bwrap is its leader and not yet reaped, so the id is
    still ours). The namespace's init has `--die-with-parent`, and when it dies the kernel
    kills every process in the PID namespace."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed bwrap does not linger
        pass


def _tree_memory(pid: int, limit: int) -> int:
    """Memory of `pid` and all its descendants (reparented orphans included: inside the
    sandbox they go to its init, a descendant of bwrap), in bytes. The resident sizes are
    summed first, which is cheap; only when that sum passes `limit` is it recounted as the
    proportional set size (PSS, costly to read), where pages a fork shares with its parent
    count once, not once per process. PSS is never above RSS, so the cheap sum is safe."""
    pids: list[int] = []
    resident = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        if current in pids:
            continue
        try:
            with open(f"/proc/{current}/statm", "rb") as statm:
                resident += int(statm.read().split()[1]) * _PAGE
            pids.append(current)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", "rb") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (OSError, ValueError, IndexError):
            continue
    if resident <= limit:
        return resident
    proportional = 0
    for current in pids:
        try:
            with open(f"/proc/{current}/smaps_rollup", "rb") as rollup:
                # a zombie (exited, not yet waited for) has no Pss line and no memory
                proportional += next((int(line.split()[1]) * 1024 for line in rollup if line.startswith(b"Pss:")), 0)
        except FileNotFoundError:
            if os.path.exists(f"/proc/{current}"):
                return resident  # no PSS from this kernel: count resident pages
        except (OSError, ValueError, IndexError):
            continue  # it exited since the first pass: its memory is gone
    return proportional


def _limits(limits: SandboxLimits) -> Callable[[], None]:
    """The function the child runs before exec: only plain values and C calls in it."""
    memory = limits.memory_mb * 1024 * 1024
    cpu = math.ceil(limits.timeout_s) + 1
    file_size = limits.max_file_mb * 1024 * 1024
    setrlimit = resource.setrlimit

    def apply() -> None:
        setrlimit(resource.RLIMIT_AS, (memory, memory))
        setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _sandbox_uid() -> int:
    """A uid no one else uses, different for each concurrent run, so that the process limit
    counts this run's processes only and no host process shares its identity."""
    return _UID_BASE + (os.getpid() * 4096 + next(_uid_counter)) % _UID_SPAN


def _interpreter(python: str | Path | None) -> str:
    """The interpreter to run inside: by default the system's /usr/bin/python3 (only /usr is
    mounted), else this process's own base interpreter (not its virtualenv)."""
    if python is None:
        python = SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable
    return os.path.realpath(python)


def _install_prefix(python: str) -> str | None:
    """The folder to mount for an interpreter outside /usr: the parent of its bin/."""
    if python.startswith("/usr/"):
        return None
    return str(Path(python).parent.parent)
