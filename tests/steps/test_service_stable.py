"""service-stable: stable at once, or the failed rollout's cause from the aws/ wrappers.

moto's services never fail a rollout, so the failing ECS answers come from Stubber, shaped
as AWS's; the log lines are moto's (CloudWatch Logs over HTTP), read from the stream the
task definition's awslogs options name.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ecslab.core.config import Config
from ecslab.core.errors import DeployFailed
from ecslab.steps import service_stable
from tests.aws.test_ecs import TASK_ARN, stopped_task
from tests.helpers import make_app, run_step
from tests.steps.test_verify_aws import ACCOUNT, TD_ARN, describe_services, put_log_lines
from tests.verify_support import CLUSTER, LOG_GROUP, PREFIX, SERVICE, StubbedAws

BREAKER = "ECS deployment circuit breaker: tasks failed to start."
# The stopped task's definition (revision 3) is the failed deployment's.
STOPPED_TD = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{PREFIX}-microservice:3"


def _app(aws: boto3.Session, moto_server: str) -> tuple[Any, StubbedAws]:
    def factory(config: Config) -> StubbedAws:
        return StubbedAws(config, aws, ("ecs",))

    app = make_app(aws, moto_server, aws_factory=factory)
    return app, app.aws  # type: ignore[return-value]


def _task_definition(log_options: dict[str, str]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": SERVICE,
        "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{SERVICE}@sha256:" + "a" * 64,
        "essential": True,
        "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
    }
    if log_options:
        container["logConfiguration"] = {"logDriver": "awslogs", "options": log_options}
    return {
        "taskDefinition": {
            "taskDefinitionArn": STOPPED_TD,
            "family": f"{PREFIX}-microservice",
            "revision": 3,
            "containerDefinitions": [container],
            "networkMode": "awsvpc",
            "status": "ACTIVE",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
        },
        "tags": [],
    }


def _queue_failure(stubbed: StubbedAws, log_options: dict[str, str]) -> None:
    ecs = stubbed.stubbers["ecs"]
    service = describe_services("FAILED", BREAKER, 0, [])
    for _ in range(2):  # assess, then the first poll of run
        ecs.add_response("describe_services", service, {"cluster": CLUSTER, "services": [SERVICE]})
    task = stopped_task("Essential container in task exited", 2)
    ecs.add_response(
        "list_tasks",
        {"taskArns": [TASK_ARN]},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED"},
    )
    ecs.add_response(
        "describe_tasks",
        {"tasks": [task], "failures": []},
        {"cluster": CLUSTER, "tasks": [TASK_ARN]},
    )
    ecs.add_response(
        "describe_task_definition", _task_definition(log_options), {"taskDefinition": STOPPED_TD}
    )


def test_a_failed_rollout_names_the_task_its_exit_code_and_its_last_log_lines(
    aws: boto3.Session, moto_server: str
) -> None:
    assert TD_ARN == STOPPED_TD
    put_log_lines(aws, "starting", '{"level":"error","message":"PORT is not a number"}')
    app, stubbed = _app(aws, moto_server)
    _queue_failure(
        stubbed,
        {
            "awslogs-group": LOG_GROUP,
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": PREFIX,
        },
    )

    with pytest.raises(DeployFailed) as caught:
        run_step(service_stable.build(app))

    stubbed.stubbers["ecs"].assert_no_pending_responses()
    message = caught.value.message
    assert message.startswith(f"the deployment of service {SERVICE} failed (the circuit breaker")
    task_id = TASK_ARN.rsplit("/", 1)[-1]
    assert f"task {task_id} stopped: Essential container in task exited; exit code 2" in message
    assert message.endswith(
        "its last log lines:\n  starting\n  " + '{"level":"error","message":"PORT is not a number"}'
    )


def test_without_awslogs_the_cause_has_no_log_lines(aws: boto3.Session, moto_server: str) -> None:
    app, stubbed = _app(aws, moto_server)
    _queue_failure(stubbed, {})

    with pytest.raises(DeployFailed) as caught:
        run_step(service_stable.build(app))

    stubbed.stubbers["ecs"].assert_no_pending_responses()
    assert caught.value.message.endswith("exit code 2")
