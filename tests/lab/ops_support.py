"""AWS-shaped answers for the operations commands' tests (run, exec, rollback, doctor).

Shaped as the ECS API reference documents DescribeServices, DescribeTaskDefinition,
RunTask and DescribeTasks for a Fargate service in awsvpc mode.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.steps import deploy_ecr, deploy_service
from tests.helpers import make_app, put_fake_image, run_step
from tests.verify_support import StubbedAws

if TYPE_CHECKING:
    from boto3 import Session

    from ecslab.core.config import Config

ACCOUNT = "123456789012"
CLUSTER = "ecslab-dev-cluster"
SERVICE = "ecslab-dev-microservice"
FAMILY = "ecslab-dev-microservice"
REPO_URI = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/ecslab-dev-microservice"
IMAGE_A = f"{REPO_URI}@sha256:" + "a" * 64
IMAGE_B = f"{REPO_URI}@sha256:" + "b" * 64
TASK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TASK_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{CLUSTER}/{TASK_ID}"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
GROUPS = ["sg-0123456789abcdef0"]


def td_arn(revision: int) -> str:
    return f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{FAMILY}:{revision}"


def describe_services(revision: int = 3) -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
                "serviceName": SERVICE,
                "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{CLUSTER}",
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": 2,
                "pendingCount": 0,
                "launchType": "FARGATE",
                "taskDefinition": td_arn(revision),
                "deployments": [],
                "events": [],
                "enableExecuteCommand": True,
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": SUBNETS,
                        "securityGroups": GROUPS,
                        "assignPublicIp": "ENABLED",
                    }
                },
            }
        ],
        "failures": [],
    }


def describe_task_definition(revision: int, image: str) -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": td_arn(revision),
            "family": FAMILY,
            "revision": revision,
            "status": "ACTIVE",
            "cpu": "256",
            "memory": "512",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecslab-dev-TaskRole-1A2B3C4D5E6F",
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecslab-dev-TaskExecutionRole-9Z8Y",
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            "containerDefinitions": [
                {
                    "name": SERVICE,
                    "image": image,
                    "essential": True,
                    "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": "ecslab-dev-microservice",
                            "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": "ecslab-dev",
                        },
                    },
                }
            ],
        }
    }


def task(last_status: str, exit_code: int | None = None, **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "containerArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:container/{CLUSTER}/{TASK_ID}/9a8b",
        "taskArn": TASK_ARN,
        "name": SERVICE,
        "image": IMAGE_A,
        "lastStatus": last_status,
        "networkInterfaces": [],
    }
    if exit_code is not None:
        container["exitCode"] = exit_code
    raw: dict[str, Any] = {
        "taskArn": TASK_ARN,
        "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{CLUSTER}",
        "taskDefinitionArn": td_arn(3),
        "lastStatus": last_status,
        "desiredStatus": "STOPPED" if last_status == "STOPPED" else "RUNNING",
        "launchType": "FARGATE",
        "startedBy": "ecslab run",
        "createdAt": datetime(2026, 12, 4, 15, 0, 0, tzinfo=UTC),
        "containers": [container],
        "cpu": "256",
        "memory": "512",
    }
    if last_status == "STOPPED" and exit_code is not None:
        raw.update(
            stopCode="EssentialContainerExited",
            stoppedReason="Essential container in task exited",
        )
    raw.update(extra)
    return raw


def log_events(*messages: str, start: int = 1_000) -> dict[str, Any]:
    stream = f"ecslab-dev/{SERVICE}/{TASK_ID}"
    return {
        "events": [
            {
                "logStreamName": stream,
                "timestamp": start + n,
                "message": message,
                "ingestionTime": start + n + 5,
                "eventId": f"{start + n:056d}",
            }
            for n, message in enumerate(messages)
        ],
        "searchedLogStreams": [],
    }


def stubbed_app(
    aws: Session, moto_server: str, services: tuple[str, ...] = ("ecs",), **settings: Any
) -> tuple[Any, StubbedAws]:
    """An App whose `services` answer through botocore's Stubber (the rest: moto)."""

    def factory(config: Config) -> StubbedAws:
        return StubbedAws(config, aws, services)

    app = make_app(aws, moto_server, aws_factory=factory, **settings)
    return app, app.aws  # type: ignore[return-value]


def deploy_lab(aws: Session, moto_server: str) -> Session:
    """The lab's stack deployed on moto (deploy-ecr, a fake image, deploy-service)."""
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    put_fake_image(aws, "ecslab-dev-microservice", "v1")
    run_step(deploy_service.build(make_app(aws, moto_server)))
    return aws
