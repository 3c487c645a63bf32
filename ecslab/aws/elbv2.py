"""Elastic Load Balancing v2: the target group and the health of each registered target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors

if TYPE_CHECKING:
    from ecslab.aws.session import Aws


@dataclass(frozen=True)
class TargetHealth:
    """One registered target: `state` is healthy, unhealthy, initial, draining, unused..."""

    target_id: str
    port: int | None
    state: str
    reason: str  # e.g. Target.FailedHealthChecks, Target.Timeout, Elb.RegistrationInProgress
    description: str

    @property
    def address(self) -> str:
        return f"{self.target_id}:{self.port}" if self.port else self.target_id

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"


class Elbv2:
    """Typed reads of load balancers and target groups."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("elbv2")

    def target_group_port(self, target_group_arn: str) -> int | None:
        """The port the target group sends traffic to; None when it does not exist."""
        with aws_errors("read the target group"):
            try:
                response = self._client.describe_target_groups(TargetGroupArns=[target_group_arn])
            except self._client.exceptions.TargetGroupNotFoundException:
                return None
        for raw in response.get("TargetGroups", []):
            return int(raw["Port"]) if raw.get("Port") is not None else None
        return None

    def target_health(self, target_group_arn: str) -> list[TargetHealth]:
        """Every target registered in the group, with its health state and reason."""
        with aws_errors("read target health"):
            try:
                response = self._client.describe_target_health(TargetGroupArn=target_group_arn)
            except self._client.exceptions.TargetGroupNotFoundException:
                return []
        return [_target(raw) for raw in response.get("TargetHealthDescriptions", [])]


def _target(raw: dict[str, Any]) -> TargetHealth:
    target = raw.get("Target", {})
    health = raw.get("TargetHealth", {})
    port = target.get("Port")
    return TargetHealth(
        target_id=str(target.get("Id", "")),
        port=int(port) if port is not None else None,
        state=str(health.get("State", "")),
        reason=str(health.get("Reason", "")),
        description=str(health.get("Description", "")),
    )
