"""Entry point: `python -m microsite`. Reads the settings, serves until SIGTERM/SIGINT.

On SIGTERM (what ECS sends before its 30 s stop timeout) the listener closes at once,
idle keep-alive connections are closed, requests in flight are finished within
SHUTDOWN_GRACE seconds, the pool is closed and the process exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from microsite import SERVICE_NAME, __version__
from microsite.config import ConfigError, Settings, load
from microsite.db import Database
from microsite.logs import JsonLog
from microsite.routes import App
from microsite.server import Server

SHUTDOWN_GRACE = 20.0  # well inside ECS's default 30 s stopTimeout


async def serve(settings: Settings, log: JsonLog, listen_host: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    db = Database(settings, log)
    await db.open()
    app = App(settings, db)
    server = Server(app, log, on_error=app.on_error)
    try:
        await server.listen(listen_host, settings.port)
    except OSError as exc:
        log.error(
            "listen_failed",
            host=listen_host,
            port=settings.port,
            error=type(exc).__name__,
            reason=exc.strerror,
        )
        await db.close()
        return 1
    log.info(
        "started", service=SERVICE_NAME, version=__version__, pid=os.getpid(), **settings.public()
    )
    await stop.wait()
    log.info("stopping", in_flight=len(server.tasks), connections=len(server.connections))
    clean = await server.shutdown(SHUTDOWN_GRACE)
    await db.close()
    log.info("stopped", clean=clean)
    return 0


def _event_loop_policy() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> int:
    log = JsonLog()
    try:
        settings = load(os.environ)
    except ConfigError as exc:
        log.error("invalid_configuration", message=str(exc))
        log.flush()
        return 2
    _event_loop_policy()
    try:
        return asyncio.run(serve(settings, log, os.environ.get("LISTEN_HOST") or "0.0.0.0"))
    finally:
        log.flush()


if __name__ == "__main__":
    sys.exit(main())
