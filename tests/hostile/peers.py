"""Misbehaving peers on loopback, for the hostile-input tests.

- `hung_server`: accepts connections and never answers.
- `slow_header_server`: answers a valid HTTP response one byte every `interval` seconds.
- `html_server`: answers every request with an HTML page (a captive portal, a proxy).
- `redirect_pair`: a registry that redirects to another host, which records the
  headers it receives.
All are threads in the test process, bound to 127.0.0.x, stopped on exit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Wi-Fi login</title></head><body>"
    + b"secret-looking body " * 200
    + b"</body></html>"
)


@contextlib.contextmanager
def hung_server() -> Iterator[str]:
    """http://127.0.0.1:PORT that accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = listener.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


@contextlib.contextmanager
def slow_header_server(interval: float) -> Iterator[str]:
    """http://127.0.0.1:PORT/ whose answer trickles in, one byte per `interval` seconds."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(4096)
            for byte in answer:
                if stop.wait(interval):
                    return
                conn.send(bytes([byte]))

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = listener.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


@contextlib.contextmanager
def _serving(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> Iterator[str]:
    server = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def odd_server(body: bytes, content_type: str, status: int = 200) -> Iterator[str]:
    """http://127.0.0.1:PORT answering every GET and POST with `body`: not an AWS answer."""

    class Handler(_Quiet):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    with _serving(Handler) as address:
        yield f"http://{address}"


@contextlib.contextmanager
def html_server(status: int = 200) -> Iterator[str]:
    """http://127.0.0.1:PORT answering every GET and POST with an HTML page."""
    with odd_server(HTML_PAGE, "text/html; charset=utf-8", status) as url:
        yield url


@contextlib.contextmanager
def redirect_pair() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """(registry host:port on 127.0.0.1, headers seen by the other host 127.0.0.2).

    The registry redirects every manifest request to the other host, as a hostile or
    compromised registry could.
    """
    seen: list[dict[str, str]] = []

    class Elsewhere(_Quiet):
        def do_GET(self) -> None:
            seen.append(dict(self.headers.items()))
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with _serving(Elsewhere, "127.0.0.2") as other:

        class Registry(_Quiet):
            def do_GET(self) -> None:
                self.send_response(302)
                self.send_header("Location", f"http://{other}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

        with _serving(Registry) as registry:
            yield registry, seen


def elapsed(since: float) -> float:
    return time.monotonic() - since
