"""ECS reads: the service from moto, stopped tasks (which moto never has) from Stubber."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from ecslab.aws.ecs import Ecs
from ecslab.aws.session import Aws
from ecslab.core.config import Config
from tests.verify_support import CLUSTER, SERVICE, StubbedAws, seed_load_balancer, seed_service

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecslab-dev-microservice@sha256:" + "a" * 64


def _aws(moto_server: str, session: boto3.Session) -> Aws:
    return Aws(Config(region="us-east-1", endpoint_url=moto_server), session)


def test_describe_service_from_moto(aws: boto3.Session, moto_server: str) -> None:
    group = seed_load_balancer(aws)
    td = seed_service(aws, IMAGE, group)
    ecs = Ecs(_aws(moto_server, aws))

    service = ecs.describe_service(CLUSTER, SERVICE)

    assert service is not None
    assert (service.name, service.desired, service.task_definition) == (SERVICE, 2, td)
    assert service.target_group_arns == (group,)
    assert [d.status for d in service.deployments] == ["PRIMARY"]
    assert ecs.container_image(td, SERVICE) == IMAGE
    assert ecs.container_image(td, "other") is None


def test_missing_cluster_or_service_is_none(aws: boto3.Session, moto_server: str) -> None:
    ecs = Ecs(_aws(moto_server, aws))
    assert ecs.describe_service("no-such-cluster", SERVICE) is None
    aws.client("ecs").create_cluster(clusterName=CLUSTER)
    assert ecs.describe_service(CLUSTER, "no-such-service") is None
    assert ecs.tasks(CLUSTER, "no-such-service", "STOPPED") == []


TASK_ARN = (
    "arn:aws:ecs:us-east-1:123456789012:task/ecslab-dev-cluster/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
)


def stopped_task(reason: str, exit_code: int | None, container_reason: str = "") -> dict:
    container = {
        "containerArn": "arn:aws:ecs:us-east-1:123456789012:container/ecslab-dev-cluster/0f1e/9a8b",
        "taskArn": TASK_ARN,
        "name": SERVICE,
        "image": IMAGE,
        "lastStatus": "STOPPED",
        "networkInterfaces": [],
        "healthStatus": "UNKNOWN",
    }
    if exit_code is not None:
        container["exitCode"] = exit_code
    if container_reason:
        container["reason"] = container_reason
    return {
        "taskArn": TASK_ARN,
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/ecslab-dev-cluster",
        "taskDefinitionArn": (
            "arn:aws:ecs:us-east-1:123456789012:task-definition/ecslab-dev-microservice:3"
        ),
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "launchType": "FARGATE",
        "stopCode": "TaskFailedToStart" if exit_code is None else "EssentialContainerExited",
        "stoppedReason": reason,
        "stoppingAt": datetime(2026, 11, 25, 2, 0, 5, tzinfo=UTC),
        "stoppedAt": datetime(2026, 11, 25, 2, 0, 10, tzinfo=UTC),
        "containers": [container],
        "group": f"service:{SERVICE}",
        "cpu": "256",
        "memory": "512",
    }


def test_stopped_tasks_carry_reason_and_exit_code(aws: boto3.Session, moto_server: str) -> None:
    config = Config(region="us-east-1", endpoint_url=moto_server)
    stubbed = StubbedAws(config, aws, ("ecs",))
    stub = stubbed.stubbers["ecs"]
    stub.add_response(
        "list_tasks",
        {"taskArns": [TASK_ARN]},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED"},
    )
    raw = stopped_task("Essential container in task exited", 1)
    stub.add_response(
        "describe_tasks",
        {"tasks": [raw], "failures": []},
        {"cluster": CLUSTER, "tasks": [TASK_ARN]},
    )

    tasks = Ecs(stubbed).tasks(CLUSTER, SERVICE, "STOPPED")

    stub.assert_no_pending_responses()
    assert len(tasks) == 1
    task = tasks[0]
    assert task.stopped_reason == "Essential container in task exited"
    assert task.stop_code == "EssentialContainerExited"
    assert task.containers[0].exit_code == 1
    assert task.short_id == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _task_arn(number: int) -> str:
    return f"arn:aws:ecs:us-east-1:123456789012:task/ecslab-dev-cluster/{number:032x}"


def test_tasks_are_read_across_pages_and_described_in_hundreds(
    aws: boto3.Session, moto_server: str
) -> None:
    """ListTasks pages at 100 ARNs; DescribeTasks takes at most 100: 150 tasks need both."""
    stubbed = StubbedAws(Config(region="us-east-1", endpoint_url=moto_server), aws, ("ecs",))
    stub = stubbed.stubbers["ecs"]
    arns = [_task_arn(n) for n in range(150)]
    query = {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED"}
    stub.add_response("list_tasks", {"taskArns": arns[:100], "nextToken": "page-2"}, query)
    stub.add_response("list_tasks", {"taskArns": arns[100:]}, {**query, "nextToken": "page-2"})
    for chunk in (arns[:100], arns[100:]):
        tasks = [{**stopped_task("Task stopped by user", 0), "taskArn": arn} for arn in chunk]
        stub.add_response(
            "describe_tasks", {"tasks": tasks, "failures": []}, {"cluster": CLUSTER, "tasks": chunk}
        )

    tasks = Ecs(stubbed).tasks(CLUSTER, SERVICE, "STOPPED")

    stub.assert_no_pending_responses()
    assert [t.arn for t in tasks] == arns


def test_run_task_failures_are_an_error_with_the_reason(
    aws: boto3.Session, moto_server: str
) -> None:
    """RunTask can answer 200 with no task and a failure (capacity, a bad subnet)."""
    from ecslab.aws.ecs import OneOffTask, ServiceNetwork, TaskNotStarted

    stubbed = StubbedAws(Config(region="us-east-1", endpoint_url=moto_server), aws, ("ecs",))
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/ecslab-dev-microservice:3"
    stubbed.stubbers["ecs"].add_response(
        "run_task",
        {"tasks": [], "failures": [{"arn": arn, "reason": "RESOURCE:ENI", "detail": "limit"}]},
        None,
    )
    wanted = OneOffTask(
        cluster=CLUSTER,
        task_definition=arn,
        network=ServiceNetwork(("subnet-0a1b2c3d4e5f60718",), ("sg-0123456789abcdef0",), "ENABLED"),
        container=SERVICE,
        command=("true",),
    )

    with pytest.raises(TaskNotStarted) as caught:
        Ecs(stubbed).run_task(wanted)

    assert "RESOURCE:ENI" in caught.value.message and caught.value.exit_code == 4


def test_task_definition_revisions_newest_first_of_this_family_only(
    aws: boto3.Session, moto_server: str
) -> None:
    """familyPrefix is a prefix: another family's revisions are left out; moto ignores
    sort=DESC, so the wrapper orders by revision number itself."""
    ecs_client = aws.client("ecs")
    for family in (
        "ecslab-dev-microservice",
        "ecslab-dev-microservice",
        "ecslab-dev-microservice-x",
    ):
        ecs_client.register_task_definition(
            family=family, containerDefinitions=[{"name": "c", "image": IMAGE, "memory": 512}]
        )

    arns = Ecs(_aws(moto_server, aws)).task_definition_arns("ecslab-dev-microservice")

    assert [a.rsplit("/", 1)[-1] for a in arns] == [
        "ecslab-dev-microservice:2",
        "ecslab-dev-microservice:1",
    ]
