"""A sandbox moto server of the tests' own: `python -m ecslab.sandbox serve-moto`, with its
emulator areas, as a child process (its patches never reach the test process)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecslab.sandbox.emulator.cloudformation import PACE_ENV, STALE_ENV
from ecslab.sandbox.ports import LOOPBACK, free_port, http_status
from ecslab.sandbox.process import spawn, stop_process, wait_for

REPO = Path(__file__).resolve().parents[3]
TIME_SCALE = 10.0  # sandbox seconds per real second: a resource's 1 s takes 0.1 s
STALE_SECONDS = 10.0  # sandbox seconds of stale reads after each call (1 s real)


@pytest.fixture(scope="module")
def sandbox_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a serve-moto child with the emulator areas on, sped up 10 times."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve-moto") / "moto.log"
    env = {
        **os.environ,
        STALE_ENV: str(STALE_SECONDS),
        PACE_ENV: str(TIME_SCALE),
        "PYTHONPATH": str(REPO),
    }
    argv = [sys.executable, "-m", "ecslab.sandbox", "serve-moto", "--port", str(port)]
    process = spawn(argv, log, env=env)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_for(
            lambda: http_status(url + "/", timeout=1) is not None,
            30,
            "serve-moto",
            alive=lambda: process.poll() is None,
            log_path=log,
        )
        yield url
    finally:
        stop_process(process, term_timeout=10)
