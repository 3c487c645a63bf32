"""Fixtures for CLI tests: a clean environment and a helper that runs `ecslab`."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecslab.cli import run
from ecslab.core.environment import Environment


@dataclass
class Result:
    code: int
    out: str
    err: str

    def events(self) -> list[dict[str, object]]:
        """stdout parsed as JSON lines; fails the test if any line is not JSON."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No ECSLAB_*/AWS_* leaking in from the machine; run in an empty folder."""
    for name in list(os.environ):
        if name.startswith(("ECSLAB_", "AWS_")) or name in ("NO_COLOR", "CI"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def ecslab(clean_env: Path) -> Callable[..., Result]:
    """Run `ecslab ARGS` in an injected Environment: the (cleaned) variables, StringIO
    streams, `stdin` as what the user types, and the test's folder."""

    def invoke(*args: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        environment = Environment(
            env=dict(os.environ), stdin=io.StringIO(stdin), stdout=out, stderr=err, cwd=clean_env
        )
        code = run(list(args), environment)
        return Result(code, out.getvalue(), err.getvalue())

    return invoke
