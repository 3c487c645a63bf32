"""`ecslab sandbox up` (and `--sandbox`) with a moto the sandbox is not tested with: exit 2,
naming the supported release, before any service starts. The installed moto stays; the
CLI's Environment tells it another release."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from ecslab.cli import run
from ecslab.core.environment import Environment, installed_version
from ecslab.sandbox.moto_seam import MOTO_REQUIREMENT, SUPPORTED_MOTO


def _run(args: list[str], folder: Path, moto: str | None) -> tuple[int, str]:
    def versions(name: str) -> str | None:
        return moto if name == "moto" else installed_version(name)

    err = io.StringIO()
    environment = Environment(
        env=dict(os.environ),
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        stderr=err,
        cwd=folder,
        versions=versions,
    )
    return run(args, environment), err.getvalue()


@pytest.mark.parametrize("moto", ["5.1.0", None])
@pytest.mark.parametrize("command", [["sandbox", "up"], ["--sandbox", "status"]])
def test_an_untested_moto_is_refused_before_anything_starts(
    clean_env: Path, command: list[str], moto: str | None
) -> None:
    code, err = _run(command, clean_env, moto)
    assert code == 2, err
    assert f"moto {SUPPORTED_MOTO[-1]}" in err
    assert "no moto" in err if moto is None else f"moto {moto}" in err
    assert MOTO_REQUIREMENT in err  # what to run
    assert "Traceback" not in err
    sandbox = clean_env / ".ecslab" / "sandbox"
    assert not (sandbox / "state.json").exists()  # nothing was started, nothing recorded
