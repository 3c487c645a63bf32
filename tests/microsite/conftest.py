"""Fixtures for the microsite tests (helpers live in helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ecslab.sandbox import PostgresServer

from .helpers import Microsite, service_env


@pytest.fixture
def microsite_factory(free_port: Callable[[], int]) -> Iterator[Callable[..., Microsite]]:
    """Make Microsite processes (not started) for a PostgreSQL server and database."""
    made: list[Microsite] = []

    def make(server: PostgresServer, dbname: str, **extra: str) -> Microsite:
        port = free_port()
        site = Microsite(service_env(server, dbname, port, **extra), port)
        made.append(site)
        return site

    yield make
    for site in made:
        site.stop()
