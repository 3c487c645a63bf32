"""The load balancer stand-in: round-robin over healthy loopback targets, 503 without any."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ecslab.sandbox.lb import is_loopback_target, running, write_targets
from ecslab.sandbox.ports import free_port, http_status


@contextmanager
def backend(name: str, health: int = 200) -> Iterator[str]:
    """A tiny HTTP server on 127.0.0.1 answering its name, and /health with `health`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = health if self.path == "/health" else 200
            body = json.dumps({"name": name, "path": self.path}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _get(port: int, path: str = "/") -> tuple[int, dict[str, str]]:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_round_robin_over_healthy_targets_only(tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    with backend("a") as a, backend("b") as b, backend("sick", health=500) as sick:
        write_targets(targets, [a, b, sick])
        port = free_port()
        with running(port, targets, interval=0.2):
            names = [_get(port, "/items?x=1")[1]["name"] for _ in range(6)]
    assert sorted(set(names)) == ["a", "b"]
    assert names.count("a") == names.count("b") == 3


def test_no_healthy_target_is_503_and_new_targets_are_picked_up(tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    port = free_port()
    with running(port, targets, interval=0.2):
        status, body = _get(port)
        assert status == 503 and body["error"] == "no_healthy_targets"
        with backend("late") as late:
            write_targets(targets, [late])
            assert _get(port, "/health")[0] == 200
            assert _get(port)[1]["name"] == "late"
        assert http_status(f"http://127.0.0.1:{port}/") in (502, 503)


@pytest.mark.parametrize(
    ("target", "ok"),
    [("127.0.0.1:8080", True), ("127.0.0.1:0", False), ("172.17.0.2:8080", False), ("x", False)],
)
def test_only_loopback_targets(target: str, ok: bool) -> None:
    assert is_loopback_target(target) is ok
