"""The sandbox's moto patches: target groups keyed by Id and port, as AWS keys them."""

from __future__ import annotations

import boto3
import pytest
from moto.elbv2.models import FakeTargetGroup

from ecslab.sandbox.moto_patch import target_group_methods_by_id_and_port


def test_two_ports_of_one_address_are_two_targets(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, method in target_group_methods_by_id_and_port().items():
        monkeypatch.setattr(FakeTargetGroup, name, method)
    ec2, elbv2 = aws.client("ec2"), aws.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    arn = elbv2.create_target_group(
        Name="tg", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(
        TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": p} for p in (5001, 5002)]
    )
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 5001}])
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 5003}])

    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    seen = {(h["Target"]["Port"], h["TargetHealth"]["State"]) for h in health}
    assert seen == {(5002, "healthy"), (5003, "healthy")}
