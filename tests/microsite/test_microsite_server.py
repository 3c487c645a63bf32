"""The HTTP layer alone, in-process: timeouts and draining, with a trivial handler."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import pytest
from microsite.logs import JsonLog
from microsite.server import Request, Response, Server

from microsite import server as http

Scenario = Callable[[Server, int], Awaitable[None]]


def run_server(scenario: Scenario, free_port: Callable[[], int]) -> None:
    async def main() -> None:
        async def slow(request: Request) -> Response:
            await asyncio.sleep(0.5)
            return Response(200, b'{"slow":true}')

        def handler(request: Request) -> Response | Awaitable[Response]:
            return slow(request) if request.path == "/slow" else Response(200, b"{}")

        devnull = os.open(os.devnull, os.O_WRONLY)
        server = Server(handler, JsonLog(devnull))
        port = free_port()
        await server.listen("127.0.0.1", port)
        try:
            await scenario(server, port)
        finally:
            await server.shutdown(1)
            os.close(devnull)

    asyncio.run(main())


def test_slow_request_gets_408(
    monkeypatch: pytest.MonkeyPatch, free_port: Callable[[], int]
) -> None:
    monkeypatch.setattr(http, "REQUEST_TIMEOUT", 0.3)

    async def scenario(server: Server, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 408 ")
        writer.close()

    run_server(scenario, free_port)


def test_idle_keep_alive_is_closed(
    monkeypatch: pytest.MonkeyPatch, free_port: Callable[[], int]
) -> None:
    monkeypatch.setattr(http, "KEEPALIVE_TIMEOUT", 0.3)

    async def scenario(server: Server, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)  # returns when the server closes
        assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"{}")
        writer.close()

    run_server(scenario, free_port)


def test_shutdown_answers_in_flight_then_closes(free_port: Callable[[], int]) -> None:
    async def scenario(server: Server, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.1)
        assert await server.shutdown(5) is True
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"connection: close" in answer
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    run_server(scenario, free_port)
