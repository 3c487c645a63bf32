"""Emulator area: Application Auto Scaling step policies run when their alarm calls them.

moto stores scalable targets and step policies but never runs one, and has no
DescribeScalingActivities (HTTP 500). This area registers a handler for scaling-policy
ARNs (see `actions`): it finds the policy and its scalable target in moto, aggregates the
alarm's recent datapoints with the policy's MetricAggregationType, lets `step_rules.decide`
pick the step and apply the cooldown, clamp and suspension, sets the ECS service's
desiredCount through moto's ECS backend (the scheduler then starts or stops tasks), and
records the activity with AWS's Cause, Description and StatusMessage. It also answers
DescribeScalingActivities from that record, newest first, "not scaled" activities only
with IncludeNotScaledActivities, paged as `paging` pages (MaxResults up to 50; a token
it did not hand out: InvalidNextTokenException).

When the alarm's data carries no datapoints (`set-alarm-state` without
StateReasonData), the breach is taken as the threshold itself, so the step next to the
threshold runs: AWS's behaviour in that case is not documented (unverified).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.sandbox import moto_seam
from ecslab.sandbox.emulator import actions
from ecslab.sandbox.emulator.paging import BadToken, page_newest_first
from ecslab.sandbox.emulator.step_rules import (
    Cooldowns,
    Decision,
    ScalableTargetState,
    StepPolicy,
    aggregate,
    decide,
    start_cooldown,
)
from ecslab.sandbox.moto_seam import PatchSet

if TYPE_CHECKING:
    from ecslab.sandbox.emulator import EmulatorContext

MAX_ACTIVITIES = 500  # per region: AWS keeps six weeks; the sandbox keeps the newest
POLICY_MARKER = ":scalingPolicy:"


@dataclass
class Activity:
    """One scaling activity, as DescribeScalingActivities returns it."""

    resource_id: str
    cause: str
    description: str
    status_code: str
    status_message: str
    start: datetime
    not_scaled: list[dict[str, Any]] = field(default_factory=list)
    namespace: str = "ecs"
    dimension: str = "ecs:service:DesiredCount"
    activity_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def as_api(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ActivityId": self.activity_id,
            "ServiceNamespace": self.namespace,
            "ResourceId": self.resource_id,
            "ScalableDimension": self.dimension,
            "Description": self.description,
            "Cause": self.cause,
            "StartTime": self.start.timestamp(),
            "EndTime": self.start.timestamp(),
            "StatusCode": self.status_code,
            "StatusMessage": self.status_message,
        }
        if self.not_scaled:
            answer["NotScaledReasons"] = self.not_scaled
        return answer


class ScalingExecutor:
    """Runs step policies against moto's backends; keeps activities and cooldowns."""

    def __init__(self, time_scale: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.time_scale = time_scale
        self._clock = clock
        self._lock = threading.RLock()

    def activities(self, account_id: str, region: str) -> list[Activity]:
        """Newest first."""
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        with self._lock:
            return list(reversed(_kept(applicationautoscaling_backends[account_id][region]).log))

    def run_policy(self, arn: str, call: actions.AlarmCall) -> actions.ActionOutcome:
        with self._lock:
            try:
                return self._run(arn, call)
            except LookupError as exc:
                return actions.ActionOutcome(False, str(exc))

    def _run(self, arn: str, call: actions.AlarmCall) -> actions.ActionOutcome:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        backend = applicationautoscaling_backends[call.account_id][call.region]
        policy = next((p for p in backend.policies.values() if p.policy_arn == arn), None)
        if policy is None or policy.step_scaling_policy_configuration is None:
            raise LookupError(f"no step scaling policy {arn}")
        target = backend.targets.get(policy.scalable_dimension, {}).get(policy.resource_id)
        if target is None:
            raise LookupError(f"no scalable target {policy.resource_id}")
        rules = StepPolicy.from_configuration(
            policy.policy_name, policy.step_scaling_policy_configuration
        )
        current = _desired_count(call.account_id, call.region, policy.resource_id)
        values = [float(v) for v in call.reason_data.get("recentDatapoints", []) if v is not None]
        breach = aggregate(values, rules.aggregation)
        delta = 0.0 if breach is None else breach - call.threshold
        cooldowns = _kept(backend).cooldowns.setdefault(policy.resource_id, Cooldowns())
        now = self._clock()
        decision = decide(rules, _target(target), current, delta, cooldowns, now)
        cause = (
            f"monitor alarm {call.alarm_name} in state {call.state} "
            f"triggered policy {policy.policy_name}"
        )
        if decision.action == "scale":
            _set_desired_count(call.account_id, call.region, policy.resource_id, decision.capacity)
            start_cooldown(
                cooldowns, current, decision.capacity, rules.cooldown / self.time_scale, now
            )
        if decision.action != "none":
            self._record(call, policy.resource_id, cause, decision, current)
        return actions.ActionOutcome(True, "")

    def _record(
        self, call: actions.AlarmCall, rid: str, cause: str, decision: Decision, current: int
    ) -> None:
        start = datetime.fromtimestamp(self._clock(), tz=UTC)
        n = decision.capacity
        if decision.action == "scale":
            activity = Activity(
                rid,
                cause,
                f"Setting desired count to {n}.",
                "Successful",
                f"Successfully set desired count to {n}. Change successfully fulfilled by ecs.",
                start,
            )
        else:
            bound = "MaxCapacity" if decision.reason == "AlreadyAtMaxCapacity" else "MinCapacity"
            activity = Activity(
                rid,
                cause,
                "Attempting to scale due to alarm triggered",
                "Failed",
                f"Failed to set desired count to {n}",
                start,
                not_scaled=[{"Code": decision.reason, bound: n, "CurrentCapacity": current}],
            )
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        _kept(applicationautoscaling_backends[call.account_id][call.region]).log.append(activity)


@dataclass
class _Kept:
    """What the area keeps per moto backend, on the backend: moto's reset drops it too."""

    log: deque[Activity] = field(default_factory=lambda: deque(maxlen=MAX_ACTIVITIES))
    cooldowns: dict[str, Cooldowns] = field(default_factory=dict)


def _kept(backend: Any) -> _Kept:
    kept = getattr(backend, "_ecslab_scaling", None)
    if kept is None:
        kept = _Kept()
        backend._ecslab_scaling = kept
    return kept


def _target(raw: Any) -> ScalableTargetState:
    suspended = raw.suspended_state or {}
    if isinstance(suspended, str):
        suspended = json.loads(suspended) if suspended else {}
    return ScalableTargetState(
        min_capacity=int(raw.min_capacity or 0),
        max_capacity=int(raw.max_capacity or 0),
        scale_in_suspended=bool(suspended.get("DynamicScalingInSuspended")),
        scale_out_suspended=bool(suspended.get("DynamicScalingOutSuspended")),
    )


def _service_ref(resource_id: str) -> tuple[str, str]:
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service":
        raise LookupError(f"{resource_id} is not an ECS service resource id")
    return parts[1], parts[2]


def _desired_count(account_id: str, region: str, resource_id: str) -> int:
    from moto.ecs.models import ecs_backends

    cluster, name = _service_ref(resource_id)
    try:
        found, _ = ecs_backends[account_id][region].describe_services(cluster, [name])
    except Exception as exc:  # moto raises its own ClusterNotFoundException
        raise LookupError(f"no ECS cluster {cluster}") from exc
    if not found:
        raise LookupError(f"no ECS service {name} in cluster {cluster}")
    return int(found[0].desired_count)


def _set_desired_count(account_id: str, region: str, resource_id: str, count: int) -> None:
    from moto.ecs.models import ecs_backends

    cluster, name = _service_ref(resource_id)
    ecs_backends[account_id][region].update_service(
        {"cluster": cluster, "service": name, "desired_count": count}
    )


# -- DescribeScalingActivities --------------------------------------------------------------

ACTIVITIES_PAGE = 50  # DescribeScalingActivities' MaxResults at most


def build_patches(patches: PatchSet, executor: ScalingExecutor | None = None) -> None:
    """The area's patch, answering from `executor` (a new one when None)."""
    executor = executor or ScalingExecutor()
    patches.operation(
        "application-autoscaling",
        "DescribeScalingActivities",
        lambda original: describe_scaling_activities_method(executor),
        why="moto has no DescribeScalingActivities: answered from the area's activities",
    )


def describe_scaling_activities_method(executor: ScalingExecutor) -> Callable[[Any], str]:
    """A method for moto's ApplicationAutoScalingResponse answering the operation."""

    def describe_scaling_activities(self: Any) -> str:
        from moto.core.exceptions import JsonRESTError

        wanted = self._get_param("ResourceId")
        dimension = self._get_param("ScalableDimension")
        namespace = self._get_param("ServiceNamespace")
        include = bool(self._get_param("IncludeNotScaledActivities"))
        found = [
            a
            for a in executor.activities(self.current_account, self.region)
            if a.namespace == namespace
            and (not wanted or a.resource_id == wanted)
            and (not dimension or a.dimension == dimension)
            and (include or not a.not_scaled)
        ]
        token, size = self._get_param("NextToken"), self._get_param("MaxResults")
        try:
            # `activities` is newest first; the page's tokens count from the oldest end
            shown = page_newest_first(found[::-1], token, size, ACTIVITIES_PAGE)
        except BadToken:
            raise JsonRESTError("InvalidNextTokenException", "Invalid NextToken") from None
        answer: dict[str, Any] = {"ScalingActivities": [a.as_api() for a in shown.items]}
        if shown.next_token is not None:
            answer["NextToken"] = shown.next_token
        return json.dumps(answer)

    return describe_scaling_activities


def start(context: EmulatorContext) -> Callable[[], None]:
    executor = ScalingExecutor(context.time_scale)
    undo = moto_seam.install("scaling", lambda patches: build_patches(patches, executor))
    unregister = actions.register(POLICY_MARKER, executor.run_policy)
    print(
        f"scaling: step policies run on alarm actions (clock x{context.time_scale:g})",
        file=sys.stderr,
        flush=True,
    )

    def stop() -> None:
        unregister()
        undo()

    return stop
