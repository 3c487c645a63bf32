"""Entry point: `python -m microsite`. Reads the settings, serves with uvicorn until
SIGTERM/SIGINT.

One process, one uvloop event loop, uvicorn's httptools protocol. On SIGTERM (what ECS
sends before its 30 s stop timeout) uvicorn closes the listener at once, closes idle
keep-alive connections, lets the requests in flight finish within SHUTDOWN_GRACE seconds
(answering them with `connection: close`), then the pool is closed and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import sys

import uvicorn
import uvloop

from microsite import SERVICE_NAME, __version__
from microsite.asgi import AsgiApp
from microsite.config import ConfigError, Settings, load
from microsite.db import Database
from microsite.logs import JsonLog, LoggingBridge
from microsite.routes import App

SHUTDOWN_GRACE = 20  # s, well inside ECS's default 30 s stopTimeout
KEEPALIVE_TIMEOUT = 75  # s, longer than the ALB's 60 s idle timeout, as AWS recommends
MAX_CONCURRENCY = 1024  # connections or requests at once; beyond, uvicorn answers 503
BACKLOG = 1024


class Server(uvicorn.Server):
    """uvicorn's server, logging the service's own `stopping` event and whether the
    drain finished every request in time (`clean`)."""

    def __init__(self, config: uvicorn.Config, app: AsgiApp, log: JsonLog) -> None:
        super().__init__(config)
        self._app = app
        self._log = log
        self.clean = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        connections = len(self.server_state.connections)
        self._log.info("stopping", in_flight=self._app.in_flight, connections=connections)
        await super().shutdown(sockets)
        # uvicorn cancels the tasks still running after timeout_graceful_shutdown.
        self.clean = not self.server_state.tasks


def uvicorn_config(app: AsgiApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="uvloop",  # what main() runs it on; uvicorn.Server.serve() creates no loop
        http="httptools",
        ws="none",
        lifespan="off",
        interface="asgi3",
        log_config=None,  # logs.LoggingBridge: JSON lines, warnings and up
        access_log=False,  # the adapter logs each request itself
        proxy_headers=False,  # the service never reads the client's address
        server_header=False,
        timeout_keep_alive=KEEPALIVE_TIMEOUT,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        limit_concurrency=MAX_CONCURRENCY,
        backlog=BACKLOG,
    )


async def serve(settings: Settings, log: JsonLog, listen_host: str) -> int:
    try:
        # Bound here rather than by uvicorn, so that a port in use is one clear log line.
        sock = socket.create_server((listen_host, settings.port), backlog=BACKLOG)
    except OSError as exc:
        log.error(
            "listen_failed",
            host=listen_host,
            port=settings.port,
            error=type(exc).__name__,
            reason=exc.strerror,
        )
        return 1
    log.info(
        "started", service=SERVICE_NAME, version=__version__, pid=os.getpid(), **settings.public()
    )
    db = Database(settings, log)
    await db.open()
    routes = App(settings, db)
    app = AsgiApp(routes, log, routes.on_error)
    server = Server(uvicorn_config(app), app, log)
    flusher = asyncio.get_running_loop().create_task(log.flush_periodically())
    # Everything loaded so far lives until exit: keep it out of the garbage collector's
    # full passes, which otherwise walk every module and object on each one.
    gc.freeze()
    try:
        await server.serve(sockets=[sock])
    finally:
        flusher.cancel()
        await db.close()
        log.info("stopped", clean=server.clean)
    return 0


def _ignore_signal(signum: int, frame: object) -> None:
    """After its drain, uvicorn re-raises the signal it caught to the handler it found
    installed: with this one the process then exits 0 instead of dying of SIGTERM."""


def main() -> int:
    log = JsonLog()
    try:
        settings = load(os.environ)
    except ConfigError as exc:
        log.error("invalid_configuration", message=str(exc))
        log.flush()
        return 2
    LoggingBridge.install(log)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _ignore_signal)
    listen_host = os.environ.get("LISTEN_HOST") or "0.0.0.0"
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(serve(settings, log, listen_host))
    finally:
        log.flush()


if __name__ == "__main__":
    sys.exit(main())
