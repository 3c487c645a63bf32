"""A private Docker engine (dockerd) with no bridge network, for tests and the sandbox.

The engine gets its own socket, data root, exec root and pidfile under one directory and
never touches the network set-up of the host: no bridge, no iptables, no IP masquerading.
Containers therefore have only `lo` unless run with network_mode="host", which keeps all
test traffic on loopback. Stopping goes by PID (SIGTERM, a bounded wait, then SIGKILL),
also stops the containerd that dockerd spawned, and unmounts what dockerd left mounted
(`<exec-root>/netns/default` in particular) before the directory is removed.

`python -m ecslab.sandbox start-dockerd DIR` / `stop-dockerd DIR` do the same from a shell.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ecslab.sandbox.errors import NeedsRootError, SandboxError
from ecslab.sandbox.local_service import LocalService
from ecslab.sandbox.ports import http_status
from ecslab.sandbox.process import (
    find_binary,
    pid_alive,
    run,
    spawn,
    stop_pid,
    stop_process,
    wait_for,
)

if TYPE_CHECKING:
    import docker

APT_PACKAGE = "docker.io"
DAEMON_FLAGS = (
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-masq=false",
)


class PrivateDockerd(LocalService):
    """dockerd under `root`: `start()`, `stop()`, `remove()`, `docker_host`, `client()`.

    `PrivateDockerd.attached(url)` wraps an engine someone else started (CI): start() only
    checks that it answers, and stop()/remove() leave it alone.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        docker_host: str | None = None,
        timeout: float = 30.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self._external_host = docker_host
        self._owns_root = root is None and docker_host is None
        if root is None and docker_host is not None:
            # An attached engine has no directory of ours: nothing is created or removed.
            root = Path(os.devnull)
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="ecslab-docker-"))
        self.timeout = timeout
        self.stop_timeout = stop_timeout
        self.socket_path = self.root / "docker.sock"
        self.data_root = self.root / "data"
        self.exec_root = self.root / "exec"
        self.pidfile = self.root / "dockerd.pid"
        self.log_path = self.root / "dockerd.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None

    @classmethod
    def attached(cls, docker_host: str) -> PrivateDockerd:
        """An engine started elsewhere, reachable at `docker_host` (unix:// or tcp://127.x)."""
        return cls(docker_host=docker_host)

    @property
    def docker_host(self) -> str:
        """The DOCKER_HOST value for this engine."""
        return self._external_host or f"unix://{self.socket_path}"

    # -- lifecycle -------------------------------------------------------------------

    def start(self, *, die_with_parent: bool = True) -> None:
        """Start dockerd and wait (bounded) until its API answers.

        `die_with_parent=False` lets it outlive this process (for `python -m ... start`).
        """
        if self._external_host is not None:
            if not self.ping():
                raise SandboxError(f"no Docker engine answers at {self._external_host}")
            return
        if self.ping():
            return
        if os.geteuid() != 0:
            raise NeedsRootError("dockerd needs root here (rootless mode is not set up)")
        dockerd = find_binary("dockerd", APT_PACKAGE, [Path("/usr/sbin")])
        self.root.mkdir(parents=True, exist_ok=True)
        argv = [
            dockerd,
            f"--host={self.docker_host}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.exec_root}",
            f"--pidfile={self.pidfile}",
            *DAEMON_FLAGS,
        ]
        began = time.monotonic()
        process = spawn(argv, self.log_path, die_with_parent=die_with_parent)
        self._process = process
        wait_for(
            self.ping,
            self.timeout,
            "dockerd",
            alive=lambda: process.poll() is None,
            log_path=self.log_path,
        )
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop dockerd by PID, then the containerd it started, then unmount leftovers."""
        if self._external_host is not None:
            return
        if self._process is not None:
            stop_process(self._process, term_timeout=self.stop_timeout)
            self._process = None
        else:
            pid = _read_pid(self.pidfile)
            if pid is not None:
                stop_pid(pid, term_timeout=self.stop_timeout)
        containerd = _read_pid(self.exec_root / "containerd" / "containerd.pid")
        if containerd is not None:
            stop_pid(containerd, term_timeout=10)
        unmount_under(self.root)

    @property
    def pid(self) -> int | None:
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        return _read_pid(self.pidfile)

    # -- using it --------------------------------------------------------------------

    def ping(self) -> bool:
        """True if the engine's API answers GET /_ping."""
        url = urlsplit(self.docker_host)
        if url.scheme == "unix":
            return _unix_ping(url.path)
        if url.scheme in ("tcp", "http"):
            return http_status(f"http://{url.netloc}/_ping") == 200
        raise SandboxError(f"unsupported docker host {self.docker_host}: use unix:// or tcp://")

    def client(self) -> docker.DockerClient:
        """A docker.DockerClient for this engine (API version negotiated)."""
        import docker

        return docker.DockerClient(base_url=self.docker_host, timeout=120)


def _unix_ping(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = sock.recv(4096)
    except OSError:
        return False
    return answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n", 1)[0]


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    pid = int(text) if text.isdigit() else None
    return pid if pid is not None and pid_alive(pid) else None


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest first (from /proc/self/mountinfo)."""
    prefix = str(root.resolve())
    found: list[Path] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = _unescape(line.split()[4])
            if point == prefix or point.startswith(prefix + "/"):
                found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes (\040 and so on).
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def unmount_under(root: Path) -> None:
    """Unmount everything mounted below `root`; lazily if a plain unmount fails."""
    if not root.exists():
        return
    umount = find_binary("umount", "mount")
    for point in mounts_under(root):
        try:
            run([umount, str(point)], f"umount {point}", timeout=30)
        except SandboxError:
            run([umount, "--lazy", str(point)], f"umount --lazy {point}", timeout=30)
