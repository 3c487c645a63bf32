"""The sandbox's moto fixes: target groups keyed by Id and port, as AWS keys them; a
template role's inline policies readable as JSON."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from ecslab.sandbox.moto_patch import role_policy_documents, targets_by_id_and_port
from tests.helpers import moto_fixes


@pytest.fixture
def group(aws: boto3.Session) -> Iterator[str]:
    """An IP target group on port 8080, in a moto whose groups key targets as AWS does."""
    vpc = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    with moto_fixes(targets_by_id_and_port):
        yield aws.client("elbv2").create_target_group(
            Name="tg", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]


def test_two_ports_of_one_address_are_two_targets(aws: boto3.Session, group: str) -> None:
    elbv2, arn = aws.client("elbv2"), group
    elbv2.register_targets(
        TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": p} for p in (5001, 5002)]
    )
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 5001}])
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 5003}])

    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    seen = {(h["Target"]["Port"], h["TargetHealth"]["State"]) for h in health}
    assert seen == {(5002, "healthy"), (5003, "healthy")}


def test_a_deregistered_port_is_reported_as_moto_reports_it(aws: boto3.Session, group: str) -> None:
    elbv2 = aws.client("elbv2")
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 5001}])
    elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 5001}])
    (health,) = elbv2.describe_target_health(
        TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 5001}]
    )["TargetHealthDescriptions"]
    assert health["TargetHealth"]["State"] == "unused"
    assert health["TargetHealth"]["Reason"] == "Target.NotRegistered"


def test_moto_still_refuses_a_port_that_is_not_registered(aws: boto3.Session, group: str) -> None:
    elbv2 = aws.client("elbv2")
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 5001}])
    with pytest.raises(elbv2.exceptions.InvalidTargetException):
        elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 5002}])


def test_moto_still_refuses_a_stopped_instance(aws: boto3.Session, group: str) -> None:
    """moto's own register runs under the fix, with its checks (a copy would lose them)."""
    ec2, elbv2 = aws.client("ec2"), aws.client("elbv2")
    (instance,) = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
    ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    with pytest.raises(elbv2.exceptions.ClientError, match="running"):
        elbv2.register_targets(
            TargetGroupArn=group, Targets=[{"Id": instance["InstanceId"], "Port": 80}]
        )


ROLE_TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Action: sts:AssumeRole, Principal: {Service: ecs-tasks.amazonaws.com}}
      Policies:
        - PolicyName: read-it
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - {Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: '*'}
"""


def test_a_template_roles_inline_policy_reads_back_as_json(aws: boto3.Session) -> None:
    with moto_fixes(role_policy_documents):
        aws.client("cloudformation").create_stack(StackName="roles", TemplateBody=ROLE_TEMPLATE)
        iam = aws.client("iam")
        (role,) = iam.list_roles()["Roles"]
        found = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="read-it")

    statement = found["PolicyDocument"]["Statement"][0]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
