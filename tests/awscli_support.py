"""The AWS CLI (v1, from PyPI) as a client nobody here wrote, for tests of the sandbox.

It lives in a virtualenv of its own, so its pins never move the project's boto3, made once
per machine and reused: `ECSLAB_TEST_AWSCLI` names an `aws` program CI prepared, else the
venv is kept in the user's cache folder (`$XDG_CACHE_HOME/ecslab-tests/awscli`, made under
a lock so parallel runs build it once). `AwsCli.json(...)` runs a command against an
endpoint with fake keys and no user configuration, and returns the parsed JSON output.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PROGRAM = "ECSLAB_TEST_AWSCLI"
REQUIREMENT = "awscli>=1.30,<2"
INSTALL_TIMEOUT = 600.0
COMMAND_TIMEOUT = 60.0


class AwsCliUnavailable(Exception):
    """The AWS CLI could not be installed (no package index, for one)."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ecslab-tests" / "awscli"


def ensure_awscli(venv: Path | None = None) -> Path:
    """The `aws` program: ECSLAB_TEST_AWSCLI's, or the cached venv's (installed if missing)."""
    given = os.environ.get(ENV_PROGRAM)
    if given:
        return Path(given)
    venv = venv or cache_dir()
    program = venv / "bin" / "aws"
    ready = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "awscli.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time; the others then reuse it
        if not (ready.exists() and program.exists()):
            _install(venv)
            ready.write_text(REQUIREMENT + "\n")
    return program


def _install(venv: Path) -> None:
    steps = (
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", REQUIREMENT],
    )
    for argv in steps:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise AwsCliUnavailable(f"{' '.join(argv)} took over {INSTALL_TIMEOUT} s") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise AwsCliUnavailable(f"{' '.join(argv)} failed: {' / '.join(tail)}")


@dataclass(frozen=True)
class AwsCli:
    """`aws` against one endpoint (a moto server) with fake keys, in region us-east-1."""

    program: Path
    endpoint_url: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_PAGER="",
        )
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [
            str(self.program),
            *args,
            "--endpoint-url",
            self.endpoint_url,
            "--region",
            self.region,
            "--output",
            "json",
        ]
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            env=self.env(),
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def json(self, *args: str) -> Any:
        """The command's parsed JSON output; AssertionError with its stderr if it failed."""
        done = self.run(*args)
        assert done.returncode == 0, f"aws {' '.join(args)}: exit {done.returncode}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None


def stack_events(cli: AwsCli, stack: str) -> list[Mapping[str, Any]]:
    """`aws cloudformation describe-stack-events` (the CLI follows NextToken), oldest first."""
    found = cli.json("cloudformation", "describe-stack-events", "--stack-name", stack)
    return list(found["StackEvents"])[::-1]
