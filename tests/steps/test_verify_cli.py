"""`ecslab verify`, `status` and `logs` through the CLI: exit codes and JSON output."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecslab.cli import run
from ecslab.core.errors import ExitCode
from tests.steps.test_verify_aws import MICROSITE_JSON
from tests.verify_support import StandIn


@pytest.fixture
def cli(
    aws: boto3.Session,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, list[dict[str, Any]]]]:
    for name in list(os.environ):
        if name.startswith("ECSLAB_") or name == "CI":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, verify_url: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        if verify_url:
            monkeypatch.setenv("ECSLAB_VERIFY_URL", verify_url)
        code = run(["--output", "json", *args])
        out = capsys.readouterr().out
        return code, [json.loads(line) for line in out.splitlines() if line.strip()]

    return invoke


def test_healthy_exits_0(cli: Callable[..., Any]) -> None:
    with StandIn(200, MICROSITE_JSON).running() as url:
        code, events = cli("verify", verify_url=url)
    assert code == ExitCode.OK
    done = next(e for e in events if e.get("event") == "step" and e["status"] == "done")
    data = done["data"]
    assert data["latency_ms"] >= 0 and data["response"]["service"] == "microsite"
    assert events[-1]["event"] == "summary" and events[-1]["status"] == "ok"


def test_no_answer_exits_8_after_the_timeout(
    cli: Callable[..., Any], free_port: Callable[[], int]
) -> None:
    code, events = cli("verify", "--timeout", "2s", verify_url=f"http://127.0.0.1:{free_port()}/")
    assert code == ExitCode.VERIFY_TIMEOUT
    assert events[-1]["error"] == "VerifyTimeout"
    assert "connection refused" in events[-1]["message"]


def test_not_deployed_exits_7(cli: Callable[..., Any]) -> None:
    code, events = cli("verify")
    assert code == ExitCode.VERIFY_FAILED
    assert "not deployed" in events[-1]["message"] and events[-1]["hint"]


def test_status_and_logs_json(cli: Callable[..., Any]) -> None:
    code, events = cli("status")
    assert code == ExitCode.OK and events[-1]["stack"] is None
    code, events = cli("logs", "--since", "5m")
    assert code == ExitCode.USAGE and "does not exist" in events[-1]["message"]


def test_verify_url_without_aws_probes_only(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, free_port: Callable[[], int]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing there
    with StandIn(200, MICROSITE_JSON).running() as url:
        code, events = cli("verify", verify_url=url)
    assert code == ExitCode.OK
    warnings = [e["message"] for e in events if e.get("event") == "warning"]
    assert len(warnings) == 1 and "probing" in warnings[0] and "only" in warnings[0]
