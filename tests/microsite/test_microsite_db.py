"""The database layer (db.py over pool.py), against a real PostgreSQL: first come first
served, no reset round trip per release, and no connection reused when it is broken, was
cancelled mid-query or is inside a transaction; a killed connection costs a read nothing."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import pytest
from microsite.config import Settings
from microsite.db import Database, DatabaseUnavailable
from microsite.logs import JsonLog

from ecslab.sandbox import PostgresServer

Scenario = Callable[[Database], Awaitable[None]]


def run(postgres: PostgresServer, dbname: str, pool_size: int, scenario: Scenario) -> None:
    settings = Settings(
        port=1,
        environment="test",
        db_host=postgres.host,
        db_user=postgres.user,
        db_password=postgres.password,
        db_name=dbname,
        db_port=postgres.port,
        pool_size=pool_size,
    )

    async def main() -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        db = Database(settings, JsonLog(devnull))
        await db.open()
        try:
            deadline = time.monotonic() + 20
            while not db.schema_ready and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert db.schema_ready
            await scenario(db)
        finally:
            await db.close()
            os.close(devnull)

    asyncio.run(main())


async def backend_pid(db: Database) -> int:
    pid: int = (await db.fetch("SELECT pg_backend_pid()"))[0][0]
    return pid


def test_never_more_connections_than_the_pool_size(
    postgres: PostgresServer, fresh_database: str
) -> None:
    async def scenario(db: Database) -> None:
        rows = await asyncio.gather(
            *(db.fetch("SELECT pg_backend_pid() FROM pg_sleep(0.02)") for _ in range(20))
        )
        assert len({r[0][0] for r in rows}) == 3

    run(postgres, fresh_database, 3, scenario)


def test_a_waiting_request_is_not_overtaken(postgres: PostgresServer, fresh_database: str) -> None:
    # "first" asks again the moment its query ends: the request already waiting goes first.
    async def scenario(db: Database) -> None:
        done: list[str] = []

        async def first() -> None:
            await db.fetch("SELECT pg_sleep(0.1)")
            done.append("first")
            await db.fetch("SELECT 1")
            done.append("first again")

        async def waiting() -> None:
            await db.fetch("SELECT 1")
            done.append("waiting")

        holder = asyncio.ensure_future(first())
        await asyncio.sleep(0.05)
        await asyncio.gather(holder, waiting())
        assert done == ["first", "waiting", "first again"]

    run(postgres, fresh_database, 1, scenario)


def test_release_runs_no_reset_query(postgres: PostgresServer, fresh_database: str) -> None:
    # The service sets no session state; a session setting surviving a release proves
    # that no RESET ALL round trip ran.
    async def scenario(db: Database) -> None:
        await db.fetch("SELECT set_config('application_name', 'kept', false)")
        assert (await db.fetch("SELECT current_setting('application_name')"))[0][0] == "kept"

    run(postgres, fresh_database, 1, scenario)


def test_connection_left_in_a_transaction_is_not_reused(
    postgres: PostgresServer, fresh_database: str
) -> None:
    async def scenario(db: Database) -> None:
        pid = await backend_pid(db)
        await db.fetch("BEGIN")
        first = (await db.fetch("SELECT now()"))[0][0]
        await asyncio.sleep(0.01)
        second = (await db.fetch("SELECT now()"))[0][0]
        # now() is the transaction's start: it moved, so the statements after BEGIN ran in
        # transactions of their own, on a new connection (the one left in BEGIN was closed).
        assert first != second
        assert await backend_pid(db) != pid

    run(postgres, fresh_database, 1, scenario)


def test_query_cancelled_mid_flight_frees_its_connection(
    postgres: PostgresServer, fresh_database: str
) -> None:
    async def scenario(db: Database) -> None:
        slow = asyncio.ensure_future(db.fetch("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        began = time.monotonic()
        assert (await db.fetch("SELECT 1"))[0][0] == 1
        assert time.monotonic() - began < 3

    run(postgres, fresh_database, 1, scenario)


def test_killed_connection_is_replaced_and_the_read_retried(
    postgres: PostgresServer, fresh_database: str
) -> None:
    async def scenario(db: Database) -> None:
        pids = {await backend_pid(db) for _ in range(3)}
        for pid in pids:
            postgres.execute(f"SELECT pg_terminate_backend({pid})", fresh_database)
        assert await backend_pid(db) not in pids

    run(postgres, fresh_database, 2, scenario)


def test_closed_database_refuses_queries(postgres: PostgresServer, fresh_database: str) -> None:
    async def scenario(db: Database) -> None:
        await db.close()
        with pytest.raises(DatabaseUnavailable):
            await db.fetch("SELECT 1")

    run(postgres, fresh_database, 1, scenario)
