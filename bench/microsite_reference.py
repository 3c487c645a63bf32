"""Reference for bench/microsite.sh: the fastest plain stack we know, with no framework.

granian's RSGI interface (its HTTP server is Rust; the app is one coroutine), an asyncpg
pool of 4 connections, orjson, answering GET / with the microsite's own query (ten items
plus now() and version()) and GET /health without the database. Run it with
`granian --interface rsgi --workers 1 --loop uvloop --no-ws microsite_reference:app`.
Settings come from the same environment variables as the microsite (HOST, DB_PORT,
DB_NAME, USER, PASSWORD, ENVIRONMENT); the query from BENCH_SQL_FILE.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg
import orjson

SQL = Path(os.environ["BENCH_SQL_FILE"]).read_text()
_JSON = [("content-type", "application/json")]
_HEALTH = orjson.dumps({"status": "ok"})
_NOT_FOUND = orjson.dumps({"error": "not_found"})


class Reference:
    """An RSGI application: granian calls __rsgi_init__ once per worker, then __rsgi__."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._environment = os.environ.get("ENVIRONMENT", "")

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = loop.run_until_complete(
            asyncpg.create_pool(
                host=os.environ["HOST"],
                port=int(os.environ.get("DB_PORT", "5432")),
                database=os.environ.get("DB_NAME", "postgres"),
                user=os.environ["USER"],
                password=os.environ["PASSWORD"],
                min_size=4,
                max_size=4,
            )
        )

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pool is not None:
            loop.run_until_complete(self._pool.close())

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        if scope.path == "/":
            proto.response_bytes(200, _JSON, await self._overview())
        elif scope.path == "/health":
            proto.response_bytes(200, _JSON, _HEALTH)
        else:
            proto.response_bytes(404, _JSON, _NOT_FOUND)

    async def _overview(self) -> bytes:
        assert self._pool is not None
        rows = await self._pool.fetch(SQL)
        first = rows[0]
        return orjson.dumps(
            {
                "service": "microsite",
                "environment": self._environment,
                "database": {"time": first["server_time"], "version": first["server_version"]},
                "items": [
                    {
                        "id": r["id"],
                        "name": r["name"],
                        "description": r["description"],
                        "created_at": r["created_at"],
                    }
                    for r in rows
                    if r["id"] is not None
                ],
            }
        )


app = Reference()
