"""RunTask in the sandbox through plain boto3: standalone FARGATE tasks as real containers.

One sandbox AWS API (serve-moto with the ECS scheduler alone) per module. A task's life is
read through DescribeTasks as a client polls it; times are real (the lifecycle moves one
step per scheduler pass, about half a second).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from ecslab.sandbox.emulator.ecs_containers import LABEL_ROOT, LABEL_TASK
from tests.sandbox.emulator.ecs_support import (
    Sandbox,
    build_app_image,
    register,
    sandbox_api,
    until,
)

pytestmark = pytest.mark.usefixtures("dockerd")

LIFECYCLE = [
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
]


@pytest.fixture(scope="module")
def image(docker_client: Any, base_image: str, registry: Any) -> str:
    return build_app_image(docker_client, base_image, registry.address)


@pytest.fixture(scope="module")
def box(dockerd: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    tmp = Path(tmp_path_factory.mktemp("sandbox"))
    with sandbox_api(tmp, dockerd.docker_host, areas="ecs_scheduler") as running:
        yield running


@pytest.fixture(scope="module")
def lab(box: Sandbox, image: str) -> dict[str, Any]:
    """A cluster, the log group and the `web` task definition; the network a task needs."""
    ec2 = box.client("ec2")
    box.client("logs").create_log_group(logGroupName="/ecs/test")
    box.client("ecs").create_cluster(clusterName="lab")
    return {
        "definition": register(box, image),
        "network": {
            "awsvpcConfiguration": {
                "subnets": [ec2.describe_subnets()["Subnets"][0]["SubnetId"]],
                "securityGroups": [ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]],
                "assignPublicIp": "DISABLED",
            }
        },
    }


def _run(box: Sandbox, lab: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    answer = box.client("ecs").run_task(
        cluster="lab",
        taskDefinition=extra.pop("taskDefinition", "web"),
        launchType="FARGATE",
        networkConfiguration=lab["network"],
        **extra,
    )
    assert answer["failures"] == []
    return list(answer["tasks"])


def _describe(box: Sandbox, arn: str) -> dict[str, Any]:
    [task] = box.client("ecs").describe_tasks(cluster="lab", tasks=[arn])["tasks"]
    return dict(task)


def _follow(box: Sandbox, arn: str, timeout: float = 60) -> tuple[list[str], dict[str, Any]]:
    """Poll DescribeTasks until the task is STOPPED: the statuses seen, and the last read."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        task = _describe(box, arn)
        if not seen or seen[-1] != task["lastStatus"]:
            seen.append(task["lastStatus"])
        if task["lastStatus"] == "STOPPED":
            return seen, task
        assert time.monotonic() < deadline, f"not STOPPED within {timeout} s: {seen}"
        time.sleep(0.05)


def _in_order(seen: list[str]) -> bool:
    positions = [LIFECYCLE.index(status) for status in seen]
    return positions == sorted(positions)


def test_a_task_whose_command_exits_stops_with_its_exit_code_and_logs(
    box: Sandbox, lab: dict[str, Any], docker_client: Any
) -> None:
    started = time.monotonic()
    [task] = _run(
        box,
        lab,
        startedBy="tester",
        overrides={
            "containerOverrides": [
                {
                    "name": "web",
                    "command": ["sh", "-c", 'echo "hello from $GREETING"; sleep 1; exit 3'],
                    "environment": [{"name": "GREETING", "value": "run-task"}],
                }
            ]
        },
    )
    assert (task["lastStatus"], task["desiredStatus"]) == ("PROVISIONING", "RUNNING")
    assert task["group"] == "family:web" and task["startedBy"] == "tester"
    seen, stopped = _follow(box, task["taskArn"])
    took = time.monotonic() - started
    print(f"RunTask -> STOPPED in {took:.1f} s, statuses {seen}")

    assert _in_order(seen) and {"RUNNING", "STOPPED"} <= set(seen), seen
    assert seen == LIFECYCLE[LIFECYCLE.index(seen[0]) :], seen  # no step skipped
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 3
    assert stopped["overrides"]["containerOverrides"][0]["command"][0] == "sh"
    for stamp in ("pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "stoppedAt"):
        assert stamp in stopped, stamp
    assert stopped["attachments"][0]["status"] == "DELETED"

    ecs = box.client("ecs")
    for query in ({"family": "web"}, {"startedBy": "tester"}):
        arns = ecs.list_tasks(cluster="lab", desiredStatus="STOPPED", **query)["taskArns"]
        assert task["taskArn"] in arns, query
    assert task["taskArn"] not in ecs.list_tasks(cluster="lab")["taskArns"]  # RUNNING ones

    stream = f"lab/web/{task['taskArn'].rsplit('/', 1)[1]}"
    events = until(
        lambda: box.client("logs").get_log_events(logGroupName="/ecs/test", logStreamName=stream)[
            "events"
        ],
        10,
        "the task's line in CloudWatch Logs",
    )
    assert events[0]["message"] == "hello from run-task"


def test_the_task_size_comes_from_the_overrides_and_stop_task_stops_it(
    box: Sandbox, lab: dict[str, Any], docker_client: Any
) -> None:
    [task] = _run(box, lab, overrides={"cpu": "512", "memory": "1024"})
    assert (task["cpu"], task["memory"]) == ("512", "1024")
    running = until(
        lambda: (found := _describe(box, task["taskArn"]))["lastStatus"] == "RUNNING" and found,
        60,
        "the task runs",
    )
    container = docker_client.containers.get(running["containers"][0]["runtimeId"])
    host = container.attrs["HostConfig"]
    assert (host["NanoCpus"], host["Memory"]) == (500_000_000, 1024 * 1024 * 1024)

    answer = box.client("ecs").stop_task(cluster="lab", task=task["taskArn"], reason="enough")
    assert answer["task"]["desiredStatus"] == "STOPPED"
    assert (answer["task"]["stopCode"], answer["task"]["stoppedReason"]) == (
        "UserInitiated",
        "enough",
    )
    seen, stopped = _follow(box, task["taskArn"])
    assert seen[0] in ("RUNNING", "DEACTIVATING") and _in_order(seen), seen
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "enough")
    assert "exitCode" in stopped["containers"][0]


def test_an_image_that_cannot_be_pulled_fails_to_start(
    box: Sandbox, lab: dict[str, Any], image: str
) -> None:
    missing = image.split("@", 1)[0] + ":no-such-tag"
    ecs = box.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=lab["definition"])["taskDefinition"]
    container = {**definition["containerDefinitions"][0], "image": missing}
    ecs.register_task_definition(
        family="missing",
        containerDefinitions=[container],
        cpu="256",
        memory="512",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
    )
    [task] = _run(box, lab, taskDefinition="missing")
    seen, stopped = _follow(box, task["taskArn"])
    assert "RUNNING" not in seen and _in_order(seen), seen
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError: ")
    assert "exitCode" not in stopped["containers"][0]


def test_run_task_pages_and_refuses_what_aws_refuses(box: Sandbox, lab: dict[str, Any]) -> None:
    ecs = box.client("ecs")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecs.run_task(cluster="lab", taskDefinition="web", launchType="FARGATE")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "Network Configuration must be provided" in str(refused.value)
    with pytest.raises(botocore.exceptions.ClientError) as no_instances:  # EC2, the default
        ecs.run_task(cluster="lab", taskDefinition="web", networkConfiguration=lab["network"])
    assert "No Container Instances were found in your cluster." in str(no_instances.value)

    # a family names its latest ACTIVE revision: a deregistered newer one is not run
    read = ecs.describe_task_definition(taskDefinition=lab["definition"])["taskDefinition"]
    newer = ecs.register_task_definition(
        family="web",
        containerDefinitions=read["containerDefinitions"],
        cpu="256",
        memory="512",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.deregister_task_definition(taskDefinition=newer)

    tasks = _run(box, lab, count=3, group="batch", startedBy="pager")
    assert {t["taskDefinitionArn"] for t in tasks} == {lab["definition"]}
    assert {t["group"] for t in tasks} == {"batch"}
    first = ecs.list_tasks(cluster="lab", startedBy="pager", maxResults=2)
    rest = ecs.list_tasks(cluster="lab", startedBy="pager", nextToken=first["nextToken"])
    assert len(first["taskArns"]) == 2 and "nextToken" not in rest
    assert set(first["taskArns"] + rest["taskArns"]) == {t["taskArn"] for t in tasks}
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        ecs.list_tasks(cluster="lab", nextToken="not-a-token")
    assert bad.value.response["Error"]["Code"] == "InvalidParameterException"
    for task in tasks:
        ecs.stop_task(cluster="lab", task=task["taskArn"])
    for task in tasks:
        _, stopped = _follow(box, task["taskArn"])
        assert stopped["stoppedReason"] == "Task stopped by user"


def test_no_task_container_outlives_the_sandbox(
    dockerd: Any, image: str, tmp_path: Path, docker_client: Any
) -> None:
    with sandbox_api(tmp_path, dockerd.docker_host, areas="ecs_scheduler") as box:
        ec2 = box.client("ec2")
        box.client("logs").create_log_group(logGroupName="/ecs/test")
        box.client("ecs").create_cluster(clusterName="lab")
        register(box, image)
        network = {
            "awsvpcConfiguration": {
                "subnets": [ec2.describe_subnets()["Subnets"][0]["SubnetId"]],
            }
        }
        [task] = _run(box, {"network": network})
        until(lambda: _describe(box, task["taskArn"])["lastStatus"] == "RUNNING", 60, "it runs")
        labelled = {"label": [f"{LABEL_ROOT}={tmp_path}", LABEL_TASK]}
        assert docker_client.containers.list(all=True, filters=labelled)
    assert docker_client.containers.list(all=True, filters=labelled) == []
