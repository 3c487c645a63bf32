"""RDS, read only: which security groups guard the database a host name points at.

ecslab does not manage the database. When `db_host` is an RDS endpoint (an instance's, or
an Aurora cluster's writer, reader or custom endpoint), its VPC security groups are what
must admit the tasks; knowing them turns a hint into the exact command to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors
from ecslab.core.errors import AwsError

if TYPE_CHECKING:
    from ecslab.aws.session import Aws

RDS_SUFFIXES = (".rds.amazonaws.com", ".rds.amazonaws.com.cn")


def is_rds_endpoint(host: str) -> bool:
    return host.lower().rstrip(".").endswith(RDS_SUFFIXES)


class Rds:
    """Typed reads of RDS instances and clusters."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("rds")

    def security_groups_of(self, host: str) -> tuple[str, ...] | None:
        """The VPC security groups of the RDS database at `host`; None when not found.

        Not being allowed to look (rds:Describe* denied) is also None: the caller then
        names the group generically instead of failing.
        """
        if not is_rds_endpoint(host):
            return None
        wanted = host.lower().rstrip(".")
        try:
            with aws_errors("look up the database's security groups (rds:DescribeDBInstances)"):
                return self._instance_groups(wanted) or self._cluster_groups(wanted)
        except AwsError:
            return None

    def _instance_groups(self, host: str) -> tuple[str, ...] | None:
        for page in self._client.get_paginator("describe_db_instances").paginate():
            for raw in page.get("DBInstances", []):
                address = str(raw.get("Endpoint", {}).get("Address", "")).lower()
                if address == host:
                    return _groups(raw)
        return None

    def _cluster_groups(self, host: str) -> tuple[str, ...] | None:
        for page in self._client.get_paginator("describe_db_clusters").paginate():
            for raw in page.get("DBClusters", []):
                endpoints = [raw.get("Endpoint"), raw.get("ReaderEndpoint")]
                endpoints += list(raw.get("CustomEndpoints", []))
                if host in {str(e).lower() for e in endpoints if e}:
                    return _groups(raw)
        return None


def _groups(raw: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        str(group["VpcSecurityGroupId"])
        for group in raw.get("VpcSecurityGroups", [])
        if group.get("VpcSecurityGroupId")
    )
