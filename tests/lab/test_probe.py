"""The HTTP probe: each verdict from a real loopback server, and the microsite's JSON shape."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ecslab.lab.probe import Verdict, classify, probe, read_microsite
from tests.verify_support import StandIn

GOOD = {
    "service": "microsite",
    "environment": "dev",
    "database": {"time": "2026-11-25T02:00:00.123+00:00", "version": "PostgreSQL 15.8 on x86_64"},
    "items": [{"id": 1}, {"id": 2}],
}


@pytest.mark.parametrize(
    ("status", "body", "ctype", "verdict", "detail"),
    [
        (200, json.dumps(GOOD), "application/json", Verdict.HEALTHY, "2 item(s)"),
        (
            503,
            '{"error":"database_unavailable","message":"the database is not available"}',
            "application/json",
            Verdict.DATABASE_DOWN,
            "the database is not available",
        ),
        (
            503,
            "<html>503 Service Temporarily Unavailable</html>",
            "text/html",
            Verdict.HTTP_ERROR,
            "no healthy target",
        ),
        (200, '{"status":"ok"}', "application/json", Verdict.WRONG_ANSWER, "database.time"),
        (200, "<h1>Welcome to nginx!</h1>", "text/html", Verdict.WRONG_ANSWER, "not JSON"),
        (200, "[1, 2]", "application/json", Verdict.WRONG_ANSWER, "not an object"),
    ],
)
def test_verdicts_from_a_real_server(
    status: int, body: str, ctype: str, verdict: Verdict, detail: str
) -> None:
    with StandIn(status, body.encode(), ctype).running() as url:
        result = probe(url)
    assert result.verdict == verdict
    assert result.status == status
    assert detail in result.detail
    assert isinstance(result.latency, float)
    assert result.latency >= 0


def test_refused(free_port: Callable[[], int]) -> None:
    result = probe(f"http://127.0.0.1:{free_port()}/")
    assert result.verdict == Verdict.NO_ANSWER and result.status is None
    assert result.detail == "connection refused: nothing listens there"


def test_microsite_answer_summary() -> None:
    answer = read_microsite(GOOD)
    assert not isinstance(answer, str)
    assert answer.summary() == (
        "microsite (dev): database time 2026-11-25T02:00:00.123+00:00, PostgreSQL 15.8, 2 item(s)"
    )


def test_items_missing_is_not_healthy() -> None:
    body = {**GOOD}
    del body["items"]
    assert read_microsite(body) == "no list of items ('items') in the JSON"
    assert classify("u", 200, json.dumps(body).encode(), 0.0).verdict == Verdict.WRONG_ANSWER


def test_signature_ignores_latency() -> None:
    a = classify("u", 502, b"bad gateway", 0.1)
    b = classify("u", 502, b"bad gateway", 0.9)
    assert a.signature() == b.signature()
    assert a.signature() != classify("u", 504, b"timeout", 0.1).signature()


def test_loopback_never_goes_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch, free_port: Callable[[], int]
) -> None:
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with StandIn(200, json.dumps(GOOD).encode()).running() as url:
        assert probe(url).verdict == Verdict.HEALTHY
