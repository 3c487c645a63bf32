"""The sandbox's Application Load Balancer: Debian's HAProxy on a loopback port.

`sandbox up` writes a configuration (one frontend on 127.0.0.1:PORT, one backend with no
server) and starts `haproxy -db` by PID; `sandbox down` stops it by that PID. HAProxy runs
no health check of its own: the ECS scheduler (emulator area `ecs_scheduler`) probes the
targets with the target group's settings and drives HAProxy through its runtime API
(`add server`, `set server ... state ready|drain|maint`, `del server`), so what HAProxy
routes to is exactly what `describe_target_health` calls healthy. With no ready server
HAProxy answers 503, as an ALB with no healthy target does.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from ecslab.sandbox.errors import SandboxError
from ecslab.sandbox.ports import LOOPBACK
from ecslab.sandbox.process import find_binary, pid_alive, spawn, stop_pid, wait_for

BACKEND = "targets"
APT_PACKAGE = "haproxy"
CONFIG_FILE = "haproxy.cfg"
SOCKET_FILE = "haproxy.sock"
LOG_FILE = "lb.log"
START_TIMEOUT = 15.0
_REFUSALS = ("unknown", "error", "not found", "no such", "cannot", "failed")
# Generous client/server timeouts: a learner's load test may hold connections open.
_CONFIG = """\
global
    stats socket {socket} mode 600 level admin expose-fd listeners
    maxconn 4096

defaults
    mode http
    # One server connection per request: a drained or deleted server holds no idle
    # connection (keep-alive with `http-reuse safe` measured slower here: 1,434 vs 1,745
    # req/s through two 0.25-CPU tasks, p99 471 vs 52 ms; bench/sandbox.py).
    option http-server-close
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    retries 2
    option redispatch
    # A request whose connection to a task fails before any response (a task killed at
    # that moment) goes to another task, as a learner expects of a load balancer.
    retry-on conn-failure empty-response response-timeout

frontend alb
    bind {host}:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
"""


def socket_path(state_dir: Path) -> Path:
    """The runtime API socket of the sandbox whose state folder is `state_dir`."""
    return state_dir / SOCKET_FILE


def write_config(state_dir: Path, port: int) -> Path:
    path = state_dir / CONFIG_FILE
    text = _CONFIG.format(socket=socket_path(state_dir), host=LOOPBACK, port=port, backend=BACKEND)
    path.write_text(text)
    return path


def start(state_dir: Path, port: int) -> int:
    """Start HAProxy in the foreground of its own session; its PID once the API answers."""
    binary = find_binary("haproxy", APT_PACKAGE, [Path("/usr/sbin")])
    config = write_config(state_dir, port)
    socket_path(state_dir).unlink(missing_ok=True)
    process = spawn([binary, "-db", "-f", str(config)], state_dir / LOG_FILE, die_with_parent=False)
    runtime = Runtime(socket_path(state_dir))
    wait_for(
        runtime.answers,
        START_TIMEOUT,
        "the sandbox's load balancer (HAProxy)",
        alive=lambda: process.poll() is None,
        log_path=state_dir / LOG_FILE,
    )
    return process.pid


def stop(pid: int | None) -> bool:
    """Stop HAProxy by PID; whether it was running."""
    if pid is None or not pid_alive(pid):
        return False
    stop_pid(pid, term_timeout=10)
    return True


@dataclass(frozen=True)
class Server:
    """One server of the backend as `show servers state` reports it."""

    name: str
    address: str
    port: int
    admin_state: int  # bit 0x1 forced maintenance; bit 0x8 forced drain
    weight: int

    @property
    def state(self) -> str:
        if self.admin_state & 0x1:
            return "maint"
        if self.admin_state & 0x8:
            return "drain"
        return "ready"


class Runtime:
    """HAProxy's runtime API over its admin socket."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.path))
            sock.sendall(line.encode() + b"\n")
            chunks: list[bytes] = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def answers(self) -> bool:
        try:
            return "Name:" in self.command("show info")
        except OSError:
            return False

    def servers(self) -> dict[str, Server]:
        """The backend's servers by name."""
        found: dict[str, Server] = {}
        for line in self.command(f"show servers state {BACKEND}").splitlines():
            fields = line.split()
            # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state
            # srv_uweight srv_iweight ... srv_port (field 18)
            if len(fields) < 19 or not fields[0].isdigit():
                continue
            found[fields[3]] = Server(
                fields[3], fields[4], int(fields[18]), int(fields[6]), int(fields[7])
            )
        return found

    def add(self, name: str, address: str, port: int) -> None:
        """A new server, in maintenance (HAProxy's state for a server it just added)."""
        self._checked(f"add server {BACKEND}/{name} {address}:{port}")

    def set_state(self, name: str, state: str) -> None:
        self._checked(f"set server {BACKEND}/{name} state {state}")

    def delete(self, name: str) -> None:
        self.set_state(name, "maint")
        self.command(f"shutdown sessions server {BACKEND}/{name}")
        self._checked(f"del server {BACKEND}/{name}")

    def _checked(self, line: str) -> None:
        answer = self.command(line).strip()
        lowered = answer.lower()
        if any(
            word in lowered
            for word in ("unknown", "error", "not found", "no such", "cannot", "failed")
        ):
            raise SandboxError(f"HAProxy refused `{line}`: {answer}")
