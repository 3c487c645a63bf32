"""Start-up races, a database that goes away and comes back, and SIGTERM mid-request."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable

import asyncpg

from ecslab.sandbox import PostgresServer

from .helpers import Microsite, Reply, request

Factory = Callable[..., Microsite]


def test_concurrent_start_up_on_one_empty_database(
    postgres: PostgresServer, fresh_database: str, microsite_factory: Factory
) -> None:
    sites = [microsite_factory(postgres, fresh_database) for _ in range(3)]
    for site in sites:  # all three processes start before any of them is waited for
        site.launch()
    for site in sites:
        site.wait_for(lambda s=site: s.get("/ready").status == 200, 20, "ready")
        assert site.get("/").status == 200
    assert postgres.execute("SELECT count(*) FROM items", fresh_database).strip() == "3"
    assert postgres.execute("SELECT version FROM microsite_schema", fresh_database).strip() == "1"
    applied = [line["applied"] for s in sites for line in s.logged("schema_ready")]
    assert sorted(applied) == [False, False, True]


def test_restart_keeps_data_and_does_not_reseed(
    postgres: PostgresServer, fresh_database: str, microsite_factory: Factory
) -> None:
    first = microsite_factory(postgres, fresh_database).start()
    assert first.call("DELETE", "/items/1").status == 204
    assert first.stop() == 0
    second = microsite_factory(postgres, fresh_database).start()
    ids = [item["id"] for item in second.get("/items").json()["items"]]
    assert ids == [2, 3]


def test_database_going_away_and_coming_back(
    private_postgres: PostgresServer, microsite_factory: Factory
) -> None:
    site = microsite_factory(private_postgres, "postgres").start()
    assert site.get("/").status == 200
    private_postgres.stop()
    assert site.get("/health").status == 200
    for path in ("/", "/ready", "/items", "/items/1"):
        reply = site.get(path)
        assert reply.status == 503, path
        assert reply.json()["error"] == "database_unavailable"
    private_postgres.start()
    site.wait_for(lambda: site.get("/").status == 200, 20, "serving again")
    assert site.get("/ready").status == 200
    assert site.process is not None and site.process.poll() is None
    assert site.stop() == 0


def test_database_down_at_start_up(
    private_postgres: PostgresServer, microsite_factory: Factory
) -> None:
    private_postgres.stop()
    site = microsite_factory(private_postgres, "postgres").start(wait_ready=False)
    assert site.get("/health").status == 200
    assert site.get("/").status == 503
    assert site.get("/ready").status == 503
    private_postgres.start()
    site.wait_for(lambda: site.get("/ready").status == 200, 20, "ready")
    assert len(site.get("/").json()["items"]) == 3
    assert site.logged("database_unavailable")


class TableLock:
    """Holds an exclusive lock on `items` so that reads of it wait, from another loop."""

    def __init__(self, dsn: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection = self._loop.run_until_complete(asyncpg.connect(dsn))

    def __enter__(self) -> TableLock:
        self._loop.run_until_complete(
            self._conn.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.run_until_complete(self._conn.execute("COMMIT"))
        self._loop.run_until_complete(self._conn.close())
        self._loop.close()


def test_sigterm_finishes_requests_in_flight(
    postgres: PostgresServer, fresh_database: str, microsite_factory: Factory
) -> None:
    site = microsite_factory(postgres, fresh_database).start()
    replies: list[Reply] = []
    clients = [
        threading.Thread(target=lambda: replies.append(request(site.port, "GET", "/")))
        for _ in range(4)
    ]
    with TableLock(postgres.dsn(fresh_database)):
        for client in clients:
            client.start()
        site.wait_for(lambda: _pool_waiting(postgres, fresh_database) >= 1, 10, "blocked")
        assert site.process is not None
        site.process.send_signal(15)
        site.logged("stopping")
        refused = _connect_refused(site.port)
        time.sleep(0.3)
        assert site.process.poll() is None, "exited with requests in flight"
    began = time.monotonic()
    for client in clients:
        client.join(10)
    assert site.process.wait(10) == 0
    assert time.monotonic() - began < 5
    assert refused, "new connections must be refused once SIGTERM arrived"
    assert [reply.status for reply in replies] == [200] * 4
    assert [reply.headers.get("connection") for reply in replies] == ["close"] * 4
    stopped = [line for line in site.lines if line["event"] == "stopped"]
    assert stopped and stopped[0]["clean"] is True


def test_sigterm_when_idle_exits_fast(
    postgres: PostgresServer, fresh_database: str, microsite_factory: Factory
) -> None:
    site = microsite_factory(postgres, fresh_database).start()
    keep_alive = socket.create_connection(("127.0.0.1", site.port))  # an idle client
    began = time.monotonic()
    assert site.stop() == 0
    assert time.monotonic() - began < 3
    keep_alive.close()


def _pool_waiting(postgres: PostgresServer, dbname: str) -> int:
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'microsite' "
        "AND wait_event_type = 'Lock'"
    )
    return int(postgres.execute(sql, dbname).strip())


def _connect_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_refused_login_is_a_503_and_the_password_is_never_logged(
    postgres: PostgresServer, fresh_database: str, microsite_factory: Factory
) -> None:
    wrong = "Wr0ng-" + postgres.password[::-1]
    site = microsite_factory(postgres, fresh_database, PASSWORD=wrong).start(wait_ready=False)
    reply = site.get("/")
    assert reply.status == 503
    assert reply.json()["error"] == "database_unavailable"
    errors = {line["error"] for line in site.logged("database_unavailable")}
    assert errors == {"InvalidPasswordError"}
    assert site.stop() == 0
    text = b"".join(site.raw)
    assert wrong.encode() not in text
    assert postgres.password.encode() not in text
