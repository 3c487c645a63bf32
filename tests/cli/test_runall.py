"""`ecslab run-all`, `step`, `plan` and bad input, through `ecslab.cli.run`, on moto.

The control plane end to end: the image step finds its tag already in ECR (as after an
earlier push) and verify probes a loopback stand-in that answers like the microsite.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecslab.core.config import Config
from ecslab.lab.images import build_args, derive_tag
from ecslab.sandbox.moto_patch import change_set_outputs
from tests.cli.conftest import Result
from tests.helpers import DB_PASSWORD, moto_fixes, put_fake_images
from tests.verify_support import StandIn

REPOSITORY = "ecslab-dev-microservice"
HEALTHY = {
    "service": "microsite",
    "environment": "dev",
    "database": {"time": "2026-11-25T02:00:00+00:00", "version": "PostgreSQL 15.8 on x86_64"},
    "items": [{"id": 1, "name": "first"}],
}
Run = Callable[..., Result]


@pytest.fixture
def lab(
    aws: boto3.Session,
    moto_server: str,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Path]:
    """Env for a lab run on moto; yields the microsite folder (not a git checkout)."""
    microsite = tmp_path / "microsite"
    microsite.mkdir()
    (microsite / "Dockerfile").write_text("ARG BASE_IMAGE=python:3.12-slim\nFROM $BASE_IMAGE\n")
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "ECSLAB_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server,  # the test's own clients
        "ECSLAB_ENDPOINT_URL": moto_server,
        "ECSLAB_DB_HOST": "db.example.internal",
        "ECSLAB_DB_PASSWORD": DB_PASSWORD,
        "ECSLAB_MICROSITE_DIR": str(microsite),
        "ECSLAB_YES": "1",
        "ECSLAB_OUTPUT": "json",
        # moto runs no task; on AWS the stack's update waits for a stable service, so
        # service-stable finds it so at once. moto's knob makes its services report that.
        "MOTO_ECS_SERVICE_RUNNING": "2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with (
        moto_fixes(change_set_outputs),
        StandIn(200, json.dumps(HEALTHY).encode()).running() as url,
    ):
        monkeypatch.setenv("ECSLAB_VERIFY_URL", url)
        yield microsite


def _pushed(session: boto3.Session, microsite: Path) -> str:
    """The image push-image would have pushed: its derived tag and latest, in ECR."""
    tag = derive_tag(microsite, "linux/amd64", build_args(Config())).name
    return put_fake_images(session, REPOSITORY, [tag, "latest"], seed="control-plane")


def _outcomes(result: Result) -> dict[str, str]:
    return {
        e["step"]: e["status"]  # type: ignore[misc]
        for e in result.events()
        if e["event"] == "step" and e["status"] != "started"
    }


def _world(session: boto3.Session) -> dict[str, Any]:
    """Everything ecslab could have created, to compare before and after."""
    cfn = session.client("cloudformation")
    stacks = cfn.list_stacks()["StackSummaries"]
    return {
        "stacks": sorted(
            (s["StackName"], s["StackStatus"], str(s.get("LastUpdatedTime"))) for s in stacks
        ),
        "repositories": [
            r["repositoryName"]
            for r in session.client("ecr").describe_repositories()["repositories"]
        ],
        "roles": [
            r["RoleName"]
            for r in session.client("iam").list_roles(PathPrefix="/aws-service-role/")["Roles"]
        ],
    }


def test_run_all_end_to_end_then_idempotent(lab: Path, aws: boto3.Session, ecslab: Run) -> None:
    first = ecslab("step", "service-linked-role")
    assert first.code == 0, first.err
    assert ecslab("step", "deploy-ecr").code == 0
    digest = _pushed(aws, lab)

    done = ecslab("run-all")

    assert done.code == 0, done.err + done.out
    assert _outcomes(done) == {
        "service-linked-role": "already-done",
        "deploy-ecr": "already-done",
        "push-image": "already-done",
        "deploy-service": "done",
        "service-stable": "already-done",  # the stack's update waited for it
        "verify": "done",
    }
    stack = aws.client("cloudformation").describe_stacks(StackName="ecslab-dev")["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["DockerImageTag"].endswith(f"/{REPOSITORY}@{digest}")
    assert DB_PASSWORD not in done.out + done.err

    started = time.perf_counter()
    again = ecslab("run-all")
    seconds = time.perf_counter() - started

    assert again.code == 0, again.err
    outcomes = _outcomes(again)
    assert outcomes.pop("verify") == "done"  # verify always probes afresh
    assert set(outcomes.values()) == {"already-done"}
    assert seconds < 10  # the benchmark's target is 3 s; CI machines vary
    summary = again.events()[-1]
    assert summary["event"] == "summary" and summary["status"] == "ok"

    debug = ecslab(
        "--debug", "--output", "text", "step", "deploy-service", "--cpu", "512", "--memory", "1024"
    )
    assert debug.code == 0, debug.err
    assert "Changes to stack ecslab-dev" in debug.out
    assert DB_PASSWORD not in debug.out + debug.err


def test_plan_changes_nothing(lab: Path, aws: boto3.Session, ecslab: Run) -> None:
    before = _world(aws)
    plan = ecslab("plan")
    assert plan.code == 0, plan.err
    planned: dict[Any, Any] = {
        e["step"]: e["data"].get("changes", [])
        for e in plan.events()
        if e.get("status") == "planned"
    }
    assert "create stack ecslab-dev (phase 1: the ECR repository)" in planned["deploy-ecr"]
    assert any(line.startswith("create stack ecslab-dev") for line in planned["deploy-service"])
    assert _world(aws) == before == {"stacks": [], "repositories": [], "roles": []}

    assert ecslab("step", "deploy-ecr").code == 0
    _pushed(aws, lab)
    before = _world(aws)
    dry = ecslab("run-all", "--dry-run", "--cpu", "512", "--memory", "1024")
    assert dry.code == 0, dry.err
    assert _world(aws) == before
    changes: list[Any] = [
        e
        for e in dry.events()
        if e.get("step") == "deploy-service" and "changes" in e.get("data", {})
    ]
    assert any("add resource EcsService" in line for line in changes[0]["data"]["changes"])
    assert DB_PASSWORD not in dry.out + dry.err


# --- bad input: clear message, documented exit code, nothing created -----------------------


def _nothing_created(session: boto3.Session) -> None:
    assert _world(session) == {"stacks": [], "repositories": [], "roles": []}


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--region", "mars-1", "run-all"), 2, "is not an AWS region code"),
        (("--profile", "nope", "run-all"), 2, "AWS profile 'nope' is not in your AWS config"),
        (("run-all", "--cpu", "300"), 2, "is not a Fargate CPU size"),
        (("run-all", "--cpu", "256", "--memory", "4096"), 2, "is not valid with fargate_cpu 256"),
        (("step", "deploy-ecr", "--template", "no/such/template.yaml"), 2, "does not exist"),
        (("step", "deploy-service", "--cpu", "512", "--memory", "512"), 2, "fargate_cpu 512"),
    ],
)
def test_bad_input(
    lab: Path, aws: boto3.Session, ecslab: Run, args: tuple[str, ...], code: int, words: str
) -> None:
    result = ecslab(*args)
    assert result.code == code
    assert words in result.out + result.err
    _nothing_created(aws)


def test_a_template_that_does_not_parse(
    lab: Path, aws: boto3.Session, ecslab: Run, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  Repo: {Type: AWS::ECR::Repository\n")
    result = ecslab("step", "deploy-ecr", "--template", str(broken))
    assert result.code == 2
    assert "not valid CloudFormation YAML" in result.out + result.err
    _nothing_created(aws)


def test_no_credentials(
    lab: Path, aws: boto3.Session, ecslab: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = ecslab("run-all")
    assert result.code == 4
    assert "no AWS credentials found" in result.out + result.err
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _nothing_created(boto3.Session(region_name="us-east-1"))


def test_unreachable_endpoint(
    lab: Path,
    aws: boto3.Session,
    ecslab: Run,
    monkeypatch: pytest.MonkeyPatch,
    free_port: Callable[[], int],
) -> None:
    monkeypatch.setenv("ECSLAB_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    result = ecslab("run-all")
    assert result.code == 4
    assert "cannot reach http://127.0.0.1:" in result.out + result.err
    _nothing_created(aws)


def test_no_password_without_a_terminal(
    lab: Path, aws: boto3.Session, ecslab: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ecslab("step", "deploy-ecr").code == 0
    _pushed(aws, lab)
    monkeypatch.delenv("ECSLAB_DB_PASSWORD")
    result = ecslab("step", "deploy-service")
    assert result.code == 2
    assert "ECSLAB_DB_PASSWORD" in result.out + result.err
