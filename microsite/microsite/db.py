"""The database side: a bounded connection pool, the schema bootstrap and the queries.

Connections are opened on demand (pool.py), so a database that is down at start-up does
not stop the service: a background task creates and seeds the schema as soon as the database
answers, retrying with backoff. Until then, and whenever the database is unreachable,
queries raise DatabaseUnavailable (the HTTP layer answers 503). Connections broken by a
database restart are dropped (with every idle one, likely dead too) and replaced on the
next acquire; a read that fails because its connection died is retried once on a fresh one.

Every failure is classified once (`classify`): the PostgreSQL error class (bad password,
missing database, no permission, ...) or "unreachable", so that `/ready`, the 503 answers
and the log say which one it is, and the lab's diagnosis can name the fix.

Concurrent start-up of several tasks on one empty database is serialised by a
transaction-scoped advisory lock around the migration, so exactly one task creates and
seeds the schema and the others see it done.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import asyncpg.exceptions as pgerr

from microsite.config import Settings
from microsite.logs import JsonLog
from microsite.pool import ConnectionPool, PoolClosed

CONNECT_TIMEOUT = 3.0
QUERY_TIMEOUT = 5.0
SCHEMA_VERSION = 1
# Any 64-bit constant unique to this application; every task takes the same one.
_MIGRATION_LOCK = 0x6D6963726F73  # "micros"
_BACKOFF_MAX = 5.0

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    pgerr.PostgresConnectionError,
    pgerr.OperatorInterventionError,  # 57xxx: shutting down, starting up
    pgerr.InsufficientResourcesError,  # 53xxx: too many connections
    pgerr.InvalidAuthorizationSpecificationError,  # 28xxx: login refused
    pgerr.InvalidCatalogNameError,  # 3D000: no such database
    PoolClosed,
)

_MIGRATION = """
CREATE TABLE IF NOT EXISTS microsite_schema (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""

_V1 = """
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO items (name, description) VALUES
    ('Hello from the database', 'Seeded by microsite when it created its schema.'),
    ('ECS on Fargate',
     'This row was read from PostgreSQL by the container behind the load balancer.'),
    ('Next labs', 'Use /items to add, read and delete rows.');
INSERT INTO microsite_schema (version) VALUES (1);
"""

_ITEM_COLUMNS = "id, name, description, created_at"
SQL_OVERVIEW = f"""
SELECT now() AS server_time, version() AS server_version, i.*
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT {_ITEM_COLUMNS} FROM items ORDER BY id LIMIT 10
) AS i ON true
"""
SQL_PING = "SELECT 1"
SQL_LIST = f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY id LIMIT $1 OFFSET $2"
SQL_COUNT = "SELECT count(*) FROM items"
SQL_GET = f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = $1"
SQL_INSERT = f"INSERT INTO items (name, description) VALUES ($1, $2) RETURNING {_ITEM_COLUMNS}"
SQL_DELETE = "DELETE FROM items WHERE id = $1 RETURNING id"


@dataclass(frozen=True)
class Problem:
    """Why the database cannot serve: a stable `cause` name, PostgreSQL's SQLSTATE when the
    server said it, and a short text. Never the server's own message: it may quote SQL."""

    cause: str
    sqlstate: str
    text: str


# SQLSTATE -> (cause, text). https://www.postgresql.org/docs/current/errcodes-appendix.html
_SQLSTATES = {
    "28P01": ("bad_password", "password authentication failed for the database user"),
    "28000": ("login_refused", "the server refused the login (pg_hba.conf rules or TLS)"),
    "3D000": ("database_missing", "the database does not exist"),
    "42501": ("permission_denied", "permission denied (e.g. no CREATE on schema public)"),
    "53300": ("too_many_connections", "the server has no connection slot left"),
    "57P03": ("not_accepting", "the server is starting up or shutting down"),
}
STARTING = Problem("starting", "", "the schema is not created yet")
STOPPING = Problem("stopping", "", "the service is shutting down")
UNREACHABLE = Problem(
    "unreachable", "", "no answer from the database host (network, security group, host, port)"
)


def classify(exc: BaseException) -> Problem:
    """The Problem an exception from connecting or querying stands for."""
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        if state in _SQLSTATES:
            cause, text = _SQLSTATES[state]
            return Problem(cause, state, text)
        if state.startswith("57"):
            return Problem("not_accepting", state, "the server is not accepting queries now")
        return Problem("database_error", state, f"the server answered with error {state}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Problem("tls_untrusted", "", "the database's certificate is not trusted")
    if isinstance(exc, ssl.SSLError) or "SSL" in str(exc):
        return Problem("tls_failed", "", "TLS with the database failed")
    if isinstance(exc, PoolClosed):
        return STOPPING
    if isinstance(exc, OSError | TimeoutError | asyncio.TimeoutError):
        return UNREACHABLE
    return Problem("unavailable", "", "the database is not available")


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is not ready; `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.cause)
        self.problem = problem


class Database:
    def __init__(self, settings: Settings, log: JsonLog) -> None:
        self._settings = settings
        self._log = log
        self._pool: ConnectionPool | None = None
        self._bootstrap: asyncio.Task[None] | None = None
        self._ssl = _tls(settings)
        self.schema_ready = False
        # The last failure, reported by 503 answers; None once a query succeeded since.
        self.problem: Problem | None = None

    async def open(self) -> None:
        """Create the (lazy) pool and start the schema bootstrap in the background."""
        self._pool = ConnectionPool(self._connect, self._settings.pool_size)
        self.start_bootstrap()

    async def _connect(self) -> asyncpg.Connection:
        s = self._settings
        conn: asyncpg.Connection = await asyncpg.connect(
            host=s.db_host,
            port=s.db_port,
            user=s.db_user,
            password=s.db_password,
            database=s.db_name,
            ssl=self._ssl,
            timeout=CONNECT_TIMEOUT,
            command_timeout=QUERY_TIMEOUT,
            server_settings={"application_name": "microsite"},
        )
        return conn

    def start_bootstrap(self) -> None:
        if self._bootstrap is None or self._bootstrap.done():
            self._bootstrap = asyncio.get_running_loop().create_task(self._bootstrap_loop())

    async def close(self, timeout: float = 5.0) -> None:
        if self._bootstrap is not None:
            self._bootstrap.cancel()
        if self._pool is not None:
            await self._pool.close(timeout)

    async def _bootstrap_loop(self) -> None:
        delay = 0.25
        while not self.schema_ready:
            try:
                applied = await self._migrate()
            except _UNAVAILABLE as exc:
                self._failed(exc, "schema", retry_in_s=delay)
            except asyncpg.PostgresError as exc:
                self.problem = problem = classify(exc)
                self._log.error(
                    "schema_failed",
                    error=type(exc).__name__,
                    cause=problem.cause,
                    sqlstate=problem.sqlstate,
                    reason=problem.text,
                    retry_in_s=delay,
                )
            else:
                self.problem = None
                self.schema_ready = True
                self._log.info("schema_ready", version=SCHEMA_VERSION, applied=applied)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX)

    def _failed(self, exc: BaseException, during: str, **fields: Any) -> Problem:
        """Record why the database failed; log it when the reason is new (not per request)."""
        problem = classify(exc)
        if problem != self.problem or during == "schema":
            self._log.warning(
                "database_unavailable",
                during=during,
                error=type(exc).__name__,
                cause=problem.cause,
                sqlstate=problem.sqlstate,
                reason=problem.text,
                **fields,
            )
        self.problem = problem
        return problem

    async def _migrate(self) -> bool:
        """Create and seed the schema under an advisory lock; True if this call applied it."""
        assert self._pool is not None
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(_MIGRATION)
            done = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM microsite_schema WHERE version = $1)", SCHEMA_VERSION
            )
            if done:
                return False
            await conn.execute(_V1)
            return True

    async def fetch(self, query: str, *args: Any, retry: bool = True) -> Sequence[asyncpg.Record]:
        """Run one statement; retry once on a dead connection when `retry` (reads only)."""
        pool = self._pool
        if pool is None or not self.schema_ready:
            if pool is not None:
                self.start_bootstrap()
            raise DatabaseUnavailable(self.problem or STARTING)
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                conn = await pool.acquire()
            except _UNAVAILABLE as exc:
                raise DatabaseUnavailable(self._failed(exc, "request")) from None
            try:
                rows: list[asyncpg.Record] = await conn.fetch(query, *args)
            except pgerr.UndefinedTableError:
                pool.release(conn)
                # The database was replaced by an empty one: build the schema again.
                self.schema_ready = False
                self.problem = None
                self.start_bootstrap()
                raise DatabaseUnavailable(STARTING) from None
            except _UNAVAILABLE as exc:
                pool.release(conn, broken=True)
                pool.discard_idle()
                if attempt + 1 == attempts:
                    raise DatabaseUnavailable(self._failed(exc, "request")) from None
                continue
            except asyncpg.PostgresError:
                pool.release(conn)  # the server refused the statement; the session is fine
                raise
            except BaseException:
                pool.release(conn, broken=True)  # cancelled mid-query: never reuse it
                raise
            pool.release(conn)
            self.problem = None
            return rows
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        await self.fetch(SQL_PING)


def _tls(settings: Settings) -> ssl.SSLContext | str | bool:
    """asyncpg's `ssl` argument for the configured mode (Settings.tls_mode)."""
    mode = settings.tls_mode
    if mode == "verify-full":
        # Chain and host name, as libpq's sslmode=verify-full with sslrootcert.
        return ssl.create_default_context(cafile=settings.ssl_root_cert)
    if mode == "disable":
        return False
    return mode  # "require" (TLS, unverified) or "prefer" (TLS when offered)
