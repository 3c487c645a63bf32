"""The HTTP layer alone, in-process: the service's uvicorn server and ASGI adapter with a
trivial handler. Keep-alive, draining, errors as JSON, bounded bodies."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from microsite.__main__ import Server, uvicorn_config
from microsite.asgi import AsgiApp, Request, Response
from microsite.logs import JsonLog

Scenario = Callable[[Server, int], Awaitable[None]]
GET = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"


async def slow(request: Request) -> Response:
    await asyncio.sleep(0.5 if request.path == "/slow" else 30)
    return Response(200, b'{"slow":true}')


def handler(request: Request) -> Response | Awaitable[Response]:
    if request.path in ("/slow", "/stuck"):
        return slow(request)
    if request.path == "/fail":
        raise RuntimeError("a secret detail")
    return Response(200, received(len(request.body)))


def received(size: int) -> bytes:
    return b'{"received":%d}' % size


def run_server(
    scenario: Scenario,
    port: int,
    log_file: Path,
    configure: Callable[[Server], None] = lambda server: None,
) -> Server:
    async def main() -> Server:
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        log = JsonLog(fd)
        app = AsgiApp(handler, log, lambda exc: None)
        server = Server(uvicorn_config(app), app, log)
        configure(server)
        sock = socket.create_server(("127.0.0.1", port))
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        try:
            await scenario(server, port)
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
            log.flush()
            os.close(fd)
        return server

    return asyncio.run(main())


def log_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_idle_keep_alive_is_closed(free_port: Callable[[], int], tmp_path: Path) -> None:
    def short_keep_alive(server: Server) -> None:
        server.config.timeout_keep_alive = 0.3  # type: ignore[assignment]

    async def scenario(server: Server, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(GET % b"/")
        answer = await asyncio.wait_for(reader.read(), 5)  # returns when the server closes
        assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b'{"received":0}')
        writer.close()

    run_server(scenario, free_port(), tmp_path / "log", short_keep_alive)


def test_shutdown_answers_in_flight_then_closes(
    free_port: Callable[[], int], tmp_path: Path
) -> None:
    async def scenario(server: Server, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(GET % b"/slow")
        await asyncio.sleep(0.1)
        server.should_exit = True  # what SIGTERM does
        await asyncio.sleep(0.3)
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"connection: close" in answer
        writer.close()

    server = run_server(scenario, free_port(), tmp_path / "log")
    assert server.clean is True
    stopping = [line for line in log_lines(tmp_path / "log") if line["event"] == "stopping"]
    assert stopping[0]["in_flight"] == 1


def test_shutdown_gives_up_after_the_grace_period(
    free_port: Callable[[], int], tmp_path: Path
) -> None:
    def short_grace(server: Server) -> None:
        server.config.timeout_graceful_shutdown = 0.3  # type: ignore[assignment]

    async def scenario(server: Server, port: int) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(GET % b"/stuck")
        await asyncio.sleep(0.1)
        server.should_exit = True

    server = run_server(scenario, free_port(), tmp_path / "log", short_grace)
    assert server.clean is False


def test_handler_exception_is_a_json_500_logged_by_type_only(
    free_port: Callable[[], int], tmp_path: Path
) -> None:
    async def scenario(server: Server, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(GET % b"/fail")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 500 ")
        body = await reader.readexactly(int(head.split(b"content-length: ")[1].split(b"\r")[0]))
        assert json.loads(body) == {"error": "internal_error", "message": "internal server error"}
        writer.close()

    run_server(scenario, free_port(), tmp_path / "log")
    failed = [line for line in log_lines(tmp_path / "log") if line["event"] == "handler_failed"]
    assert [(line["level"], line["path"], line["error"]) for line in failed] == [
        ("error", "/fail", "RuntimeError")
    ]
    assert "secret" not in (tmp_path / "log").read_text()


async def exchange(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    answer = await asyncio.wait_for(reader.read(), 5)  # the server closes after answering
    writer.close()
    return answer


def test_chunked_body_over_the_limit_is_refused(
    free_port: Callable[[], int], tmp_path: Path
) -> None:
    async def scenario(server: Server, port: int) -> None:
        chunk = b"%x\r\n%s\r\n" % (40_000, b"a" * 40_000)
        answer = await exchange(
            port,
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 2,
        )
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert b"connection: close" in answer
        assert b'"error":"body_too_large"' in answer

    run_server(scenario, free_port(), tmp_path / "log")


def test_chunked_body_within_the_limit_is_read(
    free_port: Callable[[], int], tmp_path: Path
) -> None:
    async def scenario(server: Server, port: int) -> None:
        answer = await exchange(
            port,
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
            b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert answer.endswith(b'{"received":11}')

    run_server(scenario, free_port(), tmp_path / "log")


def test_declared_oversized_body_is_refused_before_100_continue(
    free_port: Callable[[], int], tmp_path: Path
) -> None:
    async def scenario(server: Server, port: int) -> None:
        answer = await exchange(
            port,
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: 1000000\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 413 ")  # no "100 Continue" first
        assert b'"error":"body_too_large"' in answer

    run_server(scenario, free_port(), tmp_path / "log")
