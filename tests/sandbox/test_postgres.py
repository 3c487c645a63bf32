"""PostgresServer: a throwaway cluster that starts, stops by PID, and keeps data on restart."""

from __future__ import annotations

import socket

import pytest

from ecslab.sandbox import PostgresServer
from ecslab.sandbox.process import pid_alive


def test_session_cluster_answers_queries(postgres: PostgresServer) -> None:
    assert postgres.host == "127.0.0.1"
    assert postgres.execute("SELECT current_user") == f"{postgres.user}\n"
    assert postgres.execute("SHOW listen_addresses") == "127.0.0.1\n"


def test_password_is_required(postgres: PostgresServer) -> None:
    postgres.password, real = "wrong", postgres.password
    try:
        with pytest.raises(Exception, match="password authentication failed"):
            postgres.execute("SELECT 1")
    finally:
        postgres.password = real


def test_fresh_database_is_new_and_empty(postgres: PostgresServer, fresh_database: str) -> None:
    tables = postgres.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        fresh_database,
    )
    assert tables == "0\n"
    assert postgres.dsn(fresh_database).endswith(f"@127.0.0.1:{postgres.port}/{fresh_database}")


def test_restart_keeps_data_and_port(private_postgres: PostgresServer) -> None:
    private_postgres.create_database("kept")
    private_postgres.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (42)", "kept")
    port = private_postgres.port
    private_postgres.restart()
    assert private_postgres.port == port
    assert private_postgres.execute("SELECT x FROM t", "kept") == "42\n"


def test_stop_ends_the_server(private_postgres: PostgresServer) -> None:
    pid = private_postgres.pid
    assert pid is not None
    private_postgres.stop()
    assert not pid_alive(pid)
    assert private_postgres.pid is None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", private_postgres.port)) != 0


def test_role_logs_in_with_its_password(private_postgres: PostgresServer) -> None:
    private_postgres.create_role("app", "it's secret")
    private_postgres.create_database("appdb", owner="app")
    private_postgres.user, private_postgres.password = "app", "it's secret"
    assert private_postgres.execute("SELECT current_user") == "app\n"


def test_rejects_sql_in_names(postgres: PostgresServer) -> None:
    with pytest.raises(ValueError):
        postgres.create_database('x"; DROP DATABASE postgres; --')
