"""The service's autoscaling: Application Auto Scaling target and policies, CloudWatch alarms.

`read_scaling` gathers the four pieces the template wires together (scalable target, the
scale-up and scale-down step policies, the high- and low-memory alarms) and
`ScalingSetup.problems()` says what is missing or mis-wired, one sentence each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors

if TYPE_CHECKING:
    from ecslab.aws.session import Aws
    from ecslab.core.naming import Names

DIMENSION = "ecs:service:DesiredCount"


def scaling_names(names: Names) -> dict[str, str]:
    """Policy and alarm names as the template builds them (`!Sub ${ProjectName}-${Env}-...`)."""
    return {
        "scale_up": f"{names.prefix}-scale-up",
        "scale_down": f"{names.prefix}-scale-down",
        "high_alarm": f"{names.prefix}-high-memory",
        "low_alarm": f"{names.prefix}-low-memory",
    }


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


@dataclass(frozen=True)
class ScalableTarget:
    resource_id: str
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class ScalingPolicy:
    name: str
    arn: str
    policy_type: str
    adjustments: tuple[int, ...]  # ScalingAdjustment of each step


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str  # OK, ALARM, INSUFFICIENT_DATA
    state_reason: str
    actions: tuple[str, ...]
    metric: str
    comparison: str
    threshold: float
    namespace: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str = "Average"
    period: int = 60
    state_updated: datetime | None = None

    @property
    def comparison_symbol(self) -> str:
        return COMPARISON_SYMBOLS.get(self.comparison, self.comparison)


COMPARISON_SYMBOLS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


@dataclass(frozen=True)
class Activity:
    """One Application Auto Scaling activity, in AWS's words."""

    start: datetime | None
    status: str  # Successful, Failed, InProgress, ...
    description: str
    cause: str
    message: str
    not_scaled: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ScalingSetup:
    """What exists of the autoscaling wiring; `problems()` names what is wrong."""

    names: dict[str, str]
    target: ScalableTarget | None
    policies: dict[str, ScalingPolicy]
    alarms: dict[str, Alarm]

    def problems(self) -> list[str]:
        found: list[str] = []
        if self.target is None:
            found.append("no scalable target registers the service's desired count")
        elif self.target.min_capacity > self.target.max_capacity:
            found.append(
                f"scalable target min {self.target.min_capacity} is above "
                f"max {self.target.max_capacity}"
            )
        for policy_key, alarm_key, sign in (
            ("scale_up", "high_alarm", 1),
            ("scale_down", "low_alarm", -1),
        ):
            found += self._pair_problems(policy_key, alarm_key, sign)
        return found

    def _pair_problems(self, policy_key: str, alarm_key: str, sign: int) -> list[str]:
        policy_name, alarm_name = self.names[policy_key], self.names[alarm_key]
        policy = self.policies.get(policy_name)
        alarm = self.alarms.get(alarm_name)
        found: list[str] = []
        if policy is None:
            found.append(f"step scaling policy {policy_name} is missing")
        elif policy.policy_type != "StepScaling" or not policy.adjustments:
            found.append(f"policy {policy_name} is not a step scaling policy with steps")
        elif any(adj * sign <= 0 for adj in policy.adjustments):
            direction = "add" if sign > 0 else "remove"
            found.append(f"policy {policy_name} has a step that does not {direction} tasks")
        if alarm is None:
            found.append(f"alarm {alarm_name} is missing")
        elif policy is not None and policy.arn not in alarm.actions:
            found.append(f"alarm {alarm_name} does not trigger policy {policy_name}")
        return found


class Autoscaling:
    """Typed reads of Application Auto Scaling and CloudWatch alarms."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    def read(self, names: Names, cluster: str, service: str) -> ScalingSetup:
        wanted = scaling_names(names)
        rid = resource_id(cluster, service)
        return ScalingSetup(
            names=wanted,
            target=self.scalable_target(rid),
            policies={p.name: p for p in self.policies(rid)},
            alarms={a.name: a for a in self.alarms([wanted["high_alarm"], wanted["low_alarm"]])},
        )

    def scalable_target(self, rid: str) -> ScalableTarget | None:
        client = self._aws.client("application-autoscaling")
        with aws_errors("read the scalable target"):
            pages = client.get_paginator("describe_scalable_targets").paginate(
                ServiceNamespace="ecs", ResourceIds=[rid], ScalableDimension=DIMENSION
            )
            for page in pages:
                for raw in page.get("ScalableTargets", []):
                    return ScalableTarget(rid, int(raw["MinCapacity"]), int(raw["MaxCapacity"]))
        return None

    def register_scalable_target(self, rid: str, min_capacity: int, max_capacity: int) -> None:
        """Set the target's bounds (RegisterScalableTarget updates an existing target)."""
        client = self._aws.client("application-autoscaling")
        with aws_errors("set the scalable target's minimum and maximum"):
            client.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=rid,
                ScalableDimension=DIMENSION,
                MinCapacity=min_capacity,
                MaxCapacity=max_capacity,
            )

    def policies(self, rid: str) -> list[ScalingPolicy]:
        client = self._aws.client("application-autoscaling")
        with aws_errors("read the scaling policies"):
            pages = client.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIMENSION
            )
            return [_policy(raw) for page in pages for raw in page.get("ScalingPolicies", [])]

    def alarms(self, names: list[str]) -> list[Alarm]:
        client = self._aws.client("cloudwatch")
        with aws_errors("read the CloudWatch alarms"):
            pages = client.get_paginator("describe_alarms").paginate(AlarmNames=names)
            return [_alarm(raw) for page in pages for raw in page.get("MetricAlarms", [])]

    def activities(self, rid: str, limit: int = 5) -> list[Activity]:
        """The target's newest scaling activities, newest first (not-scaled ones too)."""
        client = self._aws.client("application-autoscaling")
        with aws_errors("read the scaling activities"):
            response = client.describe_scaling_activities(
                ServiceNamespace="ecs",
                ResourceId=rid,
                ScalableDimension=DIMENSION,
                MaxResults=limit,
                IncludeNotScaledActivities=True,
            )
        return [_activity(raw) for raw in response.get("ScalingActivities", [])]

    def metric_values(
        self, alarm: Alarm, start: datetime, end: datetime, period: int
    ) -> list[tuple[datetime, float]]:
        """The alarm's metric with its statistic per `period` seconds, oldest first."""
        client = self._aws.client("cloudwatch")
        query = {
            "Id": "m",
            "MetricStat": {
                "Metric": {
                    "Namespace": alarm.namespace,
                    "MetricName": alarm.metric,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in alarm.dimensions],
                },
                "Period": period,
                "Stat": alarm.statistic,
            },
        }
        with aws_errors(f"read the metric {alarm.metric}"):
            response = client.get_metric_data(
                MetricDataQueries=[query], StartTime=start, EndTime=end, ScanBy="TimestampAscending"
            )
        results = response.get("MetricDataResults", [{}])
        result = results[0] if results else {}
        pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
        return sorted((t, float(v)) for t, v in pairs)


def _policy(raw: dict[str, Any]) -> ScalingPolicy:
    config = raw.get("StepScalingPolicyConfiguration", {})
    return ScalingPolicy(
        name=str(raw.get("PolicyName", "")),
        arn=str(raw.get("PolicyARN", "")),
        policy_type=str(raw.get("PolicyType", "")),
        adjustments=tuple(
            int(step.get("ScalingAdjustment", 0)) for step in config.get("StepAdjustments", [])
        ),
    )


def _alarm(raw: dict[str, Any]) -> Alarm:
    return Alarm(
        name=str(raw.get("AlarmName", "")),
        state=str(raw.get("StateValue", "")),
        state_reason=str(raw.get("StateReason", "")),
        actions=tuple(str(a) for a in raw.get("AlarmActions", [])),
        metric=str(raw.get("MetricName", "")),
        comparison=str(raw.get("ComparisonOperator", "")),
        threshold=float(raw.get("Threshold", 0.0)),
        namespace=str(raw.get("Namespace", "")),
        dimensions=tuple((str(d["Name"]), str(d["Value"])) for d in raw.get("Dimensions", [])),
        statistic=str(raw.get("Statistic") or "Average"),
        period=int(raw.get("Period") or 60),
        state_updated=raw.get("StateUpdatedTimestamp"),
    )


def _activity(raw: dict[str, Any]) -> Activity:
    return Activity(
        start=raw.get("StartTime"),
        status=str(raw.get("StatusCode", "")),
        description=str(raw.get("Description", "")),
        cause=str(raw.get("Cause", "")),
        message=str(raw.get("StatusMessage", "")),
        not_scaled=tuple(str(r.get("Code", "")) for r in raw.get("NotScaledReasons", [])),
    )
