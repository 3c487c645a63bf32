"""The sandbox's Application Load Balancer: Debian's HAProxy on a loopback port.

`sandbox up` writes a configuration (one frontend on 127.0.0.1:PORT, one backend with no
server) and starts `haproxy -db` by PID; `sandbox down` stops it by that PID. HAProxy runs
no health check of its own: the ECS scheduler (emulator area `ecs_scheduler`) probes the
targets with the target group's settings and drives HAProxy through its runtime API
(`add server`, `set server ... state ready|drain|maint`, `set server ... weight N` for a
deployment's traffic split, `del server`), so what HAProxy
routes to is exactly what `describe_target_health` calls healthy. With no ready server
HAProxy answers 503, as an ALB with no healthy target does.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

from ecslab.sandbox.errors import SandboxError
from ecslab.sandbox.ports import LOOPBACK
from ecslab.sandbox.process import find_binary, pid_alive, spawn, stop_pid, wait_for

BACKEND = "targets"
APT_PACKAGE = "haproxy"
CONFIG_FILE = "haproxy.cfg"
SLOTS_FILE = "haproxy-slots.json"  # which slot holds which target: the scheduler's notes
SLOT = "s"
SLOTS = 64  # maximum 10 tasks, twice that during a deployment, plus those draining
FREE_ADDRESS, FREE_PORT = "127.0.0.1", 1  # where an unused slot points (never routed to)
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
    # Keep-alive to the tasks, connections reused across clients: a new TCP connection
    # per request costs a 0.25-CPU task more than the request itself (two tasks behind
    # HAProxy: 1,644-1,792 req/s with one connection per request, 3,145-3,340 with reuse,
    # one task direct 2,160-2,240; wrk, 32 connections). A reused connection the task
    # closed meanwhile (uvicorn's keep-alive is 5 s) is retried on another task (retry-on
    # below), and the scheduler drains a task before it stops it.
    option http-keep-alive
    http-reuse always
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
    # Fixed slots the scheduler points at tasks (`set server ... addr`): HAProxy 2.6 keeps
    # no reusable idle connections for servers made with `add server` (two tasks behind
    # dynamic servers: 1,100-1,450 req/s; behind these slots: 2,600-2,730).
    server-template {slot} 1-{slots} {free_address}:{free_port} disabled
"""


def socket_path(state_dir: Path) -> Path:
    """The runtime API socket of the sandbox whose state folder is `state_dir`."""
    return state_dir / SOCKET_FILE


def write_config(state_dir: Path, port: int) -> Path:
    path = state_dir / CONFIG_FILE
    text = _CONFIG.format(
        socket=socket_path(state_dir),
        host=LOOPBACK,
        port=port,
        backend=BACKEND,
        slot=SLOT,
        slots=SLOTS,
        free_address=FREE_ADDRESS,
        free_port=FREE_PORT,
    )
    path.write_text(text)
    (state_dir / SLOTS_FILE).unlink(missing_ok=True)  # a new HAProxy: every slot is free
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
    """HAProxy's runtime API over its admin socket, with targets kept in fixed slots.

    A target gets a free slot of the backend (`add`), which is pointed at its address and
    port; `delete` points the slot back at nowhere. Which slot holds which target is noted
    in a file beside the socket, so any Runtime on the same socket agrees.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._notes = path.with_name(SLOTS_FILE)

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
        """The targets HAProxy holds, by target name (a slot in use without a note is
        listed under its slot's name, so that a sync frees it)."""
        slots = {slot: name for name, slot in self._slots().items()}
        found: dict[str, Server] = {}
        for line in self.command(f"show servers state {BACKEND}").splitlines():
            fields = line.split()
            # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state
            # srv_uweight srv_iweight ... srv_port (field 18)
            if len(fields) < 19 or not fields[0].isdigit():
                continue
            slot, port = fields[3], int(fields[18])
            if slot not in slots and port == FREE_PORT:
                continue
            name = slots.get(slot, slot)
            found[name] = Server(name, fields[4], port, int(fields[6]), int(fields[7]))
        return found

    def counters(self, column: str) -> dict[str, int]:
        """One `show stat` counter (hrsp_5xx, ...) of each target HAProxy holds, by target
        name; cumulative since HAProxy started or the slot was last reset."""
        lines = self.command(f"show stat {BACKEND} 4 -1").splitlines()
        header = lines[0].lstrip("# ").split(",") if lines else []
        if column not in header:
            return {}
        at, name_at = header.index(column), header.index("svname")
        slots = {slot: name for name, slot in self._slots().items()}
        found: dict[str, int] = {}
        for line in lines[1:]:
            fields = line.split(",")
            if len(fields) > at and fields[name_at] in slots and fields[at].isdigit():
                found[slots[fields[name_at]]] = int(fields[at])
        return found

    def add(self, name: str, address: str, port: int) -> None:
        """A target in a free slot, in maintenance until its state is set."""
        notes = self._slots()
        used = set(notes.values())
        free = next((f"{SLOT}{n}" for n in range(1, SLOTS + 1) if f"{SLOT}{n}" not in used), None)
        if free is None:
            raise SandboxError(f"HAProxy has no free slot left for {name} ({SLOTS} in use)")
        self._checked(f"set server {BACKEND}/{free} state maint")
        self._checked(f"set server {BACKEND}/{free} addr {address} port {port}")
        notes[name] = free
        self._save(notes)

    def set_state(self, name: str, state: str) -> None:
        self._checked(f"set server {BACKEND}/{self._slot(name)} state {state}")

    def set_weight(self, name: str, weight: int) -> None:
        """The server's share of requests (0-256; roundrobin honours changes at once)."""
        self._checked(f"set server {BACKEND}/{self._slot(name)} weight {weight}")

    def delete(self, name: str) -> None:
        notes = self._slots()
        slot = notes.pop(name, name)
        self._checked(f"set server {BACKEND}/{slot} state maint")
        self.command(f"shutdown sessions server {BACKEND}/{slot}")
        self._checked(f"set server {BACKEND}/{slot} addr {FREE_ADDRESS} port {FREE_PORT}")
        self._save(notes)

    def _slot(self, name: str) -> str:
        return self._slots().get(name, name)

    def _slots(self) -> dict[str, str]:
        try:
            notes = json.loads(self._notes.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in notes.items()} if isinstance(notes, dict) else {}

    def _save(self, notes: dict[str, str]) -> None:
        temporary = self._notes.with_suffix(".tmp")
        temporary.write_text(json.dumps(notes), encoding="utf-8")
        temporary.replace(self._notes)

    def _checked(self, line: str) -> None:
        answer = self.command(line).strip()
        lowered = answer.lower()
        if any(
            word in lowered
            for word in ("unknown", "error", "not found", "no such", "cannot", "failed")
        ):
            raise SandboxError(f"HAProxy refused `{line}`: {answer}")
