"""The sandbox's load balancer: forwards HTTP to healthy tasks, round-robin, on loopback.

moto creates the ALB, listener and target group, but its DNS name leads nowhere. This
stand-in plays the ALB's data plane: it listens on 127.0.0.1 on a port that stays the same
across runs (so verify_url does too), reads its targets ("127.0.0.1:PORT" lines, written by
the run-tasks step) from a JSON file whenever the file changes, health-checks `GET /health`
on each every few seconds, and forwards every request to the next healthy target. With no
healthy target it answers 503, as an ALB does. Request bodies are capped; every upstream
call has a timeout. Targets must be loopback addresses.

Run it as `python -m ecslab.sandbox serve-lb --port P --targets FILE`.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ecslab.sandbox.ports import LOOPBACK

MAX_BODY = 1024 * 1024
UPSTREAM_TIMEOUT = 10.0
HEALTH_TIMEOUT = 2.0
HEALTH_PATH = "/health"
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def is_loopback_target(target: str) -> bool:
    import ipaddress

    host, _, port = target.rpartition(":")
    try:
        loopback = ipaddress.IPv4Address(host).is_loopback  # an address, never a name
    except ValueError:
        return False
    return loopback and port.isdigit() and 0 < int(port) < 65536


def write_targets(path: Path, targets: list[str]) -> None:
    """Atomically replace the LB's target list (the LB notices the change)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(targets)) + "\n")
    tmp.replace(path)


class TargetPool:
    """The targets from the file, their health, and the round-robin position."""

    def __init__(self, targets_file: Path) -> None:
        self.targets_file = targets_file
        self._lock = threading.Lock()
        self._targets: list[str] = []
        self._healthy: dict[str, bool] = {}
        self._stamp: float | None = None
        self._next = 0

    def reload(self) -> None:
        """Re-read the file if it changed; new targets are health-checked at once, so a
        request right after run-tasks rewrote the file already reaches the new tasks."""
        try:
            stamp: int | None = self.targets_file.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp == self._stamp and self._stamp is not None:
                return
        targets = _read_targets(self.targets_file) if stamp is not None else []
        fresh = {t: probe(t, HEALTH_PATH) == 200 for t in targets if t not in self._healthy}
        with self._lock:
            self._stamp = stamp
            self._targets = targets
            self._healthy = {t: fresh.get(t, self._healthy.get(t, False)) for t in targets}

    def check_health(self) -> None:
        """Probe every target's /health; only a 200 counts as healthy."""
        self.reload()
        with self._lock:
            targets = list(self._targets)
        results = {t: probe(t, HEALTH_PATH) == 200 for t in targets}
        with self._lock:
            self._healthy.update({t: ok for t, ok in results.items() if t in self._healthy})

    def healthy(self) -> list[str]:
        with self._lock:
            return [t for t in self._targets if self._healthy.get(t)]

    def pick(self) -> list[str]:
        """The healthy targets, starting at the next one in round-robin order."""
        self.reload()
        with self._lock:
            ready = [t for t in self._targets if self._healthy.get(t)]
            if not ready:
                return []
            start = self._next % len(ready)
            self._next += 1
        return ready[start:] + ready[:start]

    def mark_down(self, target: str) -> None:
        with self._lock:
            if target in self._healthy:
                self._healthy[target] = False


def _read_targets(path: Path) -> list[str]:
    try:
        raw = json.loads(path.read_text() or "[]")
    except (OSError, ValueError):
        return []
    if not isinstance(raw, list):
        return []
    return [t for t in raw if isinstance(t, str) and is_loopback_target(t)]


def probe(target: str, path: str) -> int | None:
    """Status of GET `path` on a loopback target, or None if it did not answer."""
    host, _, port = target.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=HEALTH_TIMEOUT)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


class Forwarder(BaseHTTPRequestHandler):
    """Forwards each request to a healthy target; 503 when there is none."""

    server: LoadBalancer
    protocol_version = "HTTP/1.0"

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, {"error": "request_too_large"})
            return
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        for target in self.server.pool.pick():
            answer = _send(target, self.command, self.path, body, headers)
            if answer is not None:
                status, reply_headers, data = answer
                self._reply(status, reply_headers, data)
                return
            self.server.pool.mark_down(target)
        self._answer(503, {"error": "no_healthy_targets", "message": "no task is healthy"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _answer(self, status: int, payload: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self._reply(status, [("Content-Type", "application/json")], data)

    def log_message(self, format: str, *args: object) -> None:
        return  # the tasks log requests; the LB stays quiet


def _send(
    target: str, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, list[tuple[str, str]], bytes] | None:
    host, _, port = target.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=UPSTREAM_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


class LoadBalancer(ThreadingHTTPServer):
    """The HTTP server plus its pool and health-check thread."""

    daemon_threads = True

    def __init__(self, port: int, targets_file: Path, interval: float = 2.0) -> None:
        super().__init__((LOOPBACK, port), Forwarder)
        self.pool = TargetPool(targets_file)
        self.interval = interval
        self._stopping = threading.Event()
        self._checker = threading.Thread(target=self._check_loop, daemon=True)

    def _check_loop(self) -> None:
        while not self._stopping.is_set():
            self.pool.check_health()
            self._stopping.wait(self.interval)

    def serve(self) -> None:
        self._checker.start()
        try:
            self.serve_forever(poll_interval=0.2)
        finally:
            self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        self.shutdown()


@contextmanager
def running(port: int, targets_file: Path, interval: float = 2.0) -> Iterator[LoadBalancer]:
    """A load balancer in a thread of this process (tests)."""
    balancer = LoadBalancer(port, targets_file, interval)
    thread = threading.Thread(target=balancer.serve, daemon=True)
    thread.start()
    try:
        yield balancer
    finally:
        balancer.stop()
        balancer.server_close()
        thread.join(timeout=5)
