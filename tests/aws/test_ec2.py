"""ecslab.aws.ec2 and the network choice (ecslab.lab.stack_inputs.resolve_network) on moto."""

from __future__ import annotations

import re

import boto3
import pytest

from ecslab.aws.ec2 import Ec2, Subnet
from ecslab.core.config import Config
from ecslab.core.errors import UsageError
from ecslab.lab.stack_inputs import pick_subnets, resolve_network
from tests.helpers import all_text, make_app
from tests.verify_support import StubbedAws


def test_default_vpc_and_two_subnets_in_different_zones(
    aws: boto3.Session, moto_server: str
) -> None:
    app = make_app(aws, moto_server)
    network = resolve_network(app)
    vpc = Ec2(app.aws).default_vpc_id()
    assert network.vpc_id == vpc and network.source == "default VPC"
    subnets = Ec2(app.aws).subnets(network.subnet_ids)
    assert len(subnets) == 2
    assert len({s.availability_zone for s in subnets}) == 2
    assert {s.vpc_id for s in subnets} == {vpc}


def test_configured_subnets_are_checked(aws: boto3.Session, moto_server: str) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    one_zone = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{n}.0/24", AvailabilityZone="us-east-1a")[
            "Subnet"
        ]["SubnetId"]
        for n in (1, 2)
    ]
    app = make_app(aws, moto_server, subnet_ids=tuple(one_zone))
    with pytest.raises(UsageError, match="all in one Availability Zone"):
        resolve_network(app)
    other = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.3.0/24", AvailabilityZone="us-east-1b")
    chosen = (one_zone[0], other["Subnet"]["SubnetId"])
    network = resolve_network(make_app(aws, moto_server, subnet_ids=chosen))
    assert network.vpc_id == vpc and network.subnet_ids == chosen


def test_no_default_vpc_is_a_clear_error(aws: boto3.Session, moto_server: str) -> None:
    ec2 = aws.client("ec2")
    default = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default["VpcId"]]}])[
        "Subnets"
    ]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=default["VpcId"])
    with pytest.raises(UsageError, match="no default VPC") as error:
        resolve_network(make_app(aws, moto_server))
    assert "--subnet-ids" in (error.value.hint or "")


def test_pick_prefers_default_subnets_and_distinct_zones() -> None:
    def subnet(sid: str, zone: str, default: bool) -> Subnet:
        return Subnet(sid, "vpc-1", zone, "", default, default)

    chosen = pick_subnets(
        [
            subnet("subnet-c", "us-east-1a", False),
            subnet("subnet-b", "us-east-1b", True),
            subnet("subnet-a", "us-east-1a", True),
            subnet("subnet-d", "us-east-1a", True),
        ]
    )
    assert [s.subnet_id for s in chosen] == ["subnet-a", "subnet-b"]
    assert pick_subnets([subnet("subnet-a", "us-east-1a", True)]) == [
        subnet("subnet-a", "us-east-1a", True)
    ]


def test_default_choice_skips_zones_without_fargate(aws: boto3.Session, moto_server: str) -> None:
    """moto maps us-east-1e to use1-az3, where Fargate runs no tasks."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    made = {
        zone: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]
        for zone, cidr in (("us-east-1e", "10.8.1.0/24"), ("us-east-1f", "10.8.2.0/24"))
    }
    assert made["us-east-1e"]["AvailabilityZoneId"] == "use1-az3"
    app = make_app(aws, moto_server, vpc_id=vpc)
    with pytest.raises(
        UsageError, match=re.escape("offer Fargate (skipped zone(s) without Fargate: use1-az3)")
    ):
        resolve_network(app)
    third = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.3.0/24", AvailabilityZone="us-east-1a")
    network = resolve_network(app)
    assert network.subnet_ids == (third["Subnet"]["SubnetId"], made["us-east-1f"]["SubnetId"])


def test_configured_subnet_without_fargate_is_warned(aws: boto3.Session, moto_server: str) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ids = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for zone, cidr in (("us-east-1e", "10.9.1.0/24"), ("us-east-1a", "10.9.2.0/24"))
    )
    app = make_app(aws, moto_server, subnet_ids=ids)
    assert resolve_network(app).subnet_ids == ids
    assert f"subnet {ids[0]} is in us-east-1e (use1-az3), where Fargate runs no tasks" in (
        all_text(app)
    )


def test_default_vpc_read_across_empty_pages(aws: boto3.Session, moto_server: str) -> None:
    """DescribeVpcs with a filter may answer an empty page and a NextToken first."""
    stubbed = StubbedAws(Config(region="us-east-1", endpoint_url=moto_server), aws, ("ec2",))
    stub = stubbed.stubbers["ec2"]
    filters = [{"Name": "isDefault", "Values": ["true"]}]
    stub.add_response("describe_vpcs", {"Vpcs": [], "NextToken": "t1"}, {"Filters": filters})
    stub.add_response(
        "describe_vpcs",
        {"Vpcs": [{"VpcId": "vpc-0a1b2c3d4e5f60718", "IsDefault": True, "State": "available"}]},
        {"Filters": filters, "NextToken": "t1"},
    )
    assert Ec2(stubbed).default_vpc_id() == "vpc-0a1b2c3d4e5f60718"
    stub.assert_no_pending_responses()
