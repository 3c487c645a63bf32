"""The sandbox driven by an ECS tool nobody here wrote: fabfuel's ecs-deploy (`ecs`).

After `ecslab --sandbox run-all` (the lab's stack, on the sandbox's own moto, registry,
PostgreSQL and HAProxy), a user points ecs-deploy at the sandbox's endpoint and does what
its README shows: deploy a changed revision, scale, deploy a broken revision, run a one-off
task. A bounded load loop through the stack's LoadBalancerUrl counts every request while
the service rolls, and none may fail.

What ecs-deploy reports is what it reports on AWS: when ECS's circuit breaker rolls a
broken deployment back, ecs-deploy sees the service stable on the old revision and says
"Deployment successful" (fabfuel/ecs-deploy#185); its own `--rollback` acts when its
timeout passes first.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ecslab.cli import run
from ecslab.sandbox import PrivateDockerd
from ecslab.sandbox.emulator.ecs_containers import LABEL_ROOT, LABEL_TASK
from ecslab.sandbox.state import load_state
from tests.ecs_deploy_support import EcsDeploy, EcsDeployUnavailable, ensure_ecs_deploy
from tests.load_support import Load
from tests.sandbox.emulator.ecs_support import until

REPO = Path(__file__).resolve().parents[2]
CLUSTER, SERVICE = "ecslab-dev-cluster", "ecslab-dev-microservice"
CONTAINER = SERVICE


@dataclass
class Lab:
    endpoint: str
    lb_url: str
    root: Path
    session: Any

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.endpoint)

    def service(self) -> dict[str, Any]:
        found = self.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])
        return dict(found["services"][0])


@pytest.fixture(scope="module")
def ecs_program() -> Path:
    try:
        return ensure_ecs_deploy()
    except EcsDeployUnavailable as exc:
        pytest.skip(f"ecs-deploy could not be installed: {exc}")


@pytest.fixture(scope="module")
def lab(
    dockerd: PrivateDockerd, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """`ecslab --sandbox run-all` in a clean environment; `sandbox down` at the end."""
    import boto3

    tmp = tmp_path_factory.mktemp("third-party")
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("ECSLAB_", "AWS_")) or name in ("NO_COLOR", "CI"):
                env.delenv(name, raising=False)
        env.chdir(tmp)
        # the sandbox's processes (serve-moto...) run this checkout's ecslab, as the test does
        env.setenv("PYTHONPATH", str(REPO))
        env.setenv("AWS_CONFIG_FILE", os.devnull)
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        env.setenv("DOCKER_HOST", dockerd.docker_host)
        env.setenv("ECSLAB_BASE_IMAGE", base_image)
        env.setenv("ECSLAB_SANDBOX_CFN_TIME_SCALE", "10")
        microsite = shutil.copytree(
            REPO / "microsite", tmp / "microsite", ignore=shutil.ignore_patterns("__pycache__")
        )
        env.setenv("ECSLAB_MICROSITE_DIR", str(microsite))
        env.setenv("ECSLAB_OUTPUT", "json")
        try:
            assert run(["--sandbox", "--yes", "run-all"]) == 0
            state = load_state(tmp / ".ecslab" / "sandbox")
            assert state is not None
            session = boto3.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            yield Lab(
                state.endpoint_url,
                _stack_url(session, state.endpoint_url),
                Path(state.root),
                session,
            )
        finally:
            run(["sandbox", "down"])


def _stack_url(session: Any, endpoint: str) -> str:
    """The stack's LoadBalancerUrl output (HAProxy's address in the sandbox)."""
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    for stack in cfn.describe_stacks()["Stacks"]:
        for output in stack.get("Outputs", []):
            if output["OutputKey"] == "LoadBalancerUrl":
                return str(output["OutputValue"])
    raise AssertionError("no stack has a LoadBalancerUrl output")


def _until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.5)
    return value


def _environment(lab: Lab, task_definition: str) -> dict[str, str]:
    read = lab.client("ecs").describe_task_definition(taskDefinition=task_definition)
    [container] = read["taskDefinition"]["containerDefinitions"]
    return {e["name"]: e["value"] for e in container["environment"]}


def test_the_lab_reads_back_as_aws_answers(lab: Lab) -> None:
    """What a tool reads before it changes anything: the service and its task definition
    with every field the template set, the secret's valueFrom a secret that exists."""
    service = lab.service()
    assert service["launchType"] == "FARGATE"
    assert service["loadBalancers"][0]["containerName"] == CONTAINER
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"
    breaker = service["deploymentConfiguration"]["deploymentCircuitBreaker"]
    assert breaker == {"enable": True, "rollback": True}
    read = lab.client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])
    definition = read["taskDefinition"]
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["executionRoleArn"] and definition["taskRoleArn"]
    assert definition["runtimePlatform"]["operatingSystemFamily"] == "LINUX"
    [secret] = definition["containerDefinitions"][0]["secrets"]
    value = lab.client("secretsmanager").get_secret_value(SecretId=secret["valueFrom"])
    state = load_state(lab.root)
    assert state is not None and value["SecretString"] == state.db_password()


def test_ecs_deploy_drives_the_sandbox(
    lab: Lab, ecs_program: Path, dockerd: PrivateDockerd
) -> None:
    ecs = EcsDeploy(ecs_program, lab.endpoint)
    figures: dict[str, float] = {}
    with Load(lab.lb_url, pause=0.02, limit=50_000) as load:
        started = time.monotonic()
        done = ecs.run("deploy", CLUSTER, SERVICE, "-e", CONTAINER, "GREETING", "hello")
        figures["deploy s"] = time.monotonic() - started
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Deployment successful" in done.stdout
        service = lab.service()
        good = service["taskDefinition"]
        assert _environment(lab, good)["GREETING"] == "hello"
        assert [d["rolloutState"] for d in service["deployments"]] == ["COMPLETED"]

        scaled = ecs.run("scale", CLUSTER, SERVICE, "3")
        assert scaled.returncode == 0, scaled.stdout + scaled.stderr
        assert "Scaling successful" in scaled.stdout
        # ecs-deploy returns once desiredCount is 3; the scheduler starts the task on its
        # next pass, and says so in the service's events then (bounded wait for it)
        until(
            lambda: any(
                e["message"].startswith(f"(service {SERVICE}) has started 1 tasks")
                for e in lab.service()["events"]
            ),
            30,
            "the service event of the third task's start",
        )

        # a broken revision: ECS's circuit breaker rolls it back (ecs-deploy, as on AWS,
        # then reports the stable service, now on the previous revision, as a success)
        started = time.monotonic()
        broken = ecs.run("deploy", CLUSTER, SERVICE, "-c", CONTAINER, '["sh","-c","exit 1"]')
        print("ecs deploy (broken):", broken.returncode, broken.stdout[-400:])
        rolled = _until(
            lambda: (
                (s := lab.service())["taskDefinition"] == good
                and len(s["deployments"]) == 1
                and s["deployments"][0]["rolloutState"] == "COMPLETED"
                and s
            ),
            90,
            "the circuit breaker rolls the broken revision back",
        )
        figures["breaker rollback s"] = time.monotonic() - started
        events = [e["message"] for e in rolled["events"]]
        assert any("deployment failed: tasks failed to start." in m for m in events)
        assert any(m.startswith(f"(service {SERVICE}) rolling back to deployment") for m in events)

        # ecs-deploy's own rollback: its timeout passes before the rollout completes
        started = time.monotonic()
        own = ecs.run(
            "deploy", CLUSTER, SERVICE, "-e", CONTAINER, "GREETING", "bye",
            "--timeout", "2", "--rollback",
        )  # fmt: skip
        figures["own rollback s"] = time.monotonic() - started
        assert own.returncode == 1, own.stdout + own.stderr
        assert "Rollback successful" in own.stdout
        assert lab.service()["taskDefinition"] == good
    print(
        f"load through {lab.lb_url}: {load.requests} requests, {len(load.failures)} failed; "
        + ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
    )
    assert load.requests > 100
    assert load.failures == [], load.failures[:5]


def test_ecs_run_runs_a_one_off_task_to_its_exit_code(lab: Lab, ecs_program: Path) -> None:
    ecs = EcsDeploy(ecs_program, lab.endpoint)
    network = lab.service()["networkConfiguration"]["awsvpcConfiguration"]
    started = time.monotonic()
    done = ecs.run(
        "run", CLUSTER, SERVICE, "--launchtype", "FARGATE",
        "--securitygroup", network["securityGroups"][0], "--subnet", network["subnets"][0],
        "-c", CONTAINER, '["sh","-c","echo one-off; exit 3"]',
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    [arn] = re.findall(r"arn:aws:ecs:\S+:task/\S+", done.stdout)
    ecs_api = lab.client("ecs")

    def stopped() -> dict[str, Any] | None:
        [task] = ecs_api.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"]
        return dict(task) if task["lastStatus"] == "STOPPED" else None

    task = _until(stopped, 60, "the one-off task stops")
    print(f"ecs run -> STOPPED in {time.monotonic() - started:.1f} s")
    assert task["containers"][0]["exitCode"] == 3
    assert (task["stopCode"], task["stoppedReason"]) == (
        "EssentialContainerExited",
        "Essential container in task exited",
    )
    assert task["group"] == f"family:{SERVICE}"
    assert (
        arn
        in ecs_api.list_tasks(cluster=CLUSTER, family=SERVICE, desiredStatus="STOPPED")["taskArns"]
    )


def test_no_task_container_is_left_after_sandbox_down(lab: Lab, dockerd: PrivateDockerd) -> None:
    """Runs last in the module: `sandbox down` (here, before the fixture's own) removes
    every task container, standalone ones included."""
    assert run(["sandbox", "down"]) == 0
    client = dockerd.client()
    try:
        left = client.containers.list(
            all=True, filters={"label": [f"{LABEL_ROOT}={lab.root}", LABEL_TASK]}
        )
    finally:
        client.close()
    assert left == []
