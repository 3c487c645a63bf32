"""Why the database is unavailable, as /ready, the other 503s and the log say it, against a
real PostgreSQL 15: a role without CREATE on schema public (42501), a missing database
(3D000), a bad password (28P01), nothing listening (unreachable)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import asyncpg.exceptions as pgerr
import pytest
from microsite.db import classify

from ecslab.sandbox import PostgresServer

from .helpers import Microsite

Factory = Callable[..., Microsite]
PASSWORD = "role-Pa55word-1"


@pytest.fixture
def plain_role(postgres: PostgresServer) -> Iterator[str]:
    """A login role that is not a superuser and owns nothing (PostgreSQL 15's defaults)."""
    name = f"app_{uuid.uuid4().hex[:10]}"
    postgres.create_role(name, PASSWORD)
    yield name
    postgres.execute(f'DROP OWNED BY "{name}"; DROP ROLE "{name}"')


def _unavailable(site: Microsite, cause: str, sqlstate: str | None) -> None:
    site.wait_for(lambda: site.get("/ready").status == 503, 10, "answering /ready")
    site.wait_for(lambda: site.get("/ready").json().get("cause") == cause, 10, f"saying {cause}")
    for path in ("/ready", "/", "/items"):
        body = site.get(path).json()
        assert body["error"] == "database_unavailable", path
        assert body["cause"] == cause, path
        assert body.get("sqlstate") == sqlstate, path
        assert body["message"].startswith("the database is not available: "), path
    assert site.get("/health").status == 200


def _logged_cause(site: Microsite, event: str, cause: str) -> dict[str, object]:
    site.wait_for(
        lambda: any(line["event"] == event and line.get("cause") == cause for line in site.lines),
        5,
        f"logging {event} {cause}",
    )
    return next(line for line in site.lines if line.get("cause") == cause)


def test_no_create_on_schema_public_is_permission_denied(
    postgres: PostgresServer, fresh_database: str, plain_role: str, microsite_factory: Factory
) -> None:
    postgres.execute(f'GRANT CONNECT ON DATABASE "{fresh_database}" TO "{plain_role}"')
    site = microsite_factory(postgres, fresh_database, USER=plain_role, PASSWORD=PASSWORD)
    site.start(wait_ready=False)
    _unavailable(site, "permission_denied", "42501")
    line = _logged_cause(site, "schema_failed", "permission_denied")
    assert line["sqlstate"] == "42501"
    # The fix the diagnosis gives works without a restart.
    postgres.execute(f'GRANT CREATE ON SCHEMA public TO "{plain_role}"', fresh_database)
    site.wait_for(lambda: site.get("/ready").status == 200, 15, "ready after the grant")
    site.stop()
    postgres.execute(f'DROP OWNED BY "{plain_role}"', fresh_database)


def test_missing_database(
    postgres: PostgresServer, plain_role: str, microsite_factory: Factory
) -> None:
    name = f"missing_{uuid.uuid4().hex[:8]}"
    site = microsite_factory(postgres, name, USER=plain_role, PASSWORD=PASSWORD)
    site.start(wait_ready=False)
    _unavailable(site, "database_missing", "3D000")
    _logged_cause(site, "database_unavailable", "database_missing")
    postgres.create_database(name, owner=plain_role)
    try:
        site.wait_for(lambda: site.get("/ready").status == 200, 15, "ready once it exists")
    finally:
        site.stop()
        postgres.drop_database(name)


def test_bad_password(
    postgres: PostgresServer, fresh_database: str, microsite_factory: Factory
) -> None:
    site = microsite_factory(postgres, fresh_database, PASSWORD="not-the-password")
    site.start(wait_ready=False)
    _unavailable(site, "bad_password", "28P01")
    line = _logged_cause(site, "database_unavailable", "bad_password")
    assert line["sqlstate"] == "28P01"
    assert b"not-the-password" not in b"".join(site.raw)


def test_nothing_listening_is_unreachable(
    postgres: PostgresServer, free_port: Callable[[], int], microsite_factory: Factory
) -> None:
    site = microsite_factory(postgres, "postgres", DB_PORT=str(free_port()))
    site.start(wait_ready=False)
    _unavailable(site, "unreachable", None)
    _logged_cause(site, "database_unavailable", "unreachable")


def test_classify_names_each_class_without_the_servers_text() -> None:
    error = pgerr.InsufficientPrivilegeError("permission denied: SELECT secret FROM t")
    problem = classify(error)
    assert (problem.cause, problem.sqlstate) == ("permission_denied", "42501")
    assert "secret" not in problem.text
    assert classify(ConnectionRefusedError()).cause == "unreachable"
    assert classify(TimeoutError()).cause == "unreachable"
    other = classify(pgerr.DeadlockDetectedError("x"))
    assert (other.cause, other.sqlstate) == ("database_error", "40P01")
