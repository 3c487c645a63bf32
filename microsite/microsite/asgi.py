"""The HTTP side: requests and responses as the routes see them, and a raw ASGI adapter.

uvicorn (httptools parser, uvloop) does the HTTP/1.1 work: keep-alive, pipelining,
`Expect: 100-continue`, chunked bodies, graceful drain. This adapter turns an ASGI `http`
scope into a `Request`, calls the routes' handler, and sends its `Response` back; there is
no framework in between. It also enforces what uvicorn leaves to the application: a bound
on the request head (431) and on the body (413), JSON answers for every error, one access
log line per request, and no exception text or stack trace ever reaching a client or the log.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from microsite.logs import JsonLog

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
LOGGED_PATH_MAX = 200  # characters of a path the log keeps: a client chooses its length

Header = tuple[bytes, bytes]
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Request:
    __slots__ = ("body", "content_type", "method", "path", "query")

    def __init__(
        self, method: str, path: str, query: str, content_type: bytes, body: bytes
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.content_type = content_type
        self.body = body


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes = b"", headers: Iterable[Header] = ()) -> None:
        self.status = status
        self.body = body
        self.headers = tuple(headers)  # extra headers, lower-case names


Result = Response | Awaitable[Response]
Handler = Callable[[Request], Result]
ErrorHook = Callable[[Exception], Response | None]

_JSON = (b"content-type", b"application/json")
_CLOSE = (b"connection", b"close")


def error_response(status: int, code: str, message: str) -> Response:
    return Response(status, orjson.dumps({"error": code, "message": message}))


_INTERNAL_ERROR = error_response(500, "internal_error", "internal server error")
_HEAD_TOO_LARGE = error_response(
    431, "header_too_large", f"request head over {MAX_HEAD_BYTES} bytes"
)
_BODY_TOO_LARGE = error_response(413, "body_too_large", f"request body over {MAX_BODY_BYTES} bytes")
_BAD_LENGTH = error_response(400, "bad_request", "invalid Content-Length")


class _Refused(Exception):
    """The request cannot be served as sent; the connection is closed after the answer."""

    def __init__(self, response: Response) -> None:
        self.response = response


class AsgiApp:
    """An ASGI 3 application serving `handler`; `on_error` maps a handler's exception to a
    Response (None means a 500)."""

    def __init__(self, handler: Handler, log: JsonLog, on_error: ErrorHook) -> None:
        self._handler = handler
        self._log = log
        self._on_error = on_error
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off and websockets are not enabled
            return
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        self.in_flight += 1
        try:
            try:
                request = await _read_request(scope, receive)
            except _Refused as refused:
                await _send(send, refused.response, close=True)
                self._log.request(
                    method, path[:LOGGED_PATH_MAX], refused.response.status, _since(started)
                )
                return
            response = await self._respond(request)
            await _send(send, response)
            self._log.request(method, path[:LOGGED_PATH_MAX], response.status, _since(started))
        finally:
            self.in_flight -= 1

    async def _respond(self, request: Request) -> Response:
        try:
            result = self._handler(request)
            if isinstance(result, Response):
                return result
            return await result
        except Exception as exc:
            response = self._on_error(exc)
            if response is None:
                self._log.error(
                    "handler_failed",
                    path=request.path[:LOGGED_PATH_MAX],
                    error=type(exc).__name__,
                )
                return _INTERNAL_ERROR
            return response


async def _read_request(scope: Scope, receive: Receive) -> Request:
    head = len(scope["raw_path"]) + len(scope["query_string"])
    content_type = b""
    length: bytes | None = None
    chunked = False
    for name, value in scope["headers"]:
        head += len(name) + len(value)
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            chunked = True
    if head > MAX_HEAD_BYTES:
        # uvicorn bounds neither the head's size nor the time it takes to arrive: the load
        # balancer in front does (see README, "HTTP").
        raise _Refused(_HEAD_TOO_LARGE)
    has_body = chunked or (length is not None and length != b"0")
    return Request(
        scope["method"],
        scope["path"],
        scope["query_string"].decode("latin-1"),
        content_type,
        await _read_body(length, receive) if has_body else b"",
    )


async def _read_body(length: bytes | None, receive: Receive) -> bytes:
    if length is not None:
        if not length.isdigit():
            raise _Refused(_BAD_LENGTH)
        if int(length) > MAX_BODY_BYTES:
            raise _Refused(_BODY_TOO_LARGE)  # refused before it is read or 100-continued
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b""
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Refused(_BODY_TOO_LARGE)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, response: Response, close: bool = False) -> None:
    body = response.body
    headers = [(b"content-length", b"%d" % len(body))]
    if body:
        headers.append(_JSON)
    headers.extend(response.headers)
    if close:
        headers.append(_CLOSE)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _since(started: float) -> float:
    return time.perf_counter() - started
