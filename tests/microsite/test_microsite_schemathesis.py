"""schemathesis (from PyPI, in a virtualenv of its own: .ci/schemathesis) against the real
microsite on a real PostgreSQL, driven by the service's own /openapi.json: every check it
has (no 5xx, answers and statuses as documented, bad input refused, good input accepted,
405s with Allow, a deleted item gone), in its coverage, fuzzing and stateful phases."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecslab.sandbox import PostgresServer, free_port

from .helpers import Microsite, service_env

MAX_EXAMPLES = "60"


def _schemathesis() -> str:
    found = os.environ.get("SCHEMATHESIS") or shutil.which("st")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("SCHEMATHESIS is not set: .ci/run prepares it with .ci/schemathesis")
    pytest.skip("schemathesis not installed: export SCHEMATHESIS=$(.ci/schemathesis)")


@pytest.fixture
def site(postgres: PostgresServer) -> Iterator[Microsite]:
    dbname = postgres.create_database(f"st_{uuid.uuid4().hex[:12]}")
    port = free_port()
    running = Microsite(service_env(postgres, dbname, port), port).start()
    yield running
    assert running.stop() == 0
    postgres.drop_database(dbname)


def test_schemathesis_finds_no_failure(site: Microsite, tmp_path: Path) -> None:
    st = _schemathesis()
    began = time.time()  # the start-up's own /ready polls, before, may be 503s
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP_PROXY", "http_proxy"))}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    done = subprocess.run(
        [
            st,
            "run",
            f"http://127.0.0.1:{site.port}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,  # where it keeps its own cache (.schemathesis/)
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout
    site.logged("request")  # every line flushed (at most 0.25 s late) and read
    time.sleep(0.5)
    during = [line for line in site.lines if line["ts"] >= began]
    server_errors = [line for line in during if line.get("status", 0) >= 500]
    assert server_errors == [], json.dumps(server_errors)
    assert not [line for line in during if line["event"] == "handler_failed"]
