"""The code tool's sandbox, tried as an attacker: each test is one row of issue 13's table
(what model-written code did before the sandbox), and checks that it is now blocked.

These need bubblewrap and user namespaces (`.ci/run` installs bubblewrap); without them the
runner refuses to run code, and these tests fail rather than skip."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from radixagent.errors import ConfigurationError, SandboxUnavailableError
from radixagent.tools.builtin import CodeRunner

SRC = Path(__file__).parents[1] / "src"


@pytest.fixture
def runner() -> CodeRunner:
    return CodeRunner(enabled=True, timeout_s=5, memory_mb=256)


def run(runner: CodeRunner, code: str) -> str:
    result = runner.run(textwrap.dedent(code))
    assert result.exit_code == 0 and not result.timed_out, result.observation()
    return result.output


def processes_with(marker: str) -> list[int]:
    """Host processes whose command line contains `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def run_as_server(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """A separate 'server' process (with secrets in its environment and on its command
    line) that runs `code` in the sandbox and prints the result."""
    driver = textwrap.dedent(
        """
        import sys
        from radixagent.tools.builtin import CodeRunner
        result = CodeRunner(enabled=True, timeout_s=20, memory_mb=256).run(sys.stdin.read())
        print(result.model_dump_json(), flush=True)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", driver, *args],
        env={**os.environ, **env, "PYTHONPATH": str(SRC)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(textwrap.dedent(code))
    process.stdin.close()
    return process


# --- /proc: environ and cmdline of the server -----------------------------------------------


def test_code_cannot_read_the_servers_environment_or_command_line() -> None:
    secret, key = f"secret-{uuid.uuid4().hex}", f"sk-{uuid.uuid4().hex}"
    code = f"""
        import os
        print('ppid', os.getppid(), 'pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
        for pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['{os.getpid()}']:
            for name in ('environ', 'cmdline'):
                try:
                    print(pid, name, open(f'/proc/{{pid}}/{{name}}', 'rb').read())
                except OSError as exc:
                    print(pid, name, type(exc).__name__)
    """
    server = run_as_server(code, f"--api-key={key}", env={"RADIXAGENT_API_KEYS": key, "MY_SECRET": secret})
    assert server.stdout is not None
    out = server.stdout.read()
    assert server.wait(timeout=30) == 0
    assert secret not in out and key not in out
    assert "RADIXAGENT_API_KEYS" not in out and "MY_SECRET" not in out
    assert f"/proc/{server.pid}" not in out
    output = __import__("json").loads(out)["output"]
    assert output.startswith("ppid 1 pids [1, 2]")  # only the sandbox's init and the code itself
    assert "1 environ b''" in output  # bwrap started with an empty environment
    assert f"{os.getpid()} environ FileNotFoundError" in output  # the host's pids do not exist


# --- files: /etc/passwd, home, the sessions database ----------------------------------------


def test_code_sees_no_host_files(runner: CodeRunner, tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (secret TEXT)")
    paths = ["/etc/passwd", "/etc/shadow", "/etc", "/root", str(Path.home()), str(db), str(tmp_path), "/work", "/home"]
    output = run(
        runner,
        f"""
        import os
        print(sorted(os.listdir('/')))
        for path in {paths!r}:
            print(path, os.path.exists(path))
        print(os.getuid() != 0, os.path.expanduser('~'), os.listdir('/usr/local'))
        """,
    )
    lines = output.splitlines()
    assert lines[0] == str(sorted(["bin", "dev", "lib", "lib64", "proc", "tmp", "usr"]))
    assert lines[1:-1] == [f"{path} False" for path in paths]
    assert lines[-1] == "True /tmp []"  # not root; no home; /usr/local (host-local settings) is empty


# --- writes outside the temp dir ------------------------------------------------------------


def test_code_writes_only_to_its_private_tmp(runner: CodeRunner, tmp_path: Path) -> None:
    name = f"radixagent-escape-{uuid.uuid4().hex}"
    targets = [f"/{name}", f"/usr/{name}", f"/dev/{name}", f"/dev/shm/{name}", f"/proc/{name}", str(tmp_path / name)]
    output = run(
        runner,
        f"""
        for path in {targets!r} + ['/tmp/{name}']:
            try:
                open(path, 'w').write('x')
                print(path, 'written')
            except OSError as exc:
                print(path, type(exc).__name__)
        """,
    )
    lines = output.splitlines()
    assert [line.rsplit(" ", 1)[0] for line in lines] == [*targets, f"/tmp/{name}"]
    assert [line.rsplit(" ", 1)[1] for line in lines] == [
        "OSError",  # EROFS
        "OSError",
        "OSError",
        "OSError",
        "FileNotFoundError",  # /proc
        "FileNotFoundError",  # the host's folder is not there at all
        "written",  # its own tmpfs ...
    ]
    assert not (Path("/tmp") / name).exists() and not (tmp_path / name).exists()  # ... which the host never sees
    assert not any(Path(p).exists() for p in targets[:3])


# --- network ------------------------------------------------------------------------------


def test_code_cannot_reach_the_hosts_loopback(runner: CodeRunner) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract_name = f"\0radixagent-test-{uuid.uuid4().hex}"
    abstract.bind(abstract_name)
    abstract.listen()
    try:
        output = run(
            runner,
            f"""
            import socket
            print([name for _, name in socket.if_nameindex()])
            for family, address in [(socket.AF_INET, ('127.0.0.1', {port})), (socket.AF_UNIX, {abstract_name!r})]:
                s = socket.socket(family, socket.SOCK_STREAM)
                s.settimeout(1)
                try:
                    s.connect(address)
                    s.sendall(b'hello')
                    print('connected')
                except OSError as exc:
                    print(type(exc).__name__)
            try:
                socket.create_connection(('1.1.1.1', 53), timeout=1)
                print('connected')
            except OSError as exc:
                print(type(exc).__name__)
            """,
        )
        assert output.splitlines() == ["['lo']", "ConnectionRefusedError", "ConnectionRefusedError", "OSError"]
        for server in (listener, abstract):
            server.settimeout(0.1)
            with pytest.raises(TimeoutError):
                server.accept()
    finally:
        listener.close()
        abstract.close()


# --- setsid, double fork, the output pipe held open -------------------------------------------

DOUBLE_FORK = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # the grandchild keeps stdout open and sleeps
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'])
    os._exit(0)
print('started', flush=True)
"""


def test_a_double_forked_grandchild_dies_with_the_run() -> None:
    runner = CodeRunner(enabled=True, timeout_s=3)
    marker = f"radixagent-marker-{uuid.uuid4().hex}"
    started = time.monotonic()
    result = runner.run(DOUBLE_FORK.format(marker=marker))  # main exits at once, the pipe stays open
    assert time.monotonic() - started < 1.5
    assert result.ok and result.output == "started\n"
    assert processes_with(marker) == []


def test_the_deadline_covers_the_process_tree_and_the_pipe() -> None:
    runner = CodeRunner(enabled=True, timeout_s=1.5)
    marker = f"radixagent-marker-{uuid.uuid4().hex}"
    threads_before = threading.active_count()
    started = time.monotonic()
    result = runner.run(DOUBLE_FORK.format(marker=marker) + "time.sleep(60)\n")
    took = time.monotonic() - started
    assert result.timed_out and result.output == "started\n"
    assert 1.4 < took < 2.5
    assert processes_with(marker) == []
    assert threading.active_count() == threads_before  # no reader thread left behind


def test_the_sandbox_dies_with_the_server() -> None:
    marker = f"radixagent-marker-{uuid.uuid4().hex}"
    server = run_as_server(
        f"import os, sys\nos.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'])",
        env={},
    )
    try:
        deadline = time.monotonic() + 15
        while not processes_with(marker):
            assert time.monotonic() < deadline, "the sandboxed process never started"
            time.sleep(0.05)
        server.kill()
        server.wait()
        deadline = time.monotonic() + 2
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with(marker) == []
    finally:
        server.kill()
        server.wait()


# --- memory, processes and disk across processes --------------------------------------------


def test_memory_is_limited_for_all_processes_together() -> None:
    runner = CodeRunner(enabled=True, timeout_s=5, memory_mb=256)
    result = runner.run(
        textwrap.dedent(
            """
            import os, time
            for _ in range(2):
                if os.fork() == 0:
                    block = bytearray(200 * 1024 * 1024)  # each is under the per-process limit
                    time.sleep(10)
                    os._exit(0)
            print('forked', flush=True)
            time.sleep(10)
            """
        )
    )
    assert result.memory_exceeded and not result.timed_out and not result.ok
    assert result.duration_ms < 4000
    assert result.observation().startswith("killed: its processes together used more memory than allowed")

    shared = runner.run(  # pages a fork shares with its parent count once
        textwrap.dedent(
            """
            import os, time
            block = bytearray(150 * 1024 * 1024)
            for _ in range(3):
                if os.fork() == 0:
                    time.sleep(0.5)
                    os._exit(0)
            for _ in range(3):
                os.wait()
            print('shared')
            """
        )
    )
    assert shared.ok and shared.output == "shared\n", shared.observation()


def test_the_number_of_processes_is_limited() -> None:
    runner = CodeRunner(enabled=True, timeout_s=5, max_processes=8)
    output = run(
        runner,
        """
        import os, time
        children = 0
        while children < 100:
            try:
                pid = os.fork()
            except OSError as exc:
                print('stopped', children, type(exc).__name__)
                break
            if pid == 0:
                time.sleep(10)
                os._exit(0)
            children += 1
        """,
    )
    words = output.split()
    assert words[0] == "stopped" and 0 < int(words[1]) <= 8 and words[2] == "BlockingIOError"


def test_disk_is_limited_for_all_files_together(runner: CodeRunner) -> None:
    capped = CodeRunner(enabled=True, timeout_s=5, disk_mb=8, max_file_mb=3)
    output = run(
        capped,
        """
        import errno, os
        try:
            open('/tmp/big', 'wb').write(b'x' * 4 * 1024 * 1024)
        except OSError as exc:
            print('big', errno.errorcode[exc.errno])
            os.remove('/tmp/big')
        written = 0
        for i in range(10):
            try:
                with open(f'/tmp/f{i}', 'wb') as f:
                    f.write(b'x' * (2 * 1024 * 1024 + 512 * 1024))
                written += 1
            except OSError as exc:
                print('file', i, errno.errorcode[exc.errno])
                break
        print('written', written)
        """,
    )
    assert output.splitlines() == ["big EFBIG", "file 3 ENOSPC", "written 3"]


# --- signals -----------------------------------------------------------------------------


def test_code_cannot_signal_the_server(runner: CodeRunner) -> None:
    result = runner.run(
        textwrap.dedent(
            f"""
            import os, signal, time
            print('ppid', os.getppid())
            try:
                os.kill({os.getpid()}, 0)
                print('reached the server')
            except OSError as exc:
                print(type(exc).__name__)
            if os.fork() == 0:
                time.sleep(10)
            os.kill(-1, signal.SIGKILL)  # every process it may signal: only its own child here
            os.wait()
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError as exc:
                print('nothing else to signal:', type(exc).__name__)
            """
        )
    )
    assert result.output == "ppid 1\nProcessLookupError\nnothing else to signal: ProcessLookupError\n"
    assert result.exit_code == 0
    os.kill(os.getpid(), 0)  # we are still here


# --- no sandbox, no code -------------------------------------------------------------------


def test_without_bubblewrap_the_runner_refuses(tmp_path: Path) -> None:
    missing = CodeRunner(enabled=True, bwrap=str(tmp_path / "no-such-bwrap"))
    with pytest.raises(SandboxUnavailableError, match="bubblewrap .* is not installed") as caught:
        missing.run("print(1)")
    assert isinstance(caught.value, ConfigurationError)

    tmp_path.chmod(0o755)  # bwrap may run as an unprivileged user, who must reach it
    for parent in tmp_path.parents:
        if parent == Path(tempfile.gettempdir()):
            break
        parent.chmod(parent.stat().st_mode | 0o011)
    failing = tmp_path / "bwrap"  # like bwrap on a machine without user namespaces
    failing.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    failing.chmod(0o755)
    runner = CodeRunner(enabled=True, bwrap=str(failing))
    with pytest.raises(SandboxUnavailableError, match="self-check .* failed: bwrap: No permissions"):
        runner.run("print(1)")
    with pytest.raises(SandboxUnavailableError):
        runner.check_sandbox()


def test_runs_in_parallel_do_not_share_limits() -> None:
    runner = CodeRunner(enabled=True, timeout_s=5, max_processes=6)
    code = (
        "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        time.sleep(1); os._exit(0)\nprint('ok')"
    )
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(runner.run(code).output)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["ok\n"] * 4


def test_signal_exit_codes_are_reported(runner: CodeRunner) -> None:
    result = runner.run("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)")
    assert result.exit_code == -signal.SIGTERM
    assert result.observation().startswith("killed by signal SIGTERM")


def test_code_has_no_privileges(runner: CodeRunner) -> None:
    output = run(
        runner,
        """
        import ctypes, os
        status = dict(line.split(':', 1) for line in open('/proc/self/status'))
        print(status['CapEff'].strip(), status['CapBnd'].strip(), status['NoNewPrivs'].strip())
        libc = ctypes.CDLL(None, use_errno=True)
        CLONE_NEWUSER = 0x10000000
        print(libc.unshare(CLONE_NEWUSER), os.strerror(ctypes.get_errno()))
        """,
    )
    # no capabilities, no_new_privs; user namespaces are off (their count is capped at 0: ENOSPC)
    assert output.splitlines() == ["0000000000000000 0000000000000000 1", "-1 No space left on device"]


def test_code_runs_as_a_notebook_cell(runner: CodeRunner) -> None:
    # the value of a last bare expression is printed; nothing else is
    assert run(runner, "6 * 7") == "42\n"
    assert run(runner, "word = 'ab'\nword * 2") == "'abab'\n"
    assert run(runner, "print('once')") == "once\n"  # print's None is not shown
    assert run(runner, "items = []\nitems.append(1)") == ""
    assert run(runner, "for n in range(2):\n    n") == ""  # only a top-level last expression
    assert run(runner, "import sys\nprint(__name__, sys.argv == [__file__])") == "__main__ True\n"


def test_errors_read_as_the_script_s_own(runner: CodeRunner) -> None:
    failed = runner.run("def half(n):\n    return n / 0\n\nhalf(4)")
    assert failed.exit_code == 1
    assert failed.output.startswith("Traceback (most recent call last):\n  File \"/tmp/main.py\", line 4")
    assert failed.output.endswith("ZeroDivisionError: division by zero\n") and "<string>" not in failed.output
    broken = runner.run("total = (1 +")
    assert broken.exit_code == 1 and broken.output.startswith('  File "/tmp/main.py", line 1')
    assert "SyntaxError" in broken.output and "Traceback" not in broken.output
    assert runner.run("import sys\nsys.exit(3)").exit_code == 3
