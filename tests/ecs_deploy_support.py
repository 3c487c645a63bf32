"""fabfuel's ecs-deploy (PyPI `ecs-deploy`, command `ecs`) as an ECS client nobody here wrote.

Like the AWS CLI (tests/awscli_support.py) it lives in a virtualenv of its own, made once
per machine and reused: `ECSLAB_TEST_ECS_DEPLOY` names an `ecs` program CI prepared, else
the venv is kept in the user's cache folder (`$XDG_CACHE_HOME/ecslab-tests/ecs-deploy`,
made under a lock). ecs-deploy takes keys and region as options but no endpoint; it makes
its clients with boto3, which reads AWS_ENDPOINT_URL, so that is how it reaches a sandbox.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.tool_venv import ToolUnavailable, VenvTool, tool_env

TOOL = VenvTool("ecs-deploy", "ecs-deploy>=1.15,<2", "ecs", "ECSLAB_TEST_ECS_DEPLOY")
EcsDeployUnavailable = ToolUnavailable


def ensure_ecs_deploy(venv: Path | None = None) -> Path:
    """The `ecs` program: ECSLAB_TEST_ECS_DEPLOY's, or the cached venv's (installed if missing)."""
    return TOOL.ensure(venv)


@dataclass(frozen=True)
class EcsDeploy:
    """`ecs` against one endpoint (a sandbox's moto) with fake keys, in region us-east-1."""

    program: Path
    endpoint_url: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        return tool_env(AWS_ENDPOINT_URL=self.endpoint_url, NO_PROXY="127.0.0.1,localhost")

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
