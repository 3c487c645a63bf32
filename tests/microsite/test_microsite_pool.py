"""The connection pool, against a real PostgreSQL: bounded, fair, never reuses a broken
connection, and closes cleanly."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from microsite.pool import ConnectionPool, PoolClosed

from ecslab.sandbox import PostgresServer


def make_pool(postgres: PostgresServer, dbname: str, size: int) -> ConnectionPool:
    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(postgres.dsn(dbname), timeout=5)

    return ConnectionPool(connect, size)


def test_pool_never_opens_more_than_its_size(postgres: PostgresServer, fresh_database: str) -> None:
    async def scenario() -> None:
        pool = make_pool(postgres, fresh_database, 3)
        peak = 0

        async def query() -> None:
            nonlocal peak
            async with pool.connection() as conn:
                peak = max(peak, pool.size)
                await conn.fetchval("SELECT pg_sleep(0.02)")

        await asyncio.gather(*(query() for _ in range(20)))
        assert peak == 3
        assert pool.size == 3
        await pool.close(5)
        assert pool.size == 0

    asyncio.run(scenario())


def test_broken_connection_is_replaced(postgres: PostgresServer, fresh_database: str) -> None:
    async def scenario() -> None:
        pool = make_pool(postgres, fresh_database, 1)
        conn = await pool.acquire()
        first_pid = conn.get_server_pid()
        pool.release(conn, broken=True)
        assert conn.is_closed()
        conn = await pool.acquire()
        assert conn.get_server_pid() != first_pid
        pool.release(conn)
        again = await pool.acquire()
        assert again is conn  # a healthy connection is reused
        pool.release(again)
        await pool.close(5)

    asyncio.run(scenario())


def test_connection_in_a_transaction_is_not_reused(
    postgres: PostgresServer, fresh_database: str
) -> None:
    async def scenario() -> None:
        pool = make_pool(postgres, fresh_database, 1)
        conn = await pool.acquire()
        await conn.execute("BEGIN")
        pool.release(conn)
        assert conn.is_closed()
        await pool.close(5)

    asyncio.run(scenario())


def test_waiters_get_a_slot_when_a_connection_is_dropped(
    postgres: PostgresServer, fresh_database: str
) -> None:
    async def scenario() -> None:
        pool = make_pool(postgres, fresh_database, 1)
        held = await pool.acquire()
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        pool.release(held, broken=True)
        conn = await asyncio.wait_for(waiting, 5)
        assert await conn.fetchval("SELECT 1") == 1
        pool.release(conn)
        await pool.close(5)
        with pytest.raises(PoolClosed):
            await pool.acquire()

    asyncio.run(scenario())
