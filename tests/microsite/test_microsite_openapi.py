"""/openapi.json: served by the running service, and true to the routes it describes.

test_microsite_schemathesis.py checks the answers against it; here, that the document lists
exactly the routes and methods the router serves, with the limits routes.py enforces."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from microsite.asgi import Request
from microsite.config import Settings
from microsite.db import Database
from microsite.logs import JsonLog
from microsite.openapi import document
from microsite.routes import App

from ecslab.sandbox import PostgresServer, free_port

from .helpers import Microsite, service_env


@pytest.fixture(scope="module")
def site(postgres: PostgresServer) -> Iterator[Microsite]:
    dbname = postgres.create_database(f"oas_{uuid.uuid4().hex[:12]}")
    port = free_port()
    running = Microsite(service_env(postgres, dbname, port), port).start()
    yield running
    assert running.stop() == 0
    postgres.drop_database(dbname)


def _router() -> App:
    settings = Settings(1, "test", "127.0.0.1", "u", "p")
    return App(settings, Database(settings, JsonLog(os.open(os.devnull, os.O_WRONLY))))


def _template(path: str) -> str:
    return path.replace("{id}", "1")


def test_served_document_is_the_modules(site: Microsite) -> None:
    reply = site.get("/openapi.json")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == document()
    assert reply.json()["openapi"].startswith("3.")


def test_every_documented_operation_is_routed_and_every_route_documented() -> None:
    app = _router()
    paths = document()["paths"]
    verbs = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
    for path, item in paths.items():
        documented = {m.upper() for m in item if m != "parameters"}
        for verb in verbs:
            result = app(Request(verb, _template(path), "", b"", b""))
            status = getattr(result, "status", None)
            if verb in documented:
                assert status != 405 and status != 404, (verb, path)
                if hasattr(result, "close"):
                    result.close()  # a coroutine not awaited: the database is not needed
            else:
                assert status == 405, (verb, path)
    # No route beyond the document: an undocumented path is a 404.
    assert set(app._routes) == {p for p in paths if "{" not in p}


def test_limits_are_the_enforced_ones(site: Microsite) -> None:
    page = document()["paths"]["/items"]["get"]["parameters"]
    limit = next(p for p in page if p["name"] == "limit")["schema"]
    assert site.get(f"/items?limit={limit['maximum']}").status == 200
    assert site.get(f"/items?limit={limit['maximum'] + 1}").status == 400
    assert site.get(f"/items?limit={limit['minimum'] - 1}").status == 400
    name = document()["components"]["schemas"]["NewItem"]["properties"]["name"]
    over = '{"name": "' + "n" * (name["maxLength"] + 1) + '"}'
    headers = {"Content-Type": "application/json"}
    assert site.call("POST", "/items", body=over.encode(), headers=headers).status == 422
