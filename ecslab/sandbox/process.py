"""Process plumbing shared by the services: find binaries, spawn with a log, wait, stop by PID.

Every service process runs in its own session (so a Ctrl-C aimed at the test run does not
reach it half-way), writes to a log file in the service's root directory, and is stopped by
the PID we recorded, never by name. Every wait has a time limit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ecslab.sandbox.errors import MissingBinaryError, ServiceStartError

_PR_SET_PDEATHSIG = 1


def find_binary(name: str, apt_package: str, extra_dirs: Iterable[Path] = ()) -> str:
    """Return the path of `name` from PATH or `extra_dirs`, or raise MissingBinaryError."""
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = directory / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
    raise MissingBinaryError(name, apt_package)


def spawn(
    argv: Sequence[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    die_with_parent: bool = True,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session with stdout and stderr appended to `log_path`.

    With `die_with_parent` the kernel sends it SIGTERM if we die without stopping it (a
    killed test run), so it cannot outlive us as an orphan.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            preexec_fn=_parent_death_signal() if die_with_parent else None,
        )


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook calling prctl(PR_SET_PDEATHSIG, SIGTERM), or None off Linux.

    prctl is looked up here, in the parent, so the forked child only calls it (no dlopen
    between fork and exec while other threads, such as moto's server, may hold locks).
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def pid_alive(pid: int) -> bool:
    """True while a process with this PID exists (a zombie of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state field follows the command name, which is in parentheses and may hold spaces.
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def wait_for(
    ready: Callable[[], bool],
    timeout: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    log_path: Path | None = None,
) -> float:
    """Poll `ready` until it is true; return the seconds it took.

    Raises ServiceStartError when `timeout` passes or when `alive` says the process died,
    quoting the end of the log so the reason is in the test output.
    """
    start = time.monotonic()
    interval = 0.02
    while True:
        if ready():
            return time.monotonic() - start
        if alive is not None and not alive():
            raise ServiceStartError(f"{what} exited during start-up{log_tail(log_path)}")
        if time.monotonic() - start > timeout:
            raise ServiceStartError(f"{what} not ready after {timeout:.0f} s{log_tail(log_path)}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


def stop_pid(pid: int, term_timeout: float = 30.0, kill_timeout: float = 10.0) -> None:
    """Send SIGTERM to `pid`, wait up to `term_timeout`, then SIGKILL and wait again."""
    for sig, timeout in ((signal.SIGTERM, term_timeout), (signal.SIGKILL, kill_timeout)):
        if not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
    if pid_alive(pid):
        raise ServiceStartError(f"process {pid} survived SIGKILL")


def _reap(pid: int) -> None:
    """Collect `pid` if it is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_process(proc: subprocess.Popen[bytes], term_timeout: float = 30.0) -> None:
    """Stop a process we spawned, by its PID, and reap it."""
    if proc.poll() is None:
        stop_pid(proc.pid, term_timeout=term_timeout)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def log_tail(log_path: Path | None, lines: int = 20) -> str:
    """The last lines of a log file, formatted to append to an error message."""
    if log_path is None or not log_path.exists():
        return ""
    text = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last lines of {log_path} ---\n" + "\n".join(text)


def run(
    argv: Sequence[str],
    what: str,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> str:
    """Run a short command to completion; raise ServiceStartError with its output on failure."""
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceStartError(f"{what} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise ServiceStartError(
            f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()}"
        )
    return done.stdout
