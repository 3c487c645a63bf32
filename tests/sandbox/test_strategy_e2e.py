"""`ecslab --sandbox run-all` with a canary deployment strategy, through the CLI: the stack
gets the traffic-shifting resources, a second deploy (a new task size) goes through the
canary's stages, and `ecslab wait` and `status` report it from ECS's deployment history."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from ecslab.sandbox.state import load_state
from tests.sandbox.test_sandbox_e2e import REPO, _ecslab, sandbox_root

__all__ = ["sandbox_root"]  # the fixture, shared with the run-all end-to-end test


def test_run_all_with_a_canary_then_wait(
    sandbox_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the sandbox's moto runs this checkout's code
    monkeypatch.setenv("ECSLAB_DEPLOYMENT_STRATEGY", "canary:25:1")
    monkeypatch.setenv("ECSLAB_DEPLOYMENT_BAKE_MINUTES", "1")
    first = _ecslab(capsys, "--sandbox", "--yes", "run-all")
    assert first.code == 0, first.err + first.out

    monkeypatch.setenv("ECSLAB_FARGATE_MEMORY", "1024")  # a new task definition revision
    second = _ecslab(capsys, "--sandbox", "--yes", "run-all")
    assert second.code == 0, second.err + second.out
    waited = _ecslab(capsys, "--sandbox", "wait", "--until", "deployed")
    assert waited.code == 0, waited.err + waited.out
    assert "deployment SUCCESSFUL" in waited.events()[-1]["message"]
    shown = _ecslab(capsys, "--sandbox", "status")
    assert shown.events()[-1]["service_deployment"]["status"] == "SUCCESSFUL"

    state = load_state(sandbox_root)
    assert state is not None
    ecs = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("ecs", endpoint_url=state.endpoint_url)
    briefs = ecs.list_service_deployments(
        cluster="ecslab-dev-cluster", service="ecslab-dev-microservice"
    )["serviceDeployments"]
    (newest, *_) = ecs.describe_service_deployments(
        serviceDeploymentArns=[b["serviceDeploymentArn"] for b in briefs]
    )["serviceDeployments"]
    configuration = newest["deploymentConfiguration"]
    assert (newest["status"], configuration["strategy"]) == ("SUCCESSFUL", "CANARY")
    assert configuration["canaryConfiguration"] == {
        "canaryPercent": 25.0,
        "canaryBakeTimeInMinutes": 1,
    }
    assert configuration["alarms"]["alarmNames"] == ["ecslab-dev-target-5xx"]
