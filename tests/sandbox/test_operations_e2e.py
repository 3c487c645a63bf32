"""The operations commands end to end in the sandbox, through the CLI, on real local peers:
`exec` (docker exec into a task's container), `scale 3` (holds), `rollback` (after a
second deploy, back to the first image, with no failed request through the load balancer)
and `run` (a one-off task's exit code, through the sandbox's RunTask).

One sandbox and one `run-all` serve the whole module (they take minutes); each test then
acts on the deployed lab.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ecslab.cli import run
from ecslab.sandbox import PrivateDockerd
from ecslab.sandbox.state import SandboxState
from tests.load_support import Load
from tests.sandbox.lab_support import Lab, deployed_lab

CLUSTER, SERVICE = "ecslab-dev-cluster", "ecslab-dev-microservice"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.out.splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue  # a command's own output (exec) is not an event
        return found


@pytest.fixture(scope="module")
def lab(
    dockerd: PrivateDockerd, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """A sandbox with the lab deployed by `run-all`; taken down after the module."""
    with deployed_lab(dockerd.docker_host, base_image, tmp_path_factory.mktemp("ops")) as lab:
        yield lab


def _ecslab(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def _ecs(state: SandboxState) -> Any:
    import boto3

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client("ecs", endpoint_url=state.endpoint_url)


def _service(state: SandboxState) -> dict[str, Any]:
    found: dict[str, Any] = _ecs(state).describe_services(cluster=CLUSTER, services=[SERVICE])
    return dict(found["services"][0])


def _wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def test_exec_runs_a_command_in_a_task_container(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = _ecslab(capsys, "--sandbox", "exec", "--", "sh", "-c", "echo port=$PORT; exit 4")

    assert shown.code == 4, shown.err + shown.out
    assert "port=" in shown.out
    started = [e for e in shown.events() if e.get("event") == "info" and e.get("task_arn")]
    assert started and started[0]["container"] == SERVICE


def test_exec_into_a_task_by_its_id(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    arns = _ecs(lab.state).list_tasks(cluster=CLUSTER, serviceName=SERVICE)["taskArns"]
    task_id = arns[0].rsplit("/", 1)[-1]

    shown = _ecslab(capsys, "--sandbox", "exec", task_id[:12], "--", "true")

    assert shown.code == 0, shown.err + shown.out


def test_scale_3_holds(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """The low-memory alarm is in ALARM all the time (the microsite uses ~7 % of its
    memory): a count of 3 holds only with a minimum of 3, which scale sets with it."""
    scaled = _ecslab(capsys, "--sandbox", "--yes", "scale", "3", "--min", "3")

    assert scaled.code == 0, scaled.err + scaled.out
    assert scaled.events()[-1]["desired"] == 3
    _wait(lambda: _service(lab.state)["runningCount"] == 3, 120, "3 running tasks")
    time.sleep(20)  # two 60 s alarm periods and cooldowns on the sandbox's x10 clock
    service = _service(lab.state)
    assert (service["desiredCount"], service["runningCount"]) == (3, 3)

    refused = _ecslab(capsys, "--sandbox", "--yes", "scale", "12")
    assert refused.code == 2
    assert "outside the autoscaling range [3, 10]" in refused.out + refused.err


def test_rollback_after_a_second_deploy_returns_to_the_first_image(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _stack_image(lab.state)
    with (lab.microsite / "microsite" / "routes.py").open("a", encoding="utf-8") as source:
        source.write("\n# a second version of the microsite\n")
    second_deploy = _ecslab(capsys, "--sandbox", "--yes", "run-all")
    assert second_deploy.code == 0, second_deploy.err + second_deploy.out
    second = _stack_image(lab.state)
    assert second != first

    with Load(lab.state.lb_url, pause=0.02) as load:
        rolled = _ecslab(capsys, "--sandbox", "--yes", "rollback")
        _wait(lambda: _service_image(lab.state) == first, 180, "the service on the first image")
        _wait(lambda: _rolled_out(lab.state), 120, "one deployment, COMPLETED")

    assert rolled.code == 0, rolled.err + rolled.out
    assert _stack_image(lab.state) == first
    assert rolled.events()[-1]["image"] == first
    print(f"\nrollback under load: {load.requests} requests, {len(load.failures)} failed")
    assert load.requests > 50
    assert load.failures == [], load.failures[:5]


def _rolled_out(state: SandboxState) -> bool:
    deployments = _service(state)["deployments"]
    return len(deployments) == 1 and deployments[0].get("rolloutState") == "COMPLETED"


def _stack_image(state: SandboxState) -> str:
    import boto3

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    cfn = session.client("cloudformation", endpoint_url=state.endpoint_url)
    stack = cfn.describe_stacks(StackName="ecslab-dev")["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    return str(params["DockerImageTag"])


def _service_image(state: SandboxState) -> str:
    ecs = _ecs(state)
    definition = ecs.describe_task_definition(taskDefinition=_service(state)["taskDefinition"])
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def test_run_exits_with_the_container_exit_code(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = _ecslab(
        capsys, "--sandbox", "run", "--timeout", "90s", "--", "sh", "-c", "echo one-off; exit 3"
    )

    assert ran.code == 3, ran.err + ran.out
    logs = [e["message"] for e in ran.events() if e.get("event") == "log"]
    assert "one-off" in logs
    assert ran.events()[-1]["exit_code"] == 3


def test_run_with_environment_and_no_wait(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    ran = _ecslab(
        capsys,
        "--sandbox",
        "run",
        "--timeout",
        "90s",
        "-e",
        "GREETING=hi",
        "--",
        "sh",
        "-c",
        "echo $GREETING",
    )
    assert ran.code == 0, ran.err + ran.out
    assert "hi" in [e["message"] for e in ran.events() if e.get("event") == "log"]

    started = _ecslab(capsys, "--sandbox", "run", "--no-wait", "--", "sleep", "1")
    assert started.code == 0 and started.events()[-1]["task_arn"]
