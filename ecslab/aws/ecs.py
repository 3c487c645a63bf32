"""ECS: reading the service (deployments, counts, events), its service deployments (stage,
traffic split, alarms, rollback), its tasks and task definitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors

if TYPE_CHECKING:
    from ecslab.aws.session import Aws

_DESCRIBE_LIMIT = 100  # describe_tasks takes at most 100 ARNs
# ListServiceDeployments has no botocore paginator: pages of 20 (its default), at most
# this many read. A service with more history than that shows its newest ones.
_DEPLOYMENT_PAGES = 10
ENDED_STATUSES = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# ServiceDeploymentLifecycleStage, in the order a blue/green, canary or linear deployment
# passes them.
LIFECYCLE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)


@dataclass(frozen=True)
class ServiceDeployment:
    """One service deployment (ECS's deployment history): where it is and where traffic is."""

    arn: str
    status: str  # PENDING, IN_PROGRESS, SUCCESSFUL, ROLLBACK_SUCCESSFUL, ...
    status_reason: str
    stage: str  # lifecycleStage (blue/green, canary, linear), "" when ECS gives none
    created_at: datetime | None
    target_revision: str
    target_weight: float | None  # production traffic on the new revision, in percent
    alarms: tuple[str, ...]
    triggered_alarms: tuple[str, ...]
    rollback_reason: str

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


@dataclass(frozen=True)
class Deployment:
    """One deployment of a service (PRIMARY is the newest, ACTIVE ones are draining)."""

    id: str
    status: str
    task_definition: str
    desired: int
    running: int
    pending: int
    failed: int
    rollout_state: str
    rollout_reason: str
    created_at: datetime | None


@dataclass(frozen=True)
class ServiceEvent:
    id: str
    created_at: datetime | None
    message: str


@dataclass(frozen=True)
class Service:
    name: str
    arn: str
    status: str
    desired: int
    running: int
    pending: int
    task_definition: str
    deployments: tuple[Deployment, ...]
    events: tuple[ServiceEvent, ...]  # newest first, as ECS returns them
    target_group_arns: tuple[str, ...]

    @property
    def rolling_out(self) -> bool:
        """A deployment is still in progress (more than one, or the primary not COMPLETED)."""
        return any(d.rollout_state == "IN_PROGRESS" for d in self.deployments) or (
            len(self.deployments) > 1
        )


@dataclass(frozen=True)
class Container:
    name: str
    last_status: str
    exit_code: int | None
    reason: str
    image: str
    image_digest: str


@dataclass(frozen=True)
class Task:
    arn: str
    task_definition: str
    last_status: str
    stopped_reason: str
    stop_code: str
    stopped_at: datetime | None
    started_at: datetime | None
    containers: tuple[Container, ...]
    health: str = ""  # HEALTHY, UNHEALTHY, UNKNOWN

    @property
    def short_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


class Ecs:
    """Typed reads of one account's ECS."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("ecs")

    def describe_service(self, cluster: str, service: str) -> Service | None:
        """The service, or None when the cluster or the service does not exist (or is gone)."""
        with aws_errors(f"read ECS service {service}"):
            try:
                response = self._client.describe_services(cluster=cluster, services=[service])
            except self._client.exceptions.ClusterNotFoundException:
                return None
        for raw in response.get("services", []):
            if raw.get("status") != "INACTIVE":
                return _service(raw)
        return None

    def tasks(self, cluster: str, service: str, desired_status: str = "RUNNING") -> list[Task]:
        """The service's tasks with this desired status (STOPPED: the ones ECS still lists).

        ListTasks answers in pages of up to 100 ARNs and DescribeTasks takes 100 at a time,
        so a service with many tasks (or a busy hour of stopped ones) is read in full.
        """
        found: list[Task] = []
        with aws_errors(f"list the tasks of ECS service {service}"):
            pages = self._client.get_paginator("list_tasks").paginate(
                cluster=cluster, serviceName=service, desiredStatus=desired_status
            )
            arns = [arn for page in pages for arn in page.get("taskArns", [])]
            for start in range(0, len(arns), _DESCRIBE_LIMIT):
                response = self._client.describe_tasks(
                    cluster=cluster, tasks=arns[start : start + _DESCRIBE_LIMIT]
                )
                found.extend(_task(raw) for raw in response.get("tasks", []))
        return found

    def service_deployments(self, cluster: str, service: str) -> list[ServiceDeployment]:
        """The service's deployment history, newest first (ListServiceDeployments, paged
        and bounded, then DescribeServiceDeployments 20 at a time)."""
        arns: list[tuple[Any, str]] = []
        with aws_errors(f"list the deployments of ECS service {service}"):
            token: str | None = None
            for _ in range(_DEPLOYMENT_PAGES):
                extra = {"nextToken": token} if token else {}
                page = self._client.list_service_deployments(
                    cluster=cluster, service=service, **extra
                )
                arns.extend(
                    (b.get("createdAt"), b["serviceDeploymentArn"])
                    for b in page.get("serviceDeployments", [])
                )
                token = page.get("nextToken")
                if not token:
                    break
            newest = [arn for _, arn in sorted(arns, key=_newest_first)]
            found: list[ServiceDeployment] = []
            for start in range(0, len(newest), 20):
                answer = self._client.describe_service_deployments(
                    serviceDeploymentArns=newest[start : start + 20]
                )
                found.extend(_service_deployment(d) for d in answer.get("serviceDeployments", []))
        return sorted(found, key=lambda d: _newest_first((d.created_at, d.arn)))

    def container_image(self, task_definition: str, container: str) -> str | None:
        """The image reference a task definition gives `container`."""
        with aws_errors(f"read task definition {task_definition}"):
            response = self._client.describe_task_definition(taskDefinition=task_definition)
        for definition in response["taskDefinition"].get("containerDefinitions", []):
            if definition.get("name") == container:
                return str(definition.get("image", "")) or None
        return None


def _service(raw: dict[str, Any]) -> Service:
    return Service(
        name=raw["serviceName"],
        arn=raw.get("serviceArn", ""),
        status=raw.get("status", ""),
        desired=int(raw.get("desiredCount", 0)),
        running=int(raw.get("runningCount", 0)),
        pending=int(raw.get("pendingCount", 0)),
        task_definition=raw.get("taskDefinition", ""),
        deployments=tuple(_deployment(d) for d in raw.get("deployments", [])),
        events=tuple(
            ServiceEvent(e.get("id", ""), e.get("createdAt"), e.get("message", ""))
            for e in raw.get("events", [])
        ),
        target_group_arns=tuple(
            lb["targetGroupArn"] for lb in raw.get("loadBalancers", []) if lb.get("targetGroupArn")
        ),
    )


def _deployment(raw: dict[str, Any]) -> Deployment:
    return Deployment(
        id=raw.get("id", ""),
        status=raw.get("status", ""),
        task_definition=raw.get("taskDefinition", ""),
        desired=int(raw.get("desiredCount", 0)),
        running=int(raw.get("runningCount", 0)),
        pending=int(raw.get("pendingCount", 0)),
        failed=int(raw.get("failedTasks", 0)),
        rollout_state=raw.get("rolloutState", ""),
        rollout_reason=raw.get("rolloutStateReason", ""),
        created_at=raw.get("createdAt"),
    )


def _task(raw: dict[str, Any]) -> Task:
    return Task(
        arn=raw.get("taskArn", ""),
        task_definition=raw.get("taskDefinitionArn", ""),
        last_status=raw.get("lastStatus", ""),
        stopped_reason=raw.get("stoppedReason", ""),
        stop_code=raw.get("stopCode", ""),
        stopped_at=raw.get("stoppedAt"),
        started_at=raw.get("startedAt"),
        health=raw.get("healthStatus", ""),
        containers=tuple(
            Container(
                name=c.get("name", ""),
                last_status=c.get("lastStatus", ""),
                exit_code=c.get("exitCode"),
                reason=c.get("reason", ""),
                image=c.get("image", ""),
                image_digest=c.get("imageDigest", ""),
            )
            for c in raw.get("containers", [])
        ),
    )


def _newest_first(item: tuple[Any, str]) -> tuple[float, str]:
    created, arn = item
    return (-created.timestamp() if isinstance(created, datetime) else 0.0, arn)


def _service_deployment(raw: dict[str, Any]) -> ServiceDeployment:
    target = raw.get("targetServiceRevision") or {}
    alarms = raw.get("alarms") or {}
    weight = target.get("requestedProductionTrafficWeight")
    return ServiceDeployment(
        arn=raw.get("serviceDeploymentArn", ""),
        status=raw.get("status", ""),
        status_reason=raw.get("statusReason", ""),
        stage=raw.get("lifecycleStage", ""),
        created_at=raw.get("createdAt"),
        target_revision=target.get("arn", ""),
        target_weight=None if weight is None else float(weight),
        alarms=tuple(alarms.get("alarmNames") or ()),
        triggered_alarms=tuple(alarms.get("triggeredAlarmNames") or ()),
        rollback_reason=(raw.get("rollback") or {}).get("reason", ""),
    )
