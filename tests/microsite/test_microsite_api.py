"""Every route of a running microsite against a real PostgreSQL database."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator

import pytest

from ecslab.sandbox import PostgresServer, free_port

from .helpers import Microsite, service_env

SEEDED = 3


@pytest.fixture(scope="module")
def site(postgres: PostgresServer) -> Iterator[Microsite]:
    dbname = postgres.create_database(f"site_{uuid.uuid4().hex[:12]}")
    port = free_port()
    running = Microsite(service_env(postgres, dbname, port), port).start()
    yield running
    assert running.stop() == 0
    postgres.drop_database(dbname)


def new_item(site: Microsite, name: str = "widget", description: str = "d") -> dict:
    reply = site.call(
        "POST",
        "/items",
        body=json.dumps({"name": name, "description": description}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 201, reply.body
    return reply.json()


def test_root_answers_with_data_from_the_database(site: Microsite) -> None:
    reply = site.get("/")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    data = reply.json()
    assert data["service"] == "microsite"
    assert data["environment"] == "test"
    assert data["database"]["version"].startswith("PostgreSQL ")
    assert data["database"]["time"][:4].isdigit()
    names = [item["name"] for item in data["items"]]
    assert "Hello from the database" in names
    assert {"id", "name", "description", "created_at"} <= set(data["items"][0])


def test_root_reads_the_database_on_every_request(site: Microsite) -> None:
    first, second = site.get("/").json(), site.get("/").json()
    assert first["database"]["time"] != second["database"]["time"]


def test_health_and_ready(site: Microsite) -> None:
    assert (site.get("/health").status, site.get("/health").json()) == (200, {"status": "ok"})
    assert (site.get("/ready").status, site.get("/ready").json()) == (200, {"status": "ready"})


def test_item_lifecycle(site: Microsite) -> None:
    created = new_item(site, "lifecycle", "made by a test")
    assert created["name"] == "lifecycle"
    assert created["description"] == "made by a test"
    location = f"/items/{created['id']}"
    assert site.get(location).json() == created
    deleted = site.call("DELETE", location)
    assert (deleted.status, deleted.body) == (204, b"")
    assert site.get(location).status == 404
    assert site.call("DELETE", location).json()["error"] == "not_found"


def test_create_returns_location(site: Microsite) -> None:
    reply = site.call("POST", "/items", body=b'{"name": "located"}')
    assert reply.status == 201
    item = reply.json()
    assert reply.headers["location"] == f"/items/{item['id']}"
    assert item["description"] == ""


def test_list_is_paginated(site: Microsite) -> None:
    for n in range(3):
        new_item(site, f"page {n}")
    full = site.get("/items?limit=100").json()
    assert full["total"] == len(full["items"]) >= SEEDED + 3
    page = site.get("/items?limit=2&offset=1").json()
    assert [i["id"] for i in page["items"]] == [i["id"] for i in full["items"][1:3]]
    assert page["next"] == "/items?limit=2&offset=3"
    last = site.get(f"/items?limit=2&offset={full['total'] - 1}").json()
    assert (len(last["items"]), last["next"]) == (1, None)
    assert site.get("/items").json()["limit"] == 20


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("limit=5&offset=x", "offset"),
        ("limit=" + "9" * 5000, "limit"),
        ("offset=" + "1" * 5000, "offset"),
        ("limit=5&limit=6", "limit"),
    ],
)
def test_list_rejects_bad_paging(site: Microsite, query: str, field: str) -> None:
    reply = site.get(f"/items?{query}")
    assert reply.status == 400
    data = reply.json()
    assert data["error"] == "validation_failed"
    assert field in [f["field"] for f in data["fields"]]


@pytest.mark.parametrize(
    ("body", "status", "field", "reason"),
    [
        (b"{not json", 400, "body", "is not valid JSON"),
        (b"[1, 2]", 400, "body", "must be a JSON object"),
        (b"{}", 422, "name", "is required"),
        (b'{"name": 42}', 422, "name", "must be a string"),
        (b'{"name": "   "}', 422, "name", "must not be blank"),
        (json.dumps({"name": "x" * 101}).encode(), 422, "name", "must be at most 100 characters"),
        (b'{"name": "ok", "description": 7}', 422, "description", "must be a string"),
        (
            json.dumps({"name": "ok", "description": "y" * 1001}).encode(),
            422,
            "description",
            "must be at most 1000 characters",
        ),
        (b'{"name": "ok", "colour": "red"}', 422, "colour", "is not a known field"),
        (b'{"name": "a\\u0000b"}', 422, "name", "must not contain NUL characters"),
    ],
)
def test_create_validates(
    site: Microsite, body: bytes, status: int, field: str, reason: str
) -> None:
    reply = site.call("POST", "/items", body=body, headers={"Content-Type": "application/json"})
    assert reply.status == status
    data = reply.json()
    assert {"field": field, "reason": reason} in data["fields"]
    assert field in data["message"]


def test_create_wants_json(site: Microsite) -> None:
    reply = site.call(
        "POST",
        "/items",
        body=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (reply.status, reply.json()["error"]) == (415, "unsupported_media_type")


def test_create_bounds_the_body(site: Microsite) -> None:
    reply = site.call(
        "POST",
        "/items",
        body=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert (reply.status, reply.json()["error"]) == (413, "body_too_large")


@pytest.mark.parametrize(
    "raw_id", ["abc", "0", "-1", "1.5", "99999999999999999999", "9223372036854775808", "7" * 5000]
)
def test_item_id_must_be_a_positive_integer(site: Microsite, raw_id: str) -> None:
    for method in ("GET", "DELETE"):
        reply = site.call(method, f"/items/{raw_id}")
        assert reply.status == 400
        assert reply.json()["fields"] == [{"field": "id", "reason": "must be a positive integer"}]


def test_unknown_item_is_404(site: Microsite) -> None:
    assert site.get("/items/987654321").json() == {
        "error": "not_found",
        "message": "no such resource",
    }


@pytest.mark.parametrize("path", ["/nope", "/items/1/extra", "/health/", "/%00"])
def test_unknown_path_is_json_404(site: Microsite, path: str) -> None:
    reply = site.get(path)
    assert reply.status == 404
    assert reply.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/", "GET"),
        ("DELETE", "/health", "GET"),
        ("PUT", "/items", "GET, POST"),
        ("PATCH", "/items/1", "DELETE, GET"),
    ],
)
def test_wrong_method_is_json_405(site: Microsite, method: str, path: str, allow: str) -> None:
    reply = site.call(method, path)
    assert reply.status == 405
    assert reply.headers["allow"] == allow
    assert reply.json()["error"] == "method_not_allowed"


def raw_exchange(port: int, payload: bytes) -> bytes:
    """Send `payload`, read until the server closes (the payload must make it close).

    No half-close after sending: uvicorn closes a connection on the client's EOF, dropping
    answers to pipelined requests not yet computed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_pipelined_requests_are_answered_in_order(site: Microsite) -> None:
    payload = (
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answer = raw_exchange(site.port, payload)
    parts = answer.split(b"HTTP/1.1 ")[1:]
    assert [p[:6] for p in parts] == [b"200 OK"] * 3
    assert b'"service":"microsite"' in parts[0]
    assert parts[1].endswith(b'{"status":"ok"}')
    assert parts[2].endswith(b"}") and b'{"id":1,' in parts[2]


def test_malformed_request_gets_400_and_close(site: Microsite) -> None:
    # uvicorn answers what it cannot parse itself, in plain text, and logs a warning (a
    # JSON line through the service's log).
    answer = raw_exchange(site.port, b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in answer
    warnings = site.logged("library")
    assert any(line["message"] == "Invalid HTTP request received." for line in warnings)


def test_oversized_head_is_refused(site: Microsite) -> None:
    answer = raw_exchange(site.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_logs_are_json_lines_without_secrets(site: Microsite) -> None:
    site.get("/items?limit=1")
    site.call("POST", "/items", body=b"{broken")
    site.wait_for(
        lambda: any(
            line.get("path") == "/items" and line.get("status") == 400 for line in site.lines
        ),
        5,
        "logged",
    )
    lines = site.lines  # every line parses as JSON
    requests = [line for line in lines if line["event"] == "request"]
    assert {"method", "path", "status", "ms"} <= set(requests[0])
    started = next(line for line in lines if line["event"] == "started")
    assert started["db_user"] == site.env["USER"]
    text = b"".join(site.raw)
    assert site.env["PASSWORD"].encode() not in text
    assert b"Traceback" not in text
    assert b"SELECT" not in text.upper().replace(b"SELECTED", b"")


def test_error_answers_leak_nothing(site: Microsite) -> None:
    for reply in (
        site.call("POST", "/items", body=b'{"name": 1}'),
        site.get("/items/x"),
        site.call("POST", "/items", body=b"{"),
    ):
        body = reply.body.upper()
        assert b"TRACEBACK" not in body
        assert b"SELECT" not in body and b"INSERT" not in body
        assert site.env["PASSWORD"].encode().upper() not in body


def test_expect_100_continue_is_answered(site: Microsite) -> None:
    body = json.dumps({"name": "big", "description": "z" * 900}).encode() + b" " * 600
    with socket.create_connection(("127.0.0.1", site.port), timeout=10) as sock:
        sock.sendall(
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201 Created")


def test_a_huge_path_is_logged_cut_short(site: Microsite) -> None:
    marker = uuid.uuid4().hex
    path = f"/items/{'8' * 5000}{marker}"
    assert site.get(path).status == 400
    site.wait_for(
        lambda: any(line.get("path", "").startswith("/items/888") for line in site.lines),
        5,
        "logging the request",
    )
    logged = [line["path"] for line in site.lines if line.get("path", "").startswith("/items/888")]
    assert logged and all(len(p) <= 200 for p in logged)
    assert not any(marker in line.decode() for line in site.raw)
