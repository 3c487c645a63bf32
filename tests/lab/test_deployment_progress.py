"""The newest service deployment's stage and split, and `wait --until`, against ECS's
ListServiceDeployments / DescribeServiceDeployments as AWS answers them (Stubber: plain
moto has neither operation; the sandbox's are tested in tests/sandbox)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecslab.aws.ecs import Ecs
from ecslab.core.clock import FakeClock
from ecslab.core.config import Config
from ecslab.core.errors import DeployFailed, UsageError
from ecslab.lab.deployment_progress import describe, wait_until
from tests.helpers import make_app
from tests.verify_support import StubbedAws

CLUSTER, SERVICE = "ecslab-dev-cluster", "ecslab-dev-microservice"
ACCOUNT_REGION = "us-east-1:123456789012"
SERVICE_ARN = f"arn:aws:ecs:{ACCOUNT_REGION}:service/{CLUSTER}/{SERVICE}"
CLUSTER_ARN = f"arn:aws:ecs:{ACCOUNT_REGION}:cluster/{CLUSTER}"
ALARM = "ecslab-dev-target-5xx"


def _arn(n: int) -> str:
    return f"arn:aws:ecs:{ACCOUNT_REGION}:service-deployment/{CLUSTER}/{SERVICE}/{n:020x}"


def _brief(n: int, status: str) -> dict[str, Any]:
    return {
        "serviceDeploymentArn": _arn(n),
        "serviceArn": SERVICE_ARN,
        "clusterArn": CLUSTER_ARN,
        "createdAt": datetime(2026, 12, 4, 10, n, tzinfo=UTC),
        "startedAt": datetime(2026, 12, 4, 10, n, tzinfo=UTC),
        "targetServiceRevisionArn": f"arn:aws:ecs:{ACCOUNT_REGION}:service-revision/{CLUSTER}/"
        f"{SERVICE}/{n}",
        "status": status,
    }


def _described(n: int, status: str, stage: str | None, weight: float | None, **extra: Any) -> Any:
    target: dict[str, Any] = {
        "arn": f"arn:aws:ecs:{ACCOUNT_REGION}:service-revision/{CLUSTER}/{SERVICE}/{n}",
        "requestedTaskCount": 2,
        "runningTaskCount": 2,
        "pendingTaskCount": 0,
    }
    if weight is not None:
        target["requestedProductionTrafficWeight"] = weight
    found = {
        "serviceDeploymentArn": _arn(n),
        "serviceArn": SERVICE_ARN,
        "clusterArn": CLUSTER_ARN,
        "createdAt": datetime(2026, 12, 4, 10, n, tzinfo=UTC),
        "updatedAt": datetime(2026, 12, 4, 10, n, 30, tzinfo=UTC),
        "targetServiceRevision": target,
        "status": status,
        "deploymentConfiguration": {"strategy": "CANARY", "bakeTimeInMinutes": 5},
        "alarms": {"status": "MONITORING", "alarmNames": [ALARM], "triggeredAlarmNames": []},
        **extra,
    }
    if stage:
        found["lifecycleStage"] = stage
    return found


@pytest.fixture
def stubbed(aws: boto3.Session) -> StubbedAws:
    return StubbedAws(Config(region="us-east-1"), aws, ("ecs",))


def _stub(stubbed: StubbedAws) -> Stubber:
    return stubbed.stubbers["ecs"]


def _list(stub: Stubber, briefs: list[dict[str, Any]], token: str | None = None) -> None:
    query: dict[str, Any] = {"cluster": CLUSTER, "service": SERVICE}
    stub.add_response("list_service_deployments", {"serviceDeployments": briefs}, query)


def _describe(stub: Stubber, arns: list[str], found: list[dict[str, Any]]) -> None:
    stub.add_response(
        "describe_service_deployments",
        {"serviceDeployments": found, "failures": []},
        {"serviceDeploymentArns": arns},
    )


def test_history_is_paged_and_newest_first(stubbed: StubbedAws) -> None:
    stub = _stub(stubbed)
    query = {"cluster": CLUSTER, "service": SERVICE}
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [_brief(1, "SUCCESSFUL")], "nextToken": "t2"},
        query,
    )
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [_brief(2, "IN_PROGRESS")]},
        {**query, "nextToken": "t2"},
    )
    _describe(
        stub,
        [_arn(2), _arn(1)],
        [
            _described(2, "IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),
            _described(1, "SUCCESSFUL", None, None),
        ],
    )

    found = Ecs(stubbed).service_deployments(CLUSTER, SERVICE)

    stub.assert_no_pending_responses()
    assert [d.arn for d in found] == [_arn(2), _arn(1)]
    assert describe(found[0]) == (
        "deployment IN_PROGRESS, stage PRODUCTION_TRAFFIC_SHIFT, "
        "production traffic 10 % new / 90 % old"
    )


def _app(aws: boto3.Session, stubbed: StubbedAws, clock: FakeClock) -> Any:
    return make_app(aws, clock=clock, aws_factory=lambda _: stubbed, timeout=60)


def test_wait_until_a_stage_reports_each_change(aws: boto3.Session, stubbed: StubbedAws) -> None:
    stub, clock = _stub(stubbed), FakeClock()
    for stage, weight in (
        ("SCALE_UP", 0.0),
        ("PRODUCTION_TRAFFIC_SHIFT", 10.0),
        ("BAKE_TIME", 100.0),
    ):
        _list(stub, [_brief(2, "IN_PROGRESS")])
        _describe(stub, [_arn(2)], [_described(2, "IN_PROGRESS", stage, weight)])
    lines: list[str] = []

    found = wait_until(_app(aws, stubbed, clock), "bake_time", lines.append)

    stub.assert_no_pending_responses()
    assert found.stage == "BAKE_TIME"
    assert [line.split(", ")[1] for line in lines] == [
        "stage SCALE_UP",
        "stage PRODUCTION_TRAFFIC_SHIFT",
        "stage BAKE_TIME",
    ]
    assert clock.now() == pytest.approx(4.0)  # two polls of 2 s


def test_a_rollback_by_alarm_fails_the_wait_naming_the_alarm(
    aws: boto3.Session, stubbed: StubbedAws
) -> None:
    stub = _stub(stubbed)
    _list(stub, [_brief(2, "ROLLBACK_SUCCESSFUL")])
    rolled_back = _described(
        2,
        "ROLLBACK_SUCCESSFUL",
        None,
        None,
        alarms={"status": "TRIGGERED", "alarmNames": [ALARM], "triggeredAlarmNames": [ALARM]},
        rollback={
            "reason": "Rolling back because of the CloudWatch alarm",
            "startedAt": datetime(2026, 12, 4, 10, 5, tzinfo=UTC),
            "serviceRevisionArn": f"arn:aws:ecs:{ACCOUNT_REGION}:service-revision/x/y/1",
        },
    )
    _describe(stub, [_arn(2)], [rolled_back])

    with pytest.raises(DeployFailed) as caught:
        wait_until(_app(aws, stubbed, FakeClock()), "deployed", lambda _: None)

    assert ALARM in caught.value.message
    assert caught.value.exit_code == 5


def test_the_wait_is_bounded(aws: boto3.Session, stubbed: StubbedAws) -> None:
    stub, clock = _stub(stubbed), FakeClock()
    for _ in range(32):  # reads at 0, 2, ... 60 s, and at 62 s, past the deadline
        _list(stub, [_brief(2, "IN_PROGRESS")])
        _describe(stub, [_arn(2)], [_described(2, "IN_PROGRESS", "BAKE_TIME", 100.0)])

    with pytest.raises(DeployFailed, match="not deployed after 60 s"):
        wait_until(_app(aws, stubbed, clock), "deployed", lambda _: None)


def test_an_unknown_target_is_refused_before_any_call(
    aws: boto3.Session, stubbed: StubbedAws
) -> None:
    with pytest.raises(UsageError) as caught:
        wait_until(_app(aws, stubbed, FakeClock()), "done", lambda _: None)

    assert caught.value.exit_code == 2
    _stub(stubbed).assert_no_pending_responses()
