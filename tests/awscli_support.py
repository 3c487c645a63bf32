"""The AWS CLI (v1, from PyPI) as a client nobody here wrote, for tests of the sandbox.

It lives in a virtualenv of its own, so its pins never move the project's boto3, made once
per machine and reused: `ECSLAB_TEST_AWSCLI` names an `aws` program CI prepared, else the
venv is kept in the user's cache folder (`$XDG_CACHE_HOME/ecslab-tests/awscli`, made under
a lock so parallel runs build it once). `AwsCli.json(...)` runs a command against an
endpoint with fake keys and no user configuration, and returns the parsed JSON output.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.tool_venv import ToolUnavailable, VenvTool, tool_env

COMMAND_TIMEOUT = 60.0


TOOL = VenvTool("awscli", "awscli>=1.30,<2", "aws", "ECSLAB_TEST_AWSCLI")
AwsCliUnavailable = ToolUnavailable


def ensure_awscli(venv: Path | None = None) -> Path:
    """The `aws` program: ECSLAB_TEST_AWSCLI's, or the cached venv's (installed if missing)."""
    return TOOL.ensure(venv)


@dataclass(frozen=True)
class AwsCli:
    """`aws` against one endpoint (a moto server) with fake keys, in region us-east-1."""

    program: Path
    endpoint_url: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        return tool_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_PAGER="")

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
