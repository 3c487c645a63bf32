"""What the ECS scheduler knows: tasks, deployments and targets, shaped as ECS shows them.

A `TaskRecord` is put into moto's ECS backend in place of moto's own `Task`: moto's
serializer reads its snake_case attributes (`last_status` for `lastStatus`), its list and
describe calls find it where they find tasks, and its `advance()` does nothing, which
neutralises moto's state machine (that moves a task one step towards STOPPED on every
DescribeTasks). Deployments are kept here and written to moto's `Service.deployments` as
the dicts ECS returns. Every message a learner reads is written in `messages` below, once.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTIVE_STATUSES = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING")
ESSENTIAL_EXITED = "Essential container in task exited"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
CONTAINER_HEALTH_FAILED = "Task failed container health checks"
MAX_EVENTS = 100


def stamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def breaker_threshold(desired: int, config: dict[str, Any] | None) -> int:
    """Failed tasks that trip the circuit breaker (AWS: clamp(ceil(0.5*desired), 3, 200))."""
    threshold = (config or {}).get("thresholdConfiguration") or {}
    if threshold.get("type") == "COUNT":
        return max(1, int(threshold.get("value", 3)))
    percent = float(threshold.get("value", 50)) / 100
    return min(200, max(3, math.ceil(percent * desired)))


@dataclass
class TaskRecord:
    """One task of a service, with the fields DescribeTasks returns."""

    task_arn: str
    cluster_arn: str
    cluster_name: str
    service_name: str
    task_definition_arn: str
    deployment_id: str
    cpu: str
    memory: str
    container_name: str
    image: str
    created_at: datetime
    region: str
    availability_zone: str
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    health_status: str = "UNKNOWN"
    launch_type: str = "FARGATE"
    capacity_provider_name: str = "FARGATE"
    platform_version: str = "1.4.0"
    platform_family: str = "Linux"
    connectivity: str | None = None
    connectivity_at: datetime | None = None
    pull_started_at: datetime | None = None
    pull_stopped_at: datetime | None = None
    started_at: datetime | None = None
    stopping_at: datetime | None = None
    execution_stopped_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    version: int = 1
    image_digest: str | None = None
    runtime_id: str | None = None
    exit_code: int | None = None
    container_reason: str | None = None
    container_health: str = "UNKNOWN"
    port: int = 0
    attachment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    eni_id: str = field(default_factory=lambda: "eni-" + uuid.uuid4().hex[:17])
    # The scheduler's own bookkeeping (not part of the API).
    has_health_check: bool = False
    counted_failure: bool = False
    overrides: dict[str, Any] = field(default_factory=lambda: {"containerOverrides": []})
    tags: list[dict[str, str]] = field(default_factory=list)
    # A standalone task's (RunTask) group and startedBy; a service's task has neither.
    group_name: str = ""
    starter: str | None = None
    subnet_id: str = "subnet-sandbox"

    # -- what moto's backend reads -------------------------------------------------------

    @property
    def id(self) -> str:
        return self.task_arn.rsplit("/", 1)[-1]

    @property
    def group(self) -> str:
        return self.group_name or f"service:{self.service_name}"

    @property
    def started_by(self) -> str | None:
        return self.starter if self.group_name else self.deployment_id

    @property
    def container_instance_arn(self) -> None:
        return None

    def advance(self) -> None:
        """moto calls this on each DescribeTasks; the scheduler alone moves a task on."""

    @property
    def attachments(self) -> list[dict[str, Any]]:
        details = [
            ("subnetId", self.subnet_id),
            ("networkInterfaceId", self.eni_id),
            ("macAddress", "02:00:00:00:00:00"),
            ("privateDnsName", "localhost"),
            ("privateIPv4Address", "127.0.0.1"),
        ]
        return [
            {
                "id": self.attachment_id,
                "type": "ElasticNetworkInterface",
                "status": "DELETED" if self.last_status == "STOPPED" else "ATTACHED",
                "details": [{"name": n, "value": v} for n, v in details],
            }
        ]

    @property
    def containers(self) -> list[dict[str, Any]]:
        container: dict[str, Any] = {
            "containerArn": self.task_arn.replace(":task/", ":container/")
            + "/"
            + self.container_name,
            "taskArn": self.task_arn,
            "name": self.container_name,
            "image": self.image,
            "lastStatus": self._container_status(),
            "healthStatus": self.container_health,
            "cpu": self.cpu,
            "memory": self.memory,
            "networkBindings": [],
            "networkInterfaces": [
                {"attachmentId": self.attachment_id, "privateIpv4Address": "127.0.0.1"}
            ],
        }
        optional = {
            "imageDigest": self.image_digest,
            "runtimeId": self.runtime_id,
            "exitCode": self.exit_code,
            "reason": self.container_reason,
        }
        container.update({k: v for k, v in optional.items() if v is not None})
        return [container]

    def _container_status(self) -> str:
        if self.exit_code is not None or self.last_status == "STOPPED":
            return "STOPPED"
        return "RUNNING" if self.runtime_id else "PENDING"

    # -- transitions ---------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """Counts towards the service: not yet asked to stop."""
        return self.desired_status == "RUNNING"

    def move(self, status: str) -> None:
        if status != self.last_status:
            self.last_status = status
            self.version += 1

    def ask_stop(self, now: float, code: str, reason: str) -> None:
        if self.desired_status == "STOPPED":
            return
        self.desired_status = "STOPPED"
        self.stop_code, self.stopped_reason = code, reason
        self.stopping_at = stamp(now)
        self.version += 1


@dataclass
class DeploymentRecord:
    """One deployment of a service (ECS rolling update controller)."""

    id: str
    task_definition: str
    created_at: float
    desired_count: int
    status: str = "PRIMARY"
    rollout_state: str = "IN_PROGRESS"
    rollout_state_reason: str = ""
    updated_at: float = 0.0
    failed_tasks: int = 0
    healthy_once: bool = False  # a task ran healthy: the breaker stops counting

    def as_dict(self, service: Any, running: int, pending: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "taskDefinition": self.task_definition,
            "desiredCount": self.desired_count,
            "pendingCount": pending,
            "runningCount": running,
            "failedTasks": self.failed_tasks,
            "createdAt": stamp(self.created_at),
            "updatedAt": stamp(self.updated_at or self.created_at),
            "launchType": service.launch_type,
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "networkConfiguration": service.network_configuration or None,
            "rolloutState": self.rollout_state,
            "rolloutStateReason": self.rollout_state_reason,
        }


def new_deployment_id() -> str:
    return f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"


class messages:
    """ECS's service event and reason texts (AWS-SEMANTICS §1.3, §2.1, §2.3, §2.5)."""

    @staticmethod
    def started(service: str, task_ids: list[str], unhealthy: int = 0) -> str:
        listed = " ".join(f"(task {t})" for t in task_ids)
        text = f"(service {service}) has started {len(task_ids)} tasks: {listed}."
        if unhealthy:
            text += f" Amazon ECS replaced {unhealthy} tasks due to an unhealthy status."
        return text

    @staticmethod
    def stopped(service: str, task_ids: list[str]) -> str:
        listed = " ".join(f"(task {t})" for t in task_ids)
        return f"(service {service}) has stopped {len(task_ids)} running tasks: {listed}."

    @staticmethod
    def registered(service: str, count: int, target_group: str) -> str:
        return f"(service {service}) registered {count} targets in (target-group {target_group})"

    @staticmethod
    def deregistered(service: str, count: int, target_group: str) -> str:
        return f"(service {service}) deregistered {count} targets in (target-group {target_group})"

    @staticmethod
    def draining(service: str, deployment: str, count: int) -> str:
        return (
            f"(service {service}, taskSet {deployment}) has begun draining connections on "
            f"{count} tasks."
        )

    @staticmethod
    def unhealthy(service: str, task: str, port: int, target_group: str, why: str) -> str:
        return (
            f"(service {service}) (task {task}) (port {port}) is unhealthy in (target-group "
            f"{target_group}) due to (reason {why})."
        )

    @staticmethod
    def container_unhealthy(service: str, task: str) -> str:
        return f"(service {service}) (task {task}) failed container health checks."

    @staticmethod
    def steady(service: str) -> str:
        return f"(service {service}) has reached a steady state."

    @staticmethod
    def completed(service: str, deployment: str) -> str:
        return f"(service {service}) (deployment {deployment}) deployment completed."

    @staticmethod
    def failed(service: str, deployment: str) -> str:
        return (
            f"(service {service}) (deployment {deployment}) deployment failed: "
            "tasks failed to start."
        )

    @staticmethod
    def rolling_back(service: str, deployment: str) -> str:
        return f"(service {service}) rolling back to deployment {deployment}."

    @staticmethod
    def elb_failed(target_group: str) -> str:
        return f"Task failed ELB health checks in (target-group {target_group})"

    @staticmethod
    def scaling(deployment: str) -> str:
        return f"Scaling activity initiated by (deployment {deployment})"

    @staticmethod
    def in_progress(deployment: str) -> str:
        return f"ECS deployment {deployment} in progress."

    @staticmethod
    def rollout_completed(deployment: str) -> str:
        return f"ECS deployment {deployment} completed."

    BREAKER_PREFIX = "ECS deployment circuit breaker"
    BREAKER_FAILED = "ECS deployment circuit breaker: tasks failed to start."

    @staticmethod
    def alarm_failed(service: str, deployment: str, why: str) -> str:
        """The sandbox's wording (AWS's for an alarm rollback is unverified)."""
        return f"(service {service}) (deployment {deployment}) deployment failed: {why}."

    @staticmethod
    def alarm_rollback_reason(why: str, deployment: str) -> str:
        return f"ECS deployment alarms: {why}: rolling back to deploymentId {deployment}."

    @staticmethod
    def rollback_reason(deployment: str) -> str:
        return f"ECS deployment circuit breaker: rolling back to deploymentId {deployment}."
