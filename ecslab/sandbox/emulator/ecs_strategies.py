"""The scheduler's blue/green, canary and linear deployments, and every service deployment's
history as ListServiceDeployments / DescribeServiceDeployments show it.

A service whose deploymentConfiguration.strategy is BLUE_GREEN, CANARY or LINEAR (and
that already completed a deployment: the first one has no traffic to shift) is deployed
here, not by the rolling update in ecs_scheduler. The new (green) tasks start in full,
in the load balancer's alternateTargetGroupArn, with no production traffic; once all are
healthy the production share moves to them by weight (all at once, canaryPercent then the
rest after canaryBakeTimeInMinutes, or stepPercent more every stepBakeTimeInMinutes), the
old (blue) tasks keep running through bakeTimeInMinutes, then stop. The share becomes
HAProxy server weights (`weights`, applied by ecs_targets.sync_haproxy). A deployment
alarm (deploymentConfiguration.alarms) in ALARM from the production shift to the end of
the bake rolls back: all traffic back to blue, green stopped, ROLLBACK_SUCCESSFUL, the
alarm named in the service's events and in the failure reason other areas read. Green
tasks that fail their health checks trip the circuit breaker before any production
traffic moves. Test traffic (the test listener rule) is not routed: TEST_TRAFFIC_SHIFT
passes at once. Lifecycle hooks are not run.

Every deployment, rolling ones included, gets a `ServiceDeployment` with AWS's statuses
and lifecycle stages. Minutes are the sandbox's: divided by its time scale.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecslab.aws.ecs import LIFECYCLE_STAGES
from ecslab.sandbox.emulator.ecs_model import DeploymentRecord, TaskRecord, stamp
from ecslab.sandbox.emulator.ecs_targets import DEFAULT_WEIGHT

if TYPE_CHECKING:
    from ecslab.sandbox.emulator.ecs_scheduler import Scheduler, ServiceRuntime

SHIFTING = ("BLUE_GREEN", "CANARY", "LINEAR")
ACCOUNT = "123456789012"  # moto's default account, which fake keys map to
# Part of the reason of every deployment that rolls back (ecs_model.messages).
ROLLBACK_MARK = "rolling back to deploymentId"
BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
WEIGHT_MAX = 256  # HAProxy's largest server weight
STAGES = LIFECYCLE_STAGES  # the order ECS passes them (aws/ecs.py)
WATCHED = ("PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME")
ENDED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


@dataclass
class ServiceDeployment:
    """One service deployment, with the fields DescribeServiceDeployments returns."""

    arn: str
    service_arn: str
    cluster_arn: str
    deployment_id: str  # the ecs-svc/... deployment it drives
    target_task_definition: str
    source_task_definitions: list[str]
    configuration: dict[str, Any]
    strategy: str
    created_at: float
    status: str = "IN_PROGRESS"
    status_reason: str | None = None
    stage: str = "RECONCILE_SERVICE"
    stage_since: float = 0.0
    percent: float = 0.0  # production traffic on the target revision
    finished_at: float | None = None
    updated_at: float = 0.0
    rollback: dict[str, Any] | None = None
    triggered_alarms: list[str] = field(default_factory=list)
    shifting: bool = False  # traffic shifted by this module (else the rolling update's)
    rollback_deployment: str | None = None  # the ecs-svc/... deployment that undoes it

    def revision_arn(self, task_definition: str) -> str:
        """A service revision's ARN (one per task definition the service ran)."""
        cluster_service = self.service_arn.split(":service/", 1)[-1]
        suffix = task_definition.rsplit(":", 1)[-1] if ":" in task_definition else "1"
        base = self.service_arn.split(":service/", 1)[0]
        return f"{base}:service-revision/{cluster_service}/{suffix}"

    def brief(self) -> dict[str, Any]:
        found = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": stamp(self.created_at),
            "startedAt": stamp(self.created_at),
            "finishedAt": stamp(self.finished_at) if self.finished_at else None,
            "targetServiceRevisionArn": self.revision_arn(self.target_task_definition),
            "status": self.status,
            "statusReason": self.status_reason,
        }
        return {k: v for k, v in found.items() if v is not None}

    def described(self, counts: dict[str, tuple[int, int]], desired: int) -> dict[str, Any]:
        """The ServiceDeployment shape; `counts`: (running, pending) per task definition."""
        source = self.source_task_definitions[0] if self.source_task_definitions else None
        weight = self.percent if self.status == "IN_PROGRESS" else None
        found: dict[str, Any] = {
            **self.brief(),
            "updatedAt": stamp(self.updated_at),
            "sourceServiceRevisions": (
                [self._revision(source, counts, desired, None if weight is None else 100 - weight)]
                if source
                else []
            ),
            "targetServiceRevision": self._revision(
                self.target_task_definition, counts, desired, weight
            ),
            "deploymentConfiguration": self.configuration,
        }
        if self.shifting and self.status == "IN_PROGRESS":
            found["lifecycleStage"] = self.stage
        if self.status == "STOPPED":
            found["stoppedAt"] = found.get("finishedAt")
        if self.rollback is not None:
            found["rollback"] = self.rollback
        alarms = self.configuration.get("alarms") or {}
        if alarms.get("alarmNames"):
            found["alarms"] = {
                "status": "TRIGGERED" if self.triggered_alarms else "MONITORING",
                "alarmNames": list(alarms["alarmNames"]),
                "triggeredAlarmNames": list(self.triggered_alarms),
            }
        return found

    def _revision(
        self,
        task_definition: str,
        counts: dict[str, tuple[int, int]],
        desired: int,
        weight: float | None,
    ) -> dict[str, Any]:
        running, pending = counts.get(task_definition, (0, 0))
        found: dict[str, Any] = {
            "arn": self.revision_arn(task_definition),
            "requestedTaskCount": desired,
            "runningTaskCount": running,
            "pendingTaskCount": pending,
        }
        if weight is not None and self.shifting:
            found["requestedProductionTrafficWeight"] = float(weight)
        return found


@dataclass
class ServiceShifts:
    """What this module keeps for one service."""

    deployments: list[ServiceDeployment] = field(default_factory=list)  # newest first
    production_group: str | None = None  # the target group holding production traffic

    def of(self, deployment_id: str) -> ServiceDeployment | None:
        """The service deployment that `deployment_id` carries out (or rolls back)."""
        return next(
            (
                d
                for d in self.deployments
                if deployment_id in (d.deployment_id, d.rollback_deployment)
            ),
            None,
        )


def shifts(runtime: ServiceRuntime) -> ServiceShifts:
    if runtime.shifts is None:
        runtime.shifts = ServiceShifts()
    found: ServiceShifts = runtime.shifts
    return found


# -- the scheduler's hooks ------------------------------------------------------------------


def deploy(scheduler: Scheduler, service: Any, runtime: ServiceRuntime, now: float) -> bool:
    """Drive the primary deployment if it shifts traffic (True), else leave it to the
    rolling update (False). Every deployment's history is kept up to date here."""
    primary = runtime.deployments[0]
    state = shifts(runtime)
    record = state.of(primary.id) or _record(scheduler, service, runtime, primary, now)
    _follow_outcomes(state, service, runtime, now)
    if not (record.shifting and record.status == "IN_PROGRESS"):
        return False
    if record.deployment_id == primary.id:
        _advance(scheduler, service, runtime, primary, record, now)
    return True


def target_group(runtime: ServiceRuntime, task: TaskRecord, balancer: dict[str, Any]) -> str:
    """The target group `task` registers in: the alternate one for a shifting deployment's
    new tasks, else the one holding production traffic."""
    configured = str(balancer.get("targetGroupArn", ""))
    alternate = str(
        (balancer.get("advancedConfiguration") or {}).get("alternateTargetGroupArn", "")
    )
    state = shifts(runtime)
    production = state.production_group or configured
    record = state.of(task.deployment_id)
    if alternate and record is not None and record.shifting and record.status == "IN_PROGRESS":
        return alternate if production == configured else configured
    return production


def weights(scheduler: Scheduler, ready: set[str]) -> dict[str, int]:
    """HAProxy weight of every task ARN whose service is shifting traffic (`ready`: the
    task ARNs HAProxy may route to): the production share split over each side's tasks."""
    found: dict[str, int] = {}
    for runtime in scheduler.services.values():
        record = next(iter(shifts(runtime).deployments), None) if runtime.shifts else None
        if record is None or not record.shifting:
            continue
        live = [t for t in runtime.tasks.values() if t.task_arn in ready]
        green = [t.task_arn for t in live if t.deployment_id == record.deployment_id]
        blue = [t.task_arn for t in live if t.deployment_id != record.deployment_id]
        percent = record.percent if record.status == "IN_PROGRESS" else 0.0
        if record.status == "SUCCESSFUL":
            percent = 100.0
        found.update(split(green, blue, percent))
    return found


def split(green: list[str], blue: list[str], percent: float) -> dict[str, int]:
    """Weights giving `green` tasks `percent` of the requests and `blue` the rest, each
    side's share spread evenly over its tasks (HAProxy weights are 0-256)."""
    shares = {
        **{arn: percent / len(green) for arn in green},
        **{arn: (100.0 - percent) / len(blue) for arn in blue},
    }
    top = max(shares.values(), default=0.0)
    if top <= 0:
        return {arn: DEFAULT_WEIGHT for arn in shares}
    return {arn: round(WEIGHT_MAX * share / top) for arn, share in shares.items()}


# -- the deployment's stages ----------------------------------------------------------------


def _record(
    scheduler: Scheduler,
    service: Any,
    runtime: ServiceRuntime,
    primary: DeploymentRecord,
    now: float,
) -> ServiceDeployment:
    """The service deployment of a new primary deployment; a rollback deployment is part of
    the service deployment it undoes, as on AWS (its `rollback` field)."""
    state = shifts(runtime)
    rollback = ROLLBACK_MARK in primary.rollout_state_reason
    if rollback:
        undone = next(
            (
                d
                for d in state.deployments
                if d.status in ("IN_PROGRESS", "ROLLBACK_IN_PROGRESS")
                and d.rollback_deployment is None
            ),
            None,
        )
        if undone is not None:
            if undone.status == "IN_PROGRESS":  # the circuit breaker's rollback
                _start_rollback(undone, now, BREAKER_REASON)
            undone.rollback_deployment = primary.id
            return undone
    config = dict(getattr(service, "deployment_configuration", None) or {})
    strategy = str(config.get("strategy") or "ROLLING")
    region, short = scheduler.context.region, uuid.uuid4().hex[:20]
    record = ServiceDeployment(
        arn=f"arn:aws:ecs:{region}:{ACCOUNT}:service-deployment/"
        f"{service.cluster_name}/{service.name}/{short}",
        service_arn=str(service.arn),
        cluster_arn=str(service.cluster_arn),
        deployment_id=primary.id,
        target_task_definition=primary.task_definition,
        source_task_definitions=[runtime.last_completed] if runtime.last_completed else [],
        configuration=config,
        strategy=strategy,
        created_at=now,
        stage_since=now,
        updated_at=now,
        # the first deployment has no traffic to shift: its tasks simply start
        shifting=strategy in SHIFTING and runtime.last_completed is not None and not rollback,
    )
    state.deployments.insert(0, record)
    return record


def _follow_outcomes(
    state: ServiceShifts, service: Any, runtime: ServiceRuntime, now: float
) -> None:
    """Statuses that follow the scheduler's deployments: completed, failed, replaced."""
    by_id = {d.id: d for d in runtime.deployments}
    for record in state.deployments:
        if record.status in ENDED:
            continue
        if record.rollback_deployment is not None:
            undo = by_id.get(record.rollback_deployment)
            if undo is None or undo.rollout_state == "COMPLETED":
                _end(record, "ROLLBACK_SUCCESSFUL", now)
            elif undo.rollout_state == "FAILED":
                _end(record, "ROLLBACK_FAILED", now)
            continue
        mine = by_id.get(record.deployment_id)
        if record.status == "ROLLBACK_IN_PROGRESS":
            continue  # its rollback deployment is on its way
        if mine is None:
            _end(record, "STOPPED", now, "a newer deployment replaced it")
        elif mine.rollout_state == "FAILED":
            _breaker_tripped(record, service, now)
        elif mine.status != "PRIMARY":
            _end(record, "STOPPED", now, "a newer deployment replaced it")
        elif mine.rollout_state == "COMPLETED" and not record.shifting:
            _end(record, "SUCCESSFUL", now)


def _breaker_tripped(record: ServiceDeployment, service: Any, now: float) -> None:
    config = getattr(service, "deployment_configuration", None) or {}
    breaker = config.get("deploymentCircuitBreaker") or {}
    if breaker.get("rollback") and record.source_task_definitions:
        _start_rollback(record, now, BREAKER_REASON)
    else:
        _end(record, "STOPPED", now, BREAKER_REASON)


def _end(record: ServiceDeployment, status: str, now: float, reason: str | None = None) -> None:
    record.status, record.finished_at, record.updated_at = status, now, now
    if reason:
        record.status_reason = reason


def _start_rollback(record: ServiceDeployment, now: float, reason: str) -> None:
    record.status, record.status_reason, record.updated_at = "ROLLBACK_IN_PROGRESS", reason, now
    record.percent = 0.0
    source = record.source_task_definitions[0] if record.source_task_definitions else ""
    record.rollback = {
        "reason": reason,
        "startedAt": stamp(now),
        "serviceRevisionArn": record.revision_arn(source),
    }


def _advance(
    scheduler: Scheduler,
    service: Any,
    runtime: ServiceRuntime,
    primary: DeploymentRecord,
    record: ServiceDeployment,
    now: float,
) -> None:
    if record.stage in WATCHED and _alarm_rollback(scheduler, service, runtime, record, now):
        return
    if record.stage != "CLEAN_UP":
        scheduler._check_breaker(service, runtime, primary, now)
        if runtime.deployments[0] is not primary:  # the breaker rolled it back
            return
        _keep_green(scheduler, service, runtime, primary, now)
    if _stage_done(scheduler, service, runtime, primary, record, now):
        _next_stage(record, now)


def _keep_green(
    scheduler: Scheduler,
    service: Any,
    runtime: ServiceRuntime,
    primary: DeploymentRecord,
    now: float,
) -> None:
    """The new tasks in full: launched up to desiredCount, extra ones stopped."""
    desired = int(service.desired_count)
    mine = [t for t in runtime.tasks.values() if t.live and t.deployment_id == primary.id]
    if len(mine) < desired and primary.rollout_state != "FAILED":
        scheduler._launch(service, runtime, primary, desired - len(mine), now)
    for task in mine[desired:]:
        scheduler._stop_for_scheduler(runtime, task, primary, now)


def _stage_done(
    scheduler: Scheduler,
    service: Any,
    runtime: ServiceRuntime,
    primary: DeploymentRecord,
    record: ServiceDeployment,
    now: float,
) -> bool:
    """Whether `record`'s stage has done its work (and waited what it must)."""
    minutes = 60.0 / scheduler.scale  # real seconds per sandbox minute
    waited = now - record.stage_since
    if record.stage == "SCALE_UP":
        mine = [t for t in runtime.tasks.values() if t.deployment_id == primary.id]
        healthy = [t for t in mine if scheduler._task_healthy(service, t)]
        return len(healthy) >= int(service.desired_count)
    if record.stage == "PRODUCTION_TRAFFIC_SHIFT":
        return _shift(record, waited, minutes, now)
    if record.stage == "BAKE_TIME":
        return waited >= float(record.configuration.get("bakeTimeInMinutes") or 0) * minutes
    if record.stage == "CLEAN_UP":
        return _clean_up(scheduler, runtime, primary, record, now)
    return True


def _shift(record: ServiceDeployment, waited: float, minutes: float, now: float) -> bool:
    """Move production traffic one step when its wait is over; True at 100 %."""
    config = record.configuration
    if record.strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        step, wait = float(canary.get("canaryPercent", 10)), canary.get("canaryBakeTimeInMinutes")
    elif record.strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step, wait = float(linear.get("stepPercent", 10)), linear.get("stepBakeTimeInMinutes")
    else:
        step, wait = 100.0, 0
    if record.percent == 0.0:
        record.percent, record.stage_since, record.updated_at = min(step, 100.0), now, now
    elif waited >= float(wait or 0) * minutes and record.percent < 100.0:
        following = 100.0 if record.strategy == "CANARY" else record.percent + step
        record.percent, record.stage_since, record.updated_at = min(following, 100.0), now, now
    return record.percent >= 100.0


def _clean_up(
    scheduler: Scheduler,
    runtime: ServiceRuntime,
    primary: DeploymentRecord,
    record: ServiceDeployment,
    now: float,
) -> bool:
    """Stop the old tasks; done once they are stopped, and green holds production."""
    old = [t for t in runtime.tasks.values() if t.deployment_id != primary.id]
    for task in old:
        if task.live:
            scheduler._stop_for_scheduler(runtime, task, primary, now)
    if any(t.last_status != "STOPPED" for t in old):
        return False
    state = shifts(runtime)
    state.production_group = _green_group(scheduler, runtime, primary) or state.production_group
    _end(record, "SUCCESSFUL", now)
    return True


def _green_group(scheduler: Scheduler, runtime: ServiceRuntime, primary: DeploymentRecord) -> str:
    mine = {t.task_arn for t in runtime.tasks.values() if t.deployment_id == primary.id}
    return next((t.group_arn for t in scheduler.targets.values() if t.task_arn in mine), "")


def _next_stage(record: ServiceDeployment, now: float) -> None:
    if record.status != "IN_PROGRESS":
        return
    index = STAGES.index(record.stage)
    if index + 1 < len(STAGES):
        record.stage, record.stage_since, record.updated_at = STAGES[index + 1], now, now


def _alarm_rollback(
    scheduler: Scheduler,
    service: Any,
    runtime: ServiceRuntime,
    record: ServiceDeployment,
    now: float,
) -> bool:
    """An alarm of the deployment in ALARM: roll back if asked to (True when it did)."""
    alarms = record.configuration.get("alarms") or {}
    if not alarms.get("enable"):
        return False
    firing = [n for n in alarms.get("alarmNames") or [] if _alarm_state(scheduler, n) == "ALARM"]
    if not firing:
        return False
    record.triggered_alarms = firing
    if not alarms.get("rollback"):
        return False
    reason = alarm_reason(firing)
    _start_rollback(record, now, reason)
    scheduler.roll_back(service, runtime, runtime.deployments[0], now, reason)
    return True


def alarm_reason(names: list[str]) -> str:
    """Why a deployment rolled back on alarms (the wording is the sandbox's: unverified)."""
    return f"CloudWatch alarm(s) {', '.join(names)} in ALARM during the deployment"


def _alarm_state(scheduler: Scheduler, name: str) -> str | None:
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[ACCOUNT][scheduler.context.region]
    alarm = backend.alarms.get(name)
    return None if alarm is None else str(alarm.state_value)
