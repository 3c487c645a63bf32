"""Target health: registered targets from moto; unhealthy reasons (moto has none) from Stubber."""

from __future__ import annotations

import boto3

from ecslab.aws.elbv2 import Elbv2
from ecslab.aws.session import Aws
from ecslab.core.config import Config
from tests.verify_support import StubbedAws, seed_load_balancer


def test_registered_targets_from_moto(aws: boto3.Session, moto_server: str) -> None:
    group = seed_load_balancer(aws)
    elb = Elbv2(Aws(Config(region="us-east-1", endpoint_url=moto_server), aws))
    assert elb.target_health(group) == []

    aws.client("elbv2").register_targets(
        TargetGroupArn=group, Targets=[{"Id": "10.9.1.10", "Port": 8080}]
    )
    targets = elb.target_health(group)

    assert [t.address for t in targets] == ["10.9.1.10:8080"]
    assert targets[0].state  # moto reports a state; the real values are tested below


def test_unhealthy_reasons_shaped_like_aws(aws: boto3.Session, moto_server: str) -> None:
    stubbed = StubbedAws(Config(region="us-east-1", endpoint_url=moto_server), aws, ("elbv2",))
    arn = (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
        "targetgroup/ecslab-dev-tg/73e2d6bc24d8a067"
    )
    stubbed.stubbers["elbv2"].add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": "10.9.1.10", "Port": 8080, "AvailabilityZone": "us-east-1a"},
                    "HealthCheckPort": "8080",
                    "TargetHealth": {
                        "State": "unhealthy",
                        "Reason": "Target.Timeout",
                        "Description": "Request timed out",
                    },
                },
                {
                    "Target": {"Id": "10.9.2.11", "Port": 8080, "AvailabilityZone": "us-east-1b"},
                    "HealthCheckPort": "8080",
                    "TargetHealth": {"State": "healthy"},
                },
            ]
        },
        {"TargetGroupArn": arn},
    )

    targets = Elbv2(stubbed).target_health(arn)

    assert [(t.state, t.reason, t.description) for t in targets] == [
        ("unhealthy", "Target.Timeout", "Request timed out"),
        ("healthy", "", ""),
    ]
    assert [t.healthy for t in targets] == [False, True]
