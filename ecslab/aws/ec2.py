"""EC2: the network the service runs in (the default VPC and its subnets, or given ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors
from ecslab.core.errors import AwsError

if TYPE_CHECKING:
    from ecslab.aws.session import Aws


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    availability_zone: str
    availability_zone_id: str  # the same physical zone in every account (use1-az3), unlike the name
    default_for_az: bool
    public_ip_on_launch: bool


class Ec2:
    """Typed EC2 calls."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("ec2")

    def default_vpc_id(self) -> str | None:
        with aws_errors("look for the default VPC"):
            pages = self._client.get_paginator("describe_vpcs").paginate(
                Filters=[{"Name": "isDefault", "Values": ["true"]}]
            )
            # A filtered page may come back empty with a NextToken: read on.
            vpcs = [vpc for page in pages for vpc in page.get("Vpcs", [])]
        return str(vpcs[0]["VpcId"]) if vpcs else None

    def subnets_of_vpc(self, vpc_id: str) -> list[Subnet]:
        return self._subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])

    def subnets(self, subnet_ids: tuple[str, ...]) -> list[Subnet]:
        return self._subnets(SubnetIds=list(subnet_ids))

    def _subnets(self, **kwargs: Any) -> list[Subnet]:
        found: list[Subnet] = []
        with aws_errors("list subnets"):
            for page in self._client.get_paginator("describe_subnets").paginate(**kwargs):
                found.extend(
                    Subnet(
                        subnet_id=raw["SubnetId"],
                        vpc_id=raw["VpcId"],
                        availability_zone=raw["AvailabilityZone"],
                        availability_zone_id=str(raw.get("AvailabilityZoneId", "")),
                        default_for_az=bool(raw.get("DefaultForAz")),
                        public_ip_on_launch=bool(raw.get("MapPublicIpOnLaunch")),
                    )
                    for raw in page["Subnets"]
                )
        return found

    def admits(self, group_id: str, source_group: str, port: int) -> bool | None:
        """Whether `group_id` lets `source_group` in on TCP `port`; None if unreadable."""
        try:
            with aws_errors(f"read security group {group_id}"):
                answer = self._client.describe_security_groups(GroupIds=[group_id])
        except AwsError:
            return None
        for group in answer.get("SecurityGroups", []):
            for rule in group.get("IpPermissions", []):
                sources = {pair.get("GroupId") for pair in rule.get("UserIdGroupPairs", [])}
                if source_group in sources and _covers(rule, port):
                    return True
        return False


def _covers(rule: dict[str, Any], port: int) -> bool:
    """A rule for all traffic, or for TCP with `port` in its range."""
    if str(rule.get("IpProtocol")) == "-1":
        return True
    low, high = rule.get("FromPort"), rule.get("ToPort")
    if low is None or high is None:
        return False
    return str(rule.get("IpProtocol")) in ("tcp", "6") and int(low) <= port <= int(high)
