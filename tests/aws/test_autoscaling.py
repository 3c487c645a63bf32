"""The autoscaling wiring read from moto (its plain APIs) and the problems it finds."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3

from ecslab.aws.autoscaling import DIMENSION, Autoscaling
from ecslab.aws.session import Aws
from ecslab.core.config import Config
from tests.verify_support import (
    CLUSTER,
    SERVICE,
    StubbedAws,
    seed_load_balancer,
    seed_scaling,
    seed_service,
)

IMAGE = "registry.example/ecslab-dev-microservice:v1"


def _deployed(session: boto3.Session, **kwargs: object) -> None:
    seed_service(session, IMAGE, seed_load_balancer(session))
    seed_scaling(session, **kwargs)  # type: ignore[arg-type]


def _read(session: boto3.Session, moto_server: str):  # type: ignore[no-untyped-def]
    config = Config(region="us-east-1", endpoint_url=moto_server)
    return Autoscaling(Aws(config, session)).read(config.names, CLUSTER, SERVICE)


def test_wired_as_the_template_wires_it(aws: boto3.Session, moto_server: str) -> None:
    _deployed(aws)
    aws.client("cloudwatch").set_alarm_state(
        AlarmName="ecslab-dev-high-memory",
        StateValue="ALARM",
        StateReason="Threshold Crossed: 1 datapoint [81.2] was >= the threshold (70.0).",
    )
    setup = _read(aws, moto_server)

    assert setup.target is not None
    assert (setup.target.min_capacity, setup.target.max_capacity) == (2, 10)
    assert sorted(setup.policies) == ["ecslab-dev-scale-down", "ecslab-dev-scale-up"]
    assert setup.policies["ecslab-dev-scale-up"].adjustments == (1,)
    assert {a.name: a.state for a in setup.alarms.values()} == {
        "ecslab-dev-high-memory": "ALARM",
        "ecslab-dev-low-memory": "OK",
    }
    assert "81.2" in setup.alarms["ecslab-dev-high-memory"].state_reason
    assert setup.problems() == []


def test_alarm_pointing_at_the_wrong_policy(aws: boto3.Session, moto_server: str) -> None:
    _deployed(aws, wire_low_alarm=False)
    assert _read(aws, moto_server).problems() == [
        "alarm ecslab-dev-low-memory does not trigger policy ecslab-dev-scale-down"
    ]


def test_nothing_deployed(aws: boto3.Session, moto_server: str) -> None:
    problems = _read(aws, moto_server).problems()
    assert problems == [
        "no scalable target registers the service's desired count",
        "step scaling policy ecslab-dev-scale-up is missing",
        "alarm ecslab-dev-high-memory is missing",
        "step scaling policy ecslab-dev-scale-down is missing",
        "alarm ecslab-dev-low-memory is missing",
    ]


RID = f"service/{CLUSTER}/{SERVICE}"
POLICY_ARN = (
    "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:"
    f"6d8a5f2e-0b1c-4d7e-9a3f-2c4b6e8d0f1a:resource/ecs/{RID}:policyName/"
)


def _policy(name: str) -> dict[str, object]:
    return {
        "PolicyARN": POLICY_ARN + name,
        "PolicyName": name,
        "ServiceNamespace": "ecs",
        "ResourceId": RID,
        "ScalableDimension": "ecs:service:DesiredCount",
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        },
        "CreationTime": datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
    }


def test_policies_and_alarms_are_read_across_pages(aws: boto3.Session, moto_server: str) -> None:
    """Both APIs page with NextToken; a policy or alarm on a later page still counts."""
    config = Config(region="us-east-1", endpoint_url=moto_server)
    stubbed = StubbedAws(config, aws, ("application-autoscaling", "cloudwatch"))
    scaling = stubbed.stubbers["application-autoscaling"]
    query = {"ServiceNamespace": "ecs", "ResourceId": RID, "ScalableDimension": DIMENSION}
    scaling.add_response(
        "describe_scaling_policies",
        {"ScalingPolicies": [_policy("ecslab-dev-scale-down")], "NextToken": "n1"},
        query,
    )
    scaling.add_response(
        "describe_scaling_policies",
        {"ScalingPolicies": [_policy("ecslab-dev-scale-up")]},
        {**query, "NextToken": "n1"},
    )
    names = ["ecslab-dev-high-memory", "ecslab-dev-low-memory"]
    watch = stubbed.stubbers["cloudwatch"]
    watch.add_response(
        "describe_alarms", {"MetricAlarms": [], "NextToken": "a1"}, {"AlarmNames": names}
    )
    alarm = {"AlarmName": names[1], "StateValue": "OK", "AlarmActions": []}
    watch.add_response(
        "describe_alarms", {"MetricAlarms": [alarm]}, {"AlarmNames": names, "NextToken": "a1"}
    )

    policies = Autoscaling(stubbed).policies(RID)
    alarms = Autoscaling(stubbed).alarms(names)

    scaling.assert_no_pending_responses()
    watch.assert_no_pending_responses()
    assert [p.name for p in policies] == ["ecslab-dev-scale-down", "ecslab-dev-scale-up"]
    assert [a.name for a in alarms] == ["ecslab-dev-low-memory"]
