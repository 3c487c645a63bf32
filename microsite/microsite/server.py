"""A small HTTP/1.1 server: asyncio protocol + httptools (llhttp) parser.

Why not a framework: one Fargate task has 0.25 vCPU and 512 MB, and memory drives the
autoscaling, so the per-request cost and the resident size both matter (see README,
"Why this stack"). This module does only what the service needs: keep-alive, pipelined
requests answered in order, bounded request size, idle and slow-request timeouts, a cap
on connections, and a graceful drain on shutdown. Handlers return a Response or an
awaitable of one; an exception in a handler becomes a bare 500 and a log line naming only
the exception type.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate

import httptools
import orjson

from microsite.logs import JsonLog

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
MAX_PIPELINE = 16
MAX_CONNECTIONS = 2048
KEEPALIVE_TIMEOUT = 75.0  # longer than the ALB's 60 s idle timeout, as AWS recommends
REQUEST_TIMEOUT = 15.0  # a request's head and body must arrive within this
_REASONS = {
    200: b"OK",
    201: b"Created",
    204: b"No Content",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Content Too Large",
    415: b"Unsupported Media Type",
    422: b"Unprocessable Content",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


class Request:
    __slots__ = ("body", "content_type", "keep_alive", "method", "path", "query", "started")

    def __init__(
        self,
        method: str,
        target: bytes,
        content_type: bytes,
        body: bytes,
        keep_alive: bool,
        started: float,
    ) -> None:
        path, _, query = target.partition(b"?")
        self.method = method
        self.path = path.decode("latin-1")
        self.query = query.decode("latin-1")
        self.content_type = content_type
        self.body = body
        self.keep_alive = keep_alive
        self.started = started


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes = b"", headers: bytes = b"") -> None:
        self.status = status
        self.body = body
        self.headers = headers  # extra raw header lines, each ending in \r\n


Result = Response | Awaitable[Response]
Handler = Callable[[Request], Result]

_INTERNAL_ERROR = Response(500, b'{"error":"internal_error","message":"internal server error"}')


def error_response(status: int, code: str, message: str) -> Response:
    return Response(status, orjson.dumps({"error": code, "message": message}))


class _Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._queue: collections.deque[Request] = collections.deque()
        self._busy = False
        self._paused = False
        self._closing = False
        self._in_request = False
        self._eof = False
        self._target = b""
        self._content_type = b""
        self._expect_continue = False
        self._body: list[bytes] = []
        self._head_size = 0
        self._body_size = 0
        self._started = 0.0
        self._began = 0.0
        self.last_active = time.monotonic()

    # -- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if not self._server.accepting or len(self._server.connections) >= MAX_CONNECTIONS:
            transport.close()
            return
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._closing = True

    def eof_received(self) -> bool | None:
        # The client half-closed: answer what it already sent, then close (return True
        # keeps the transport open for writing).
        self._eof = True
        return None if self.idle else True

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(400, "bad_request", "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            # httptools wraps exceptions raised in callbacks; find ours in the chain.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, _TooLarge):
                self._reject(cause.status, cause.code, cause.message)
            else:
                self._reject(400, "bad_request", "malformed HTTP request")

    # -- httptools callbacks ---------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_request = True
        self._began = time.monotonic()
        self._started = time.perf_counter()
        self._target = b""
        self._content_type = b""
        self._expect_continue = False
        self._body = []
        self._head_size = 0
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._target += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        lowered = name.lower()
        if lowered == b"content-type":
            self._content_type = value
        elif lowered == b"expect" and value.lower() == b"100-continue":
            self._expect_continue = True

    def on_headers_complete(self) -> None:
        # Clients such as curl wait for this before sending a body over 1 KiB.
        if self._expect_continue and self.idle_but_reading and self._transport is not None:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._expect_continue = False

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY_BYTES:
            raise _TooLarge(413, "body_too_large", f"request body over {MAX_BODY_BYTES} bytes")
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_request = False
        request = Request(
            self._parser.get_method().decode("latin-1"),
            self._target,
            self._content_type,
            b"".join(self._body),
            self._parser.should_keep_alive(),
            self._started,
        )
        if self._busy or self._queue:
            self._queue.append(request)
            if len(self._queue) >= MAX_PIPELINE and not self._paused and self._transport:
                self._paused = True
                self._transport.pause_reading()
        else:
            self._dispatch(request)

    def _count_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD_BYTES:
            raise _TooLarge(431, "header_too_large", f"request head over {MAX_HEAD_BYTES} bytes")

    # -- dispatch --------------------------------------------------------------------
    def _dispatch(self, request: Request) -> None:
        try:
            result = self._server.handler(request)
        except Exception as exc:
            self._server.log.error("handler_failed", path=request.path, error=type(exc).__name__)
            result = _INTERNAL_ERROR
        if isinstance(result, Response):
            self._respond(request, result)
            return
        self._busy = True
        task = asyncio.get_running_loop().create_task(self._await(request, result))
        self._server.tasks.add(task)
        task.add_done_callback(self._server.tasks.discard)

    async def _await(self, request: Request, pending: Awaitable[Response]) -> None:
        response: Response | None
        try:
            response = await pending
        except Exception as exc:
            response = self._server.on_error(exc)
            if response is None:
                self._server.log.error(
                    "handler_failed", path=request.path, error=type(exc).__name__
                )
        if response is None:
            response = _INTERNAL_ERROR
        self._busy = False
        self._respond(request, response)
        while self._queue and not self._busy and not self._closing:
            self._dispatch(self._queue.popleft())
        if self._eof and self.idle:
            self._close()
        elif self._paused and not self._queue and self._transport and not self._closing:
            self._paused = False
            self._transport.resume_reading()

    def _respond(self, request: Request, response: Response) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        keep_alive = request.keep_alive and not self._server.draining and not self._closing
        status = response.status
        body = response.body if request.method != "HEAD" else b""
        transport.write(
            b"".join(
                (
                    b"HTTP/1.1 %d %s\r\ndate: %s\r\ncontent-length: %d\r\n"
                    % (
                        status,
                        _REASONS.get(status, b"Unknown"),
                        self._server.date,
                        len(response.body),
                    ),
                    b"content-type: application/json\r\n" if response.body else b"",
                    response.headers,
                    b"\r\n" if keep_alive else b"connection: close\r\n\r\n",
                    body,
                )
            )
        )
        self.last_active = time.monotonic()
        self._server.log.request(
            request.method, request.path[:200], status, time.perf_counter() - request.started
        )
        if not keep_alive:
            self._close()

    def _reject(self, status: int, code: str, message: str) -> None:
        request = Request("-", b"-", b"", b"", False, self._started or time.perf_counter())
        self._queue.clear()
        if self._busy:
            self._close()  # a response is still being computed: drop the connection
        else:
            self._respond(request, error_response(status, code, message))
        self._closing = True

    def _close(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    # -- housekeeping ----------------------------------------------------------------
    @property
    def idle_but_reading(self) -> bool:
        """No response pending: an interim 100 Continue cannot interleave with one."""
        return not (self._busy or self._queue)

    @property
    def idle(self) -> bool:
        return not (self._busy or self._queue or self._in_request)

    def sweep(self, now: float) -> None:
        """Close connections idle past the keep-alive or stuck mid-request."""
        if self.idle and (self._server.draining or now - self.last_active > KEEPALIVE_TIMEOUT):
            self._close()
        elif self._in_request and not self._busy and now - self._began > REQUEST_TIMEOUT:
            # Counted from the request's first byte: a client trickling bytes cannot hold
            # a connection open forever.
            self._reject(408, "request_timeout", "request not received in time")


class _TooLarge(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Server:
    """Listens, serves `handler`, and drains on `shutdown()`."""

    def __init__(
        self,
        handler: Handler,
        log: JsonLog,
        on_error: Callable[[Exception], Response | None] = lambda exc: None,
    ) -> None:
        """`on_error` turns an exception a handler raised into a Response, or None (500)."""
        self.handler = handler
        self.log = log
        self.on_error = on_error
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.accepting = True
        self.draining = False
        self.date = formatdate(usegmt=True).encode()
        self._server: asyncio.AbstractServer | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, backlog=1024, reuse_address=True
        )
        self._tick()

    def _tick(self) -> None:
        self.date = formatdate(usegmt=True).encode()
        now = time.monotonic()
        for conn in list(self.connections):
            conn.sweep(now)
        self.log.flush()
        self._timer = asyncio.get_running_loop().call_later(
            0.25 if self.draining else 1.0, self._tick
        )

    async def shutdown(self, grace: float) -> bool:
        """Stop accepting, finish in-flight requests, close connections. True if clean."""
        self.accepting = False
        self.draining = True
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + grace
        for conn in list(self.connections):
            conn.sweep(time.monotonic())
        while (self.connections or self.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            for conn in list(self.connections):
                conn.sweep(time.monotonic())
        clean = not self.tasks
        for conn in list(self.connections):
            conn._close()
        if self._timer is not None:
            self._timer.cancel()
        return clean
