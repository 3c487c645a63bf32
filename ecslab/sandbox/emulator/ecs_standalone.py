"""Standalone ECS tasks (RunTask, FARGATE) run by the scheduler as Docker containers.

RunTask's tasks belong to no service: each is one container of the task definition's
essential container, with the task's size (`overrides.cpu/memory` over the definition's),
the container override's command and environment, on a loopback port of its own, its
output shipped to the definition's awslogs group and `prefix/container/task-id` stream.
They go through ECS's lifecycle, one step per scheduler pass (each status lasts at least
STEP seconds; pulling and stopping the container as long as they take):

    PROVISIONING -> PENDING (pull) -> ACTIVATING -> RUNNING -> DEACTIVATING -> STOPPING
    -> DEPROVISIONING -> STOPPED

An exited essential container stops its task (stopCode EssentialContainerExited, reason
"Essential container in task exited", the container's exitCode); StopTask stops it with
UserInitiated and the reason given; an image that cannot be pulled ends it with
TaskFailedToStart and a CannotPullContainerError reason, no exit code. Their group is
`family:NAME` unless RunTask names one; ListTasks and DescribeTasks find them as moto's
own. The containers carry the sandbox's labels, so stopping the sandbox removes them.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecslab.sandbox.emulator import ecs_containers as containers
from ecslab.sandbox.emulator.ecs_model import ESSENTIAL_EXITED, OOM_REASON, TaskRecord, stamp
from ecslab.sandbox.ports import free_port

if TYPE_CHECKING:
    from ecslab.sandbox.emulator.ecs_scheduler import Scheduler

MAX_COUNT = 10  # RunTask's count: 1..10
STEP = 0.5  # real seconds a task stays in each status at least (one scheduler pass)
AWSVPC_NEEDED = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
STOPPED_BY_USER = "Task stopped by user"
NO_INSTANCES = "No Container Instances were found in your cluster."


@dataclass(frozen=True)
class RunRequest:
    """RunTask's parameters, as the request gave them."""

    cluster: str
    task_definition: str
    count: int
    launch_type: str | None
    capacity_providers: tuple[str, ...]
    overrides: dict[str, Any]
    started_by: str | None
    group: str | None
    network: dict[str, Any]
    platform_version: str | None
    tags: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, get: Callable[[str], Any]) -> RunRequest:
        strategy = get("capacityProviderStrategy") or []
        return cls(
            cluster=str(get("cluster") or "default"),
            task_definition=str(get("taskDefinition") or ""),
            count=int(get("count") or 1),
            launch_type=get("launchType"),
            capacity_providers=tuple(str(s.get("capacityProvider")) for s in strategy),
            overrides=dict(get("overrides") or {}),
            started_by=get("startedBy"),
            group=get("group"),
            network=dict(get("networkConfiguration") or {}),
            platform_version=get("platformVersion"),
            tags=list(get("tags") or []),
        )

    def fargate_on(self, cluster: Any) -> bool:
        """Whether the task runs on Fargate: its launch type, else its capacity provider
        strategy, else the cluster's default strategy says so."""
        if self.launch_type:
            return self.launch_type == "FARGATE"
        strategy = self.capacity_providers or tuple(
            str(s.get("capacityProvider"))
            for s in getattr(cluster, "default_capacity_provider_strategy", None) or []
        )
        return bool(strategy) and strategy[0] in ("FARGATE", "FARGATE_SPOT")


def overridden(container: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The container definition with its containerOverrides entry applied."""
    name = container.get("name")
    entries: list[dict[str, Any]] = list(overrides.get("containerOverrides") or [])
    mine: dict[str, Any] = next((o for o in entries if o.get("name") == name), {})
    result = dict(container)
    if mine.get("command"):
        result["command"] = [str(part) for part in mine["command"]]
    if mine.get("environment"):
        env = {str(e["name"]): str(e.get("value", "")) for e in container.get("environment", [])}
        env.update({str(e["name"]): str(e.get("value", "")) for e in mine["environment"]})
        result["environment"] = [{"name": k, "value": v} for k, v in env.items()]
    for key in ("cpu", "memory", "memoryReservation"):
        if mine.get(key) is not None:
            result[key] = mine[key]
    return result


class Standalone:
    """The scheduler's standalone tasks; every record is guarded by the scheduler's lock."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.tasks: dict[str, tuple[TaskRecord, dict[str, Any]]] = {}
        self.starting: set[str] = set()  # tasks whose start thread runs
        self.since: dict[str, float] = {}  # when each task entered its status

    # -- RunTask ------------------------------------------------------------------------

    def run(self, backend: Any, request: RunRequest) -> list[TaskRecord] | None:
        """The new tasks; None for an EC2 task on a cluster with container instances
        (moto's own RunTask places those)."""
        from moto.ecs.exceptions import InvalidParameterException

        if not 1 <= request.count <= MAX_COUNT:
            raise InvalidParameterException(f"count must be between 1 and {MAX_COUNT}.")
        cluster = backend._get_cluster(request.cluster)
        if not request.fargate_on(cluster):
            if backend.container_instances.get(cluster.name):
                return None
            raise InvalidParameterException(NO_INSTANCES)
        definition = backend.describe_task_definition(request.task_definition)
        awsvpc = request.network.get("awsvpcConfiguration") or {}
        if getattr(definition, "network_mode", None) == "awsvpc" and not awsvpc.get("subnets"):
            raise InvalidParameterException(AWSVPC_NEEDED)
        container = overridden(self.scheduler._essential(definition), request.overrides)
        now = self.scheduler.clock()
        made = [
            self._record(cluster, definition, container, request, now) for _ in range(request.count)
        ]
        with self.scheduler.lock:
            for task in made:
                backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
                self.tasks[task.task_arn] = (task, container)
                self.since[task.task_arn] = now
        return made

    def _record(
        self,
        cluster: Any,
        definition: Any,
        container: dict[str, Any],
        request: RunRequest,
        now: float,
    ) -> TaskRecord:
        context = self.scheduler.context
        task_id = uuid.uuid4().hex
        account = cluster.arn.split(":")[4]
        arn = f"arn:aws:ecs:{context.region}:{account}:task/{cluster.name}/{task_id}"
        overrides = {"containerOverrides": [], **request.overrides}
        cpu = overrides.get("cpu") or getattr(definition, "cpu", None) or container.get("cpu")
        memory = overrides.get("memory") or getattr(definition, "memory", None)
        subnets = (request.network.get("awsvpcConfiguration") or {}).get("subnets") or []
        return TaskRecord(
            task_arn=arn,
            cluster_arn=cluster.arn,
            cluster_name=cluster.name,
            service_name="",
            task_definition_arn=str(definition.arn),
            deployment_id="",
            cpu=str(cpu or 256),
            memory=str(memory or container.get("memory") or 512),
            container_name=str(container.get("name", "")),
            image=str(container.get("image", "")),
            created_at=stamp(now),
            region=context.region,
            availability_zone=f"{context.region}a",
            platform_version=str(request.platform_version or "1.4.0").replace("LATEST", "1.4.0"),
            port=free_port(),
            overrides=overrides,
            tags=request.tags,
            group_name=request.group or f"family:{definition.family}",
            starter=request.started_by,
            subnet_id=str(subnets[0]) if subnets else "subnet-sandbox",
        )

    # -- StopTask -----------------------------------------------------------------------

    def stop_task(self, task_id: str, reason: str) -> TaskRecord | None:
        for task, _ in self.tasks.values():
            if task.id == task_id:
                task.ask_stop(self.scheduler.clock(), "UserInitiated", reason or STOPPED_BY_USER)
                return task
        return None

    # -- the lifecycle, one step per pass ---------------------------------------------

    def tick(self, now: float) -> None:
        """Move every standalone task one step on (called under the scheduler's lock); a
        task stays in each status for at least STEP seconds, so a client polling
        DescribeTasks sees every one."""
        for task, container in self.tasks.values():
            arn = task.task_arn
            if task.last_status == "STOPPED" or arn in self.starting:
                continue
            if now - self.since.get(arn, 0.0) < STEP:
                continue
            before = task.last_status
            self._step(task, container, now)
            if task.last_status != before:
                self.since[arn] = now

    def _step(self, task: TaskRecord, container: dict[str, Any], now: float) -> None:
        status, stopping = task.last_status, task.desired_status == "STOPPED"
        if status == "PROVISIONING" and stopping:
            task.move("DEPROVISIONING")
        elif status == "PROVISIONING":
            task.move("PENDING")
            task.pull_started_at = stamp(now)
            self.starting.add(task.task_arn)
            threading.Thread(target=self._start, args=(task, container), daemon=True).start()
        elif status == "PENDING" and task.runtime_id is not None:
            task.move("ACTIVATING")
        elif status == "ACTIVATING":
            task.started_at = stamp(now)
            task.move("RUNNING")
        elif status == "PENDING" and stopping:  # it failed to start
            task.move("DEPROVISIONING")
        elif status == "RUNNING" and not stopping:
            self._observe(task, now)
        elif stopping:
            self._stop_step(task, now)

    def _stop_step(self, task: TaskRecord, now: float) -> None:
        if task.last_status == "RUNNING":
            task.move("DEACTIVATING")
        elif task.last_status == "DEACTIVATING":
            task.move("STOPPING")
            if task.exit_code is None and task.runtime_id is not None:
                threading.Thread(
                    target=self.scheduler._stop_container, args=(task,), daemon=True
                ).start()
        elif task.last_status == "STOPPING" and (
            task.exit_code is not None or task.runtime_id is None
        ):
            task.move("DEPROVISIONING")
        elif task.last_status == "DEPROVISIONING":
            self.scheduler._finish(task, now)

    def _observe(self, task: TaskRecord, now: float) -> None:
        if task.runtime_id is None:
            return
        seen = containers.observe(self.scheduler.client, task.runtime_id)
        task.container_health = task.health_status = seen.health
        if seen.running:
            return
        task.exit_code = seen.exit_code
        task.container_reason = OOM_REASON if seen.oom_killed else (seen.error or None)
        task.execution_stopped_at = stamp(now)
        task.ask_stop(now, "EssentialContainerExited", ESSENTIAL_EXITED)

    def _start(self, task: TaskRecord, container: dict[str, Any]) -> None:
        """PENDING: pull, create, start, on a thread of its own (the pass moves it on)."""
        import docker.errors

        scheduler = self.scheduler
        try:
            started = self.scheduler.pull_and_run(task, container)
        except (docker.errors.DockerException, OSError) as exc:
            with scheduler.lock:
                pulled = task.pull_stopped_at is not None
                kind = "ResourceInitializationError" if pulled else "CannotPullContainerError"
                task.container_reason = f"{kind}: {exc}"
                task.ask_stop(scheduler.clock(), "TaskFailedToStart", task.container_reason)
                self.starting.discard(task.task_arn)
            return
        finally:
            self.starting.discard(task.task_arn)  # whatever else went wrong: not stuck
        with scheduler.lock:
            task.runtime_id = str(started.id)
            task.connectivity, task.connectivity_at = "CONNECTED", stamp(scheduler.clock())
            scheduler._ship_logs(task, container)
