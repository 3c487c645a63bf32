"""`verify` watching the service: moto where it holds the data, Stubber for failing states.

The "load balancer" is a loopback stand-in answering like an ALB (503/504 HTML pages) or a
port nothing listens on. Stubbed responses are shaped like AWS's, field for field.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from ecslab.core.clock import FakeClock
from ecslab.core.config import Config
from ecslab.core.errors import ExitCode, VerifyFailed, VerifyTimeout
from ecslab.steps import verify
from ecslab.steps.base import Outcome
from tests.aws.test_ecs import TASK_ARN, stopped_task
from tests.helpers import make_app, run_step
from tests.verify_support import (
    CLUSTER,
    LOG_GROUP,
    PREFIX,
    SERVICE,
    StandIn,
    StubbedAws,
    events,
    seed_load_balancer,
    seed_scaling,
    seed_service,
    seed_stack,
)

ACCOUNT = "123456789012"
STACK_ID = (
    f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{PREFIX}/"
    "5e2c1a10-ab12-11ef-9d0e-0affd3b1c2d3"
)
TG_ARN = (
    f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/{PREFIX}-tg/73e2d6bc24d8a067"
)
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{PREFIX}-microservice:3"
T0 = datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC)
ALB_503 = b"<html><head><title>503 Service Temporarily Unavailable</title></head></html>"
ALB_504 = b"<html><head><title>504 Gateway Time-out</title></head></html>"
MICROSITE_JSON = json.dumps(
    {
        "service": "microsite",
        "environment": "dev",
        "database": {"time": "2026-11-25T02:00:00+00:00", "version": "PostgreSQL 15.8 on x86_64"},
        "items": [{"id": 1, "name": "Hello from the database"}],
    }
).encode()


# -- AWS-shaped responses ----------------------------------------------------------------


def describe_stacks(url: str) -> dict[str, Any]:
    outputs = {
        "LoadBalancerUrl": url,
        "ClusterName": CLUSTER,
        "ServiceName": SERVICE,
        "LogGroupName": LOG_GROUP,
    }
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": PREFIX,
                "CreationTime": T0,
                "StackStatus": "CREATE_COMPLETE",
                "Parameters": [
                    {"ParameterKey": "DbHost", "ParameterValue": "db.lab.internal"},
                    {"ParameterKey": "DbPort", "ParameterValue": "5432"},
                    {"ParameterKey": "DbPassword", "ParameterValue": "****"},
                ],
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                "DisableRollback": False,
            }
        ]
    }


def describe_services(rollout: str, reason: str, running: int, msgs: list[str]) -> dict[str, Any]:
    deployment = {
        "id": "ecs-svc/4310872561934958275",
        "status": "PRIMARY",
        "taskDefinition": TD_ARN,
        "desiredCount": 2,
        "pendingCount": 0,
        "runningCount": running,
        "failedTasks": 0 if rollout != "FAILED" else 3,
        "createdAt": T0,
        "updatedAt": T0,
        "launchType": "FARGATE",
        "platformVersion": "1.4.0",
        "rolloutState": rollout,
        "rolloutStateReason": reason,
    }
    return {
        "services": [
            {
                "serviceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
                "serviceName": SERVICE,
                "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{CLUSTER}",
                "loadBalancers": [
                    {"targetGroupArn": TG_ARN, "containerName": SERVICE, "containerPort": 8080}
                ],
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": running,
                "pendingCount": 0,
                "launchType": "FARGATE",
                "taskDefinition": TD_ARN,
                "deployments": [deployment],
                "events": [
                    {"id": f"e{n}", "createdAt": T0.replace(second=n), "message": m}
                    for n, m in reversed(list(enumerate(msgs)))
                ],
            }
        ],
        "failures": [],
    }


def target_health(state: str, reason: str = "", description: str = "") -> dict[str, Any]:
    health = {"State": state}
    if reason:
        health |= {"Reason": reason, "Description": description}
    return {
        "TargetHealthDescriptions": [
            {
                "Target": {"Id": "10.9.1.10", "Port": 8080, "AvailabilityZone": "us-east-1a"},
                "HealthCheckPort": "8080",
                "TargetHealth": health,
            }
        ]
    }


def stack_events() -> dict[str, Any]:
    return {
        "StackEvents": [
            {
                "StackId": STACK_ID,
                "EventId": "a1b2c3d4-0001",
                "StackName": PREFIX,
                "LogicalResourceId": PREFIX,
                "PhysicalResourceId": STACK_ID,
                "ResourceType": "AWS::CloudFormation::Stack",
                "Timestamp": T0,
                "ResourceStatus": "UPDATE_COMPLETE",
            }
        ]
    }


def stubbed_app(
    session: boto3.Session, moto_server: str, **settings: Any
) -> tuple[Any, StubbedAws]:
    holder: list[StubbedAws] = []

    def factory(config: Config) -> StubbedAws:
        holder.append(StubbedAws(config, session, ("cloudformation", "ecs", "elbv2")))
        return holder[-1]

    app = make_app(session, moto_server, aws_factory=factory, **settings)
    return app, app.aws  # type: ignore[return-value]


def queue_polls(stubbed: StubbedAws, url: str, polls: int, service: dict, health: dict) -> None:
    """Responses for resolving the URL plus `polls` polls of stack, service and targets.

    The first poll reuses the stack read that resolved the URL (one read per run where
    the answer cannot have changed); every later poll reads it again.
    """
    cfn, ecs, elb = (stubbed.stubbers[n] for n in ("cloudformation", "ecs", "elbv2"))
    for _ in range(max(polls, 1)):
        cfn.add_response("describe_stacks", describe_stacks(url), {"StackName": PREFIX})
    for _ in range(polls):
        ecs.add_response("describe_services", service, {"cluster": CLUSTER, "services": [SERVICE]})
        elb.add_response("describe_target_health", health, {"TargetGroupArn": TG_ARN})


def queue_diagnosis(stubbed: StubbedAws, stopped: list[dict[str, Any]]) -> None:
    stubbed.stubbers["cloudformation"].add_response(
        "describe_stack_events", stack_events(), {"StackName": STACK_ID}
    )
    ecs = stubbed.stubbers["ecs"]
    ecs.add_response(
        "list_tasks",
        {"taskArns": [t["taskArn"] for t in stopped]},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED"},
    )
    if stopped:
        ecs.add_response(
            "describe_tasks",
            {"tasks": stopped, "failures": []},
            {"cluster": CLUSTER, "tasks": [t["taskArn"] for t in stopped]},
        )


def put_log_lines(session: boto3.Session, *lines: str) -> None:
    logs = session.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    stream = f"{PREFIX}/{SERVICE}/{TASK_ARN.rsplit('/', 1)[-1]}"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    now = int(time.time() * 1000) - 60_000
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": now + n, "message": line} for n, line in enumerate(lines)],
    )


# -- tasks that never start: the circuit breaker fails the rollout -------------------------

FAILED_TASKS = [
    (
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to "
        f"resolve ref {ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{PREFIX}-microservice:v2: "
        "not found",
        None,
        "tasks cannot pull their image",
        "push-image",
    ),
    (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secret from asm: service call has been "
        f"retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:us-east-1:{ACCOUNT}:"
        "secret:ecslab-dev-db-AbCdEf from secrets manager: AccessDeniedException",
        None,
        "tasks cannot start: ResourceInitializationError",
        "secretsmanager:GetSecretValue",
    ),
    (
        "Essential container in task exited",
        2,
        "the essential container exited with exit code 2",
        "ecslab logs",
    ),
]


@pytest.mark.parametrize(("reason", "exit_code", "cause", "fix"), FAILED_TASKS)
def test_failed_rollout_names_the_stopped_tasks_reason(
    aws: boto3.Session,
    moto_server: str,
    reason: str,
    exit_code: int | None,
    cause: str,
    fix: str,
) -> None:
    put_log_lines(aws, '{"level":"error","event":"invalid_configuration","message":"PORT"}')
    with StandIn(503, ALB_503, "text/html").running() as url:
        app, stubbed = stubbed_app(aws, moto_server)
        service = describe_services(
            "FAILED",
            "ECS deployment circuit breaker: tasks failed to start.",
            0,
            [
                f"(service {SERVICE}) has started 2 tasks: (task 0f1e2d3c).",
                f"(service {SERVICE}) deployment ecs-svc/4310872561934958275 deployment failed: "
                "tasks failed to start.",
            ],
        )
        queue_polls(stubbed, url, 1, service, {"TargetHealthDescriptions": []})
        queue_diagnosis(stubbed, [stopped_task(reason, exit_code)])

        with pytest.raises(VerifyFailed) as caught:
            run_step(verify.build(app))

    for stub in stubbed.stubbers.values():
        stub.assert_no_pending_responses()
    assert caught.value.exit_code == ExitCode.VERIFY_FAILED
    assert "rollout failed" in caught.value.message
    assert cause in caught.value.message
    assert fix in (caught.value.hint or "")
    timeline = next(e for e in events(app) if e.get("title") == "What happened")
    whats = [row["what"] for row in timeline["rows"]]
    assert any(w.startswith("task 0f1e2d3c") for w in whats)
    assert any("invalid_configuration" in w for w in whats)  # the log tail, from moto
    assert any("deployment failed" in w for w in whats)  # the service events


def test_targets_timing_out_settle_into_a_security_group_cause(
    aws: boto3.Session, moto_server: str
) -> None:
    with StandIn(504, ALB_504, "text/html").running() as url:
        app, stubbed = stubbed_app(aws, moto_server)
        service = describe_services(
            "COMPLETED",
            "ECS deployment ecs-svc/4310872561934958275 completed.",
            2,
            [f"(service {SERVICE}) has reached a steady state."],
        )
        unhealthy = target_health("unhealthy", "Target.Timeout", "Request timed out")
        # Polls at t = 0, 1, 3, 7, 12, 17, 22, 27, 32: the same 504 for 30 s settles it.
        queue_polls(stubbed, url, 9, service, unhealthy)
        queue_diagnosis(stubbed, [])

        with pytest.raises(VerifyFailed) as caught:
            run_step(verify.build(app))

    for stub in stubbed.stubbers.values():
        stub.assert_no_pending_responses()
    assert "HTTP 504" in next(e["message"] for e in events(app) if e["event"] == "detail")
    assert "1 target(s) fail the load balancer health check: Target.Timeout" in (
        caught.value.message
    )
    assert "security group" in (caught.value.hint or "")
    assert isinstance(app.clock, FakeClock) and app.clock.time == 32


# -- moto: progress restarts the timeout; healthy with the autoscaling wiring --------------


class _HookClock(FakeClock):
    def __init__(self, at: int, hook: Callable[[], None]) -> None:
        super().__init__()
        self.at, self.hook = at, hook

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.sleeps) == self.at:
            self.hook()


def _deploy_in_moto(session: boto3.Session, url: str) -> str:
    group = seed_load_balancer(session)
    seed_service(session, "registry.example/ecslab-dev-microservice:v1", group)
    seed_stack(
        session,
        {"LoadBalancerUrl": url, "ClusterName": CLUSTER, "ServiceName": SERVICE},
    )
    return group


def test_a_target_turning_healthy_restarts_the_timeout(
    aws: boto3.Session, moto_server: str, free_port: Callable[[], int]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    group = _deploy_in_moto(aws, url)

    def register() -> None:
        aws.client("elbv2").register_targets(
            TargetGroupArn=group, Targets=[{"Id": "10.9.1.10", "Port": 8080}]
        )

    clock = _HookClock(at=3, hook=register)  # after the poll at t=3, the target turns healthy
    app = make_app(aws, moto_server, clock=clock, timeout=20)

    with pytest.raises(VerifyTimeout) as caught:
        run_step(verify.build(app))

    shown = events(app)
    assert any("progress: 1 target(s) healthy" in e["message"] for e in shown)
    assert any(e["message"].startswith("target 10.9.1.10:8080: healthy") for e in shown)
    assert clock.time == 7 + 20  # the progress seen at t=7 restarted the 20 s timeout
    assert "no task is running (0/2)" in caught.value.message  # moto never runs tasks
    assert "connection refused" in caught.value.message


@pytest.mark.parametrize("wired", [True, False])
def test_healthy_backend_with_autoscaling_checked(
    aws: boto3.Session, moto_server: str, wired: bool
) -> None:
    with StandIn(200, MICROSITE_JSON).running() as url:
        _deploy_in_moto(aws, url)
        seed_scaling(aws, wire_low_alarm=wired)
        app = make_app(aws, moto_server)
        result = run_step(verify.build(app))

    assert result.outcome == Outcome.DONE
    assert "1 item(s)" in result.message and "PostgreSQL 15.8" in result.message
    table = next(e for e in events(app) if e.get("title") == "Autoscaling")
    assert [row["part"] for row in table["rows"]] == [
        "scalable target",
        "policy",
        "policy",
        "alarm",
        "alarm",
    ]
    warnings = [e["message"] for e in events(app) if e["event"] == "warning"]
    if wired:
        assert result.data["autoscaling_problems"] == [] and warnings == []
    else:
        expected = "alarm ecslab-dev-low-memory does not trigger policy ecslab-dev-scale-down"
        assert result.data["autoscaling_problems"] == [expected]
        assert warnings == [f"autoscaling: {expected}"]


def test_no_stack_and_no_verify_url_is_a_clear_failure(
    aws: boto3.Session, moto_server: str
) -> None:
    app = make_app(aws, moto_server)
    step = verify.build(app)
    assert step.assess().done is False
    assert list(step.assess().changes) == [
        "probe the load balancer URL, which cannot be probed now: stack ecslab-dev is not "
        "deployed, so there is no load balancer to probe"
    ]
    with pytest.raises(VerifyFailed) as caught:
        run_step(step)
    assert "run-all" in (caught.value.hint or "")


def test_plan_names_the_url_from_the_stack(aws: boto3.Session, moto_server: str) -> None:
    _deploy_in_moto(aws, "http://127.0.0.1:8080")
    app = make_app(aws, moto_server)
    assert list(verify.build(app).assess().changes) == [
        "probe http://127.0.0.1:8080/ until it answers with data from the database"
    ]


def test_an_emulated_load_balancer_url_is_never_probed(
    aws: boto3.Session, moto_server: str
) -> None:
    """moto's DNS names resolve nowhere; probing them would send traffic off this machine."""
    _deploy_in_moto(aws, "http://ecslab-dev-alb-1234.us-east-1.elb.amazonaws.com")
    step = verify.build(make_app(aws, moto_server))
    assert "made up by the local AWS emulator" in step.assess().changes[0]
    with pytest.raises(VerifyFailed) as caught:
        run_step(step)
    assert "verify_url" in (caught.value.hint or "")


DB_DOWN_503 = b'{"error":"database_unavailable","message":"the database is not available"}'


def test_during_a_rollout_an_unhealthy_answer_settles_only_after_the_longer_window(
    aws: boto3.Session, moto_server: str
) -> None:
    """moto's new service keeps its deployment IN_PROGRESS: new tasks could still fix it."""
    with StandIn(503, DB_DOWN_503).running() as url:
        _deploy_in_moto(aws, url)
        app = make_app(aws, moto_server, db_host="db.lab.internal", timeout=600)
        with pytest.raises(VerifyFailed) as caught:
            run_step(verify.build(app))

    assert isinstance(app.clock, FakeClock)
    assert verify.ROLLOUT_SETTLE_SECONDS <= app.clock.time < verify.ROLLOUT_SETTLE_SECONDS + 5
    assert "database unreachable from the tasks" in caught.value.message
    assert "db.lab.internal:5432" in caught.value.message
    # Without a terminal the progress line is printed when it changes, not every poll.
    progress = [e for e in events(app) if e["event"] == "progress"]
    assert len(progress) <= 3


def test_a_rolled_back_stack_fails_at_once_with_its_first_failed_resource(
    aws: boto3.Session, moto_server: str
) -> None:
    holder: list[StubbedAws] = []

    def factory(config: Config) -> StubbedAws:
        holder.append(StubbedAws(config, aws, ("cloudformation",)))
        return holder[-1]

    app = make_app(aws, moto_server, aws_factory=factory)
    cfn = app.aws.stubbers["cloudformation"]  # type: ignore[attr-defined]
    stack = describe_stacks("unused")["Stacks"][0]
    stack |= {
        "StackStatus": "ROLLBACK_COMPLETE",
        "StackStatusReason": "The following resource(s) failed to create: [EcsService].",
        "Outputs": [],
    }
    cfn.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": PREFIX})
    failed = {
        "StackId": STACK_ID,
        "EventId": "EcsService-CREATE_FAILED-2026-11-25T02:04:11.123Z",
        "StackName": PREFIX,
        "LogicalResourceId": "EcsService",
        "PhysicalResourceId": "",
        "ResourceType": "AWS::ECS::Service",
        "Timestamp": T0.replace(minute=4),
        "ResourceStatus": "CREATE_FAILED",
        "ResourceStatusReason": 'Resource handler returned message: "Invalid request provided: '
        'CreateService error: Unable to assume the service linked role."',
    }
    rollback = {
        **stack_events()["StackEvents"][0],
        "EventId": "a1b2c3d4-0009",
        "Timestamp": T0.replace(minute=6),
        "ResourceStatus": "ROLLBACK_COMPLETE",
    }
    cfn.add_response(
        "describe_stack_events", {"StackEvents": [rollback, failed]}, {"StackName": STACK_ID}
    )

    with pytest.raises(VerifyFailed) as caught:
        run_step(verify.build(app))

    cfn.assert_no_pending_responses()
    assert caught.value.message.startswith(
        "stack ecslab-dev is ROLLBACK_COMPLETE: EcsService: Resource handler returned message"
    )
    assert "service linked role" in caught.value.message
    assert "ecslab run-all" in (caught.value.hint or "")


def test_an_unreachable_rds_database_gets_the_exact_ingress_command(
    aws: boto3.Session, moto_server: str
) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    db_group, task_group = (
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc["VpcId"])["GroupId"]
        for name in ("shop-db", "shop-tasks")
    )
    host = aws.client("rds").create_db_instance(
        DBInstanceIdentifier="shop-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="postgres",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        VpcSecurityGroupIds=[db_group],
    )["DBInstance"]["Endpoint"]["Address"]
    with StandIn(503, DB_DOWN_503).running() as url:
        seed_service(aws, "registry.example/ecslab-dev-microservice:v1", seed_load_balancer(aws))
        seed_stack(
            aws,
            {
                "LoadBalancerUrl": url,
                "ClusterName": CLUSTER,
                "ServiceName": SERVICE,
                "TaskSecurityGroupId": task_group,
            },
        )
        app = make_app(aws, moto_server, db_host=host, timeout=600)
        with pytest.raises(VerifyFailed) as caught:
            run_step(verify.build(app))

    assert "database unreachable from the tasks" in caught.value.message
    assert (
        f"`aws ec2 authorize-security-group-ingress --region us-east-1 --group-id {db_group} "
        f"--protocol tcp --port 5432 --source-group {task_group}`" in (caught.value.hint or "")
    )
