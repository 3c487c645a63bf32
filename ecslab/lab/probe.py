"""One HTTP probe of the backend, classified: healthy, database down, wrong answer, no answer.

The probe is a plain GET with the standard library. A loopback URL (the sandbox, tests) is
always sent straight to it, never through a proxy from the environment; a load balancer's
URL honours the user's proxy settings like any other client. The timeout bounds the whole
request, not each read: a watchdog shuts the socket down at the deadline, so a server
that sends its headers one byte every few seconds cannot hold verify forever.

What counts as "healthy" is the microsite's answer to `/`: a JSON object with the
database's server time and a list of items. The microsite's field names live in
`read_microsite` alone, so a change of its JSON is one function to adjust.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PROBE_TIMEOUT = 5.0
_MAX_BODY = 256 * 1024


class Verdict(StrEnum):
    """What one probe found."""

    HEALTHY = "healthy"  # 200 with the microsite's data from the database
    DATABASE_DOWN = "database-down"  # the microsite answered 503: no database
    WRONG_ANSWER = "wrong-answer"  # 200, but not the microsite's JSON
    HTTP_ERROR = "http-error"  # another status (e.g. the load balancer's 502/503/504)
    NO_ANSWER = "no-answer"  # refused, timed out, name not found


@dataclass(frozen=True)
class MicrositeAnswer:
    """The parts of the microsite's `/` answer that verify reports."""

    service: str
    environment: str
    db_time: str
    db_version: str
    items: int

    def summary(self) -> str:
        return (
            f"{self.service} ({self.environment}): database time {self.db_time}, "
            f"{self.db_version.split(' on ')[0]}, {self.items} item(s)"
        )


@dataclass(frozen=True)
class ProbeResult:
    """One probe: its verdict, HTTP status, latency and a one-line explanation."""

    url: str
    verdict: Verdict
    status: int | None
    latency: float
    detail: str
    answer: MicrositeAnswer | None = None
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.verdict == Verdict.HEALTHY

    def signature(self) -> tuple[str, int | None, str]:
        """What must stay the same for two probes to count as "no change"."""
        return (str(self.verdict), self.status, self.detail)


def read_microsite(body: object) -> MicrositeAnswer | str:
    """The microsite's answer from a decoded JSON body, or why the body is not one.

    Shape (microsite/microsite/routes.py, `overview`): {"service", "environment",
    "database": {"time", "version"}, "items": [...]}.
    """
    if not isinstance(body, dict):
        return f"the body is JSON {type(body).__name__}, not an object"
    database = body.get("database")
    if not isinstance(database, dict) or not database.get("time"):
        return "no database server time ('database.time') in the JSON"
    items = body.get("items")
    if not isinstance(items, list):
        return "no list of items ('items') in the JSON"
    return MicrositeAnswer(
        service=str(body.get("service", "?")),
        environment=str(body.get("environment", "?")),
        db_time=str(database["time"]),
        db_version=str(database.get("version", "?")),
        items=len(items),
    )


def is_database_unavailable(status: int, body: object) -> bool:
    """The microsite's own 503 for "the database is not available"."""
    return status == 503 and isinstance(body, dict) and body.get("error") == "database_unavailable"


def probe(
    url: str, timeout: float = PROBE_TIMEOUT, timer: Callable[[], float] = time.perf_counter
) -> ProbeResult:
    """GET `url` once and classify the answer. Never raises for network failures."""
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "ecslab-verify"}
    )
    watchdog = _Watchdog(timeout)
    handlers: list[urllib.request.BaseHandler] = [
        _DeadlineHTTPHandler(watchdog),
        _DeadlineHTTPSHandler(watchdog),
    ]
    if is_loopback(url):
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    started = timer()
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = int(response.status), response.read(_MAX_BODY)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, _read_quietly(exc)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = _too_slow(timeout) if watchdog.fired else _network_reason(exc)
        return ProbeResult(url, Verdict.NO_ANSWER, None, timer() - started, reason)
    finally:
        watchdog.cancel()
    if watchdog.fired:
        return ProbeResult(url, Verdict.NO_ANSWER, None, timer() - started, _too_slow(timeout))
    return classify(url, status, raw, timer() - started)


def _too_slow(timeout: float) -> str:
    return f"no complete answer within {timeout:g} s (the server answers too slowly)"


class _Watchdog:
    """Shuts down the request's socket when the whole-request deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._timers: list[threading.Timer] = []

    def guard(self, sock: socket.socket) -> None:
        def expire() -> None:
            self.fired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), expire)
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _guarded(base: type[http.client.HTTPConnection], watchdog: _Watchdog) -> Any:
    class Guarded(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            watchdog.guard(self.sock)

    return Guarded


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_guarded(http.client.HTTPConnection, self._watchdog), req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = _guarded(http.client.HTTPSConnection, self._watchdog)
        context = getattr(self, "_context", None)  # HTTPSHandler keeps it there
        return self.do_open(connection, req, context=context)


def classify(url: str, status: int, raw: bytes, latency: float) -> ProbeResult:
    """The verdict for an HTTP answer."""
    try:
        body: object = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    keep = body if isinstance(body, dict) else {}
    if is_database_unavailable(status, body):
        detail = f"HTTP 503 from the microsite: {keep.get('message', 'database unavailable')}"
        return ProbeResult(url, Verdict.DATABASE_DOWN, status, latency, detail, body=keep)
    if status != 200:
        detail = f"HTTP {status}{_http_meaning(status)}: {_snippet(raw)}"
        return ProbeResult(url, Verdict.HTTP_ERROR, status, latency, detail, body=keep)
    if body is None:
        detail = f"HTTP 200 but not JSON: {_snippet(raw)}"
        return ProbeResult(url, Verdict.WRONG_ANSWER, status, latency, detail)
    answer = read_microsite(body)
    if isinstance(answer, str):
        detail = f"HTTP 200 but not the microsite's answer: {answer}: {_snippet(raw)}"
        return ProbeResult(url, Verdict.WRONG_ANSWER, status, latency, detail, body=keep)
    return ProbeResult(url, Verdict.HEALTHY, status, latency, answer.summary(), answer, keep)


def is_loopback(url: str) -> bool:
    """The URL's host is this machine (127.0.0.0/8, ::1, localhost)."""
    from ecslab.core.netaddr import is_loopback_host

    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return False
    return is_loopback_host(host)


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(_MAX_BODY)
    except OSError:
        return b""


def _http_meaning(status: int) -> str:
    meanings = {
        502: " (the load balancer got no valid answer from a task)",
        503: " (the load balancer has no healthy target to send to)",
        504: " (a task did not answer the load balancer in time)",
    }
    return meanings.get(status, "")


def _network_reason(exc: BaseException) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused: nothing listens there"
    if isinstance(reason, socket.timeout | TimeoutError):
        return "no answer in time (timed out)"
    if isinstance(reason, socket.gaierror):
        return f"the host name does not resolve ({reason.strerror})"
    if isinstance(reason, ConnectionResetError):
        return "the connection was reset"
    text = getattr(reason, "strerror", None) or str(reason)
    return f"no answer: {text}"


def _snippet(raw: bytes, limit: int = 120) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
