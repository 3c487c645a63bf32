"""fabfuel's ecs-deploy (PyPI `ecs-deploy`, command `ecs`) as an ECS client nobody here wrote.

Like the AWS CLI (tests/awscli_support.py) it lives in a virtualenv of its own, made once
per machine and reused: `ECSLAB_TEST_ECS_DEPLOY` names an `ecs` program CI prepared, else
the venv is kept in the user's cache folder (`$XDG_CACHE_HOME/ecslab-tests/ecs-deploy`,
made under a lock). ecs-deploy takes keys and region as options but no endpoint; it makes
its clients with boto3, which reads AWS_ENDPOINT_URL, so that is how it reaches a sandbox.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ENV_PROGRAM = "ECSLAB_TEST_ECS_DEPLOY"
REQUIREMENT = "ecs-deploy>=1.15,<2"
INSTALL_TIMEOUT = 600.0


class EcsDeployUnavailable(Exception):
    """ecs-deploy could not be installed (no package index, for one)."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ecslab-tests" / "ecs-deploy"


def ensure_ecs_deploy(venv: Path | None = None) -> Path:
    """The `ecs` program: ECSLAB_TEST_ECS_DEPLOY's, or the cached venv's (installed if missing)."""
    given = os.environ.get(ENV_PROGRAM)
    if given:
        return Path(given)
    venv = venv or cache_dir()
    program = venv / "bin" / "ecs"
    ready = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "ecs-deploy.lock", "w") as lock:
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
            raise EcsDeployUnavailable(f"{' '.join(argv)} took over {INSTALL_TIMEOUT} s") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise EcsDeployUnavailable(f"{' '.join(argv)} failed: {' / '.join(tail)}")


@dataclass(frozen=True)
class EcsDeploy:
    """`ecs` against one endpoint (a sandbox's moto) with fake keys, in region us-east-1."""

    program: Path
    endpoint_url: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint_url,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            NO_PROXY="127.0.0.1,localhost",
        )
        return env

    def run(
        self, command: str, *args: str, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """`ecs COMMAND ARGS... --region --access-key-id --secret-access-key` (fake keys)."""
        argv = [
            str(self.program),
            command,
            *args,
            "--region",
            self.region,
            "--access-key-id",
            "testing",
            "--secret-access-key",
            "testing",
        ]
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            check=False,
            stdin=subprocess.DEVNULL,
        )
