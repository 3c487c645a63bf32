"""Emulator area: the ECS service scheduler, run inside the sandbox's moto server.

A control loop that does for every ECS service in moto what ECS does: it keeps the
service's desiredCount tasks of its task definition running as Docker containers (see
ecs_containers), registers each in the service's target group, health-checks it with the
group's settings and drives the sandbox's HAProxy to match (ecs_targets), replaces a task
whose container exits or fails its checks, rolls a new task definition in within
maximumPercent / minimumHealthyPercent, trips the deployment circuit breaker and rolls
back, and shows all of it through moto's ECS and ELBv2 APIs with AWS's states, fields and
words (ecs_model, ecs_moto). Other areas ask `service_outcome` and
`service_failure_reason` whether a service is stable or failed.

Why not Docker swarm mode: swarm keeps replicas and rolls updates, but its tasks are not
ECS tasks (no task ARN, PROVISIONING..STOPPED states, stop codes, target registration or
circuit breaker with ECS's threshold), and with host ports start-first updates collide
on the port a predecessor still holds, so maximumPercent 200 cannot be expressed. The
scheduler would have to translate every swarm state back into ECS terms; running the
containers directly keeps one source for each task's state.

Time: the loop ticks every TICK real seconds; health-check intervals, the deregistration
delay and the grace period are divided by the sandbox's time scale.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ecslab.core.naming import awslogs_stream
from ecslab.sandbox.emulator import ecs_containers as containers
from ecslab.sandbox.emulator import ecs_moto, ecs_strategies
from ecslab.sandbox.emulator.ecs_model import (
    CONTAINER_HEALTH_FAILED,
    ESSENTIAL_EXITED,
    MAX_EVENTS,
    OOM_REASON,
    DeploymentRecord,
    TaskRecord,
    breaker_threshold,
    messages,
    new_deployment_id,
    stamp,
)
from ecslab.sandbox.emulator.ecs_standalone import RunRequest, Standalone
from ecslab.sandbox.emulator.ecs_targets import CheckSettings, Target, probe, sync_haproxy
from ecslab.sandbox.haproxy import Runtime, socket_path
from ecslab.sandbox.ports import free_port

if TYPE_CHECKING:
    import docker

    from ecslab.sandbox.emulator import EmulatorContext

Outcome = Literal["stable", "in-progress", "failed"]
TICK = 0.5  # real seconds between passes of the loop
ACCOUNT = "123456789012"  # moto's default account, which fake keys map to
STOP_TIMEOUT = 30  # ECS's default stopTimeout, in sandbox seconds
ECR_HOST = ".dkr.ecr."
REMOVE_AFTER = 30.0  # real seconds a stopped task's container is kept
_SCHEDULER: list[Scheduler] = []


def start(context: EmulatorContext) -> Callable[[], None]:
    """The area's entry point (see ecslab.sandbox.emulator)."""
    if context.docker_host is None:
        print("ecs_scheduler: no Docker engine given: ECS services run no tasks", file=sys.stderr)
        return ecs_moto.install(None)
    import docker

    client = docker.DockerClient(base_url=context.docker_host, timeout=120)
    scheduler = Scheduler(client, context)
    undo = ecs_moto.install(scheduler)
    ecs_moto.answer_at(lambda: _haproxy_address(context))
    _SCHEDULER[:] = [scheduler]
    scheduler.start()

    def stop() -> None:
        scheduler.stop()
        undo()
        ecs_moto.answer_at(None)
        _SCHEDULER.clear()
        client.close()

    return stop


# The area's patches with idle handlers (see ecslab.sandbox.emulator), as `start` installs them.
build_patches = ecs_moto.build_area


def _haproxy_address(context: EmulatorContext) -> str | None:
    """127.0.0.1:PORT of the sandbox's HAProxy, from its state file (None in bare tests)."""
    from ecslab.sandbox.state import load_state

    state = load_state(context.state_dir) if context.state_dir else None
    return f"127.0.0.1:{state.lb_port}" if state is not None else None


def service_outcome(cluster_arn_or_name: str, service_name: str) -> Outcome | None:
    """Whether the service is stable, still rolling, or failed (its breaker tripped);
    None when no scheduler runs or it does not know the service."""
    runtime = _find(cluster_arn_or_name, service_name)
    return None if runtime is None else runtime.outcome()


def service_failure_reason(cluster_arn_or_name: str, service_name: str) -> str | None:
    """Why the service's latest deployment failed (stopped reason and last log lines)."""
    runtime = _find(cluster_arn_or_name, service_name)
    return None if runtime is None else runtime.failure_reason


def _find(cluster: str, service: str) -> ServiceRuntime | None:
    if not _SCHEDULER:
        return None
    name = cluster.rsplit("/", 1)[-1]
    with _SCHEDULER[0].lock:
        return _SCHEDULER[0].services.get((name, service.rsplit("/", 1)[-1]))


@dataclass
class ServiceRuntime:
    """What the scheduler keeps for one service."""

    cluster: str
    name: str
    owner: Any = None  # moto's Service object this runtime belongs to
    deployments: list[DeploymentRecord] = field(default_factory=list)
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    last_completed: str | None = None  # task definition of the last COMPLETED deployment
    last_completed_id: str | None = None
    failure_reason: str | None = None
    last_failure: str | None = None  # the latest failed task's cause, for failure_reason
    steady: bool = False
    force_new: bool = False
    shifts: Any = None  # ecs_strategies' history and traffic state of the service

    def outcome(self) -> Outcome:
        if self.failure_reason is not None:
            return "failed"
        primary = self.deployments[0] if self.deployments else None
        if self.steady and primary is not None and primary.rollout_state == "COMPLETED":
            return "stable"
        return "in-progress"

    def event(self, now: float, message: str) -> None:
        self.events.insert(
            0, {"id": str(uuid.uuid4()), "createdAt": stamp(now), "message": message}
        )
        del self.events[MAX_EVENTS:]


class Scheduler:
    """The loop. Its lock guards every record it shares with moto's request threads."""

    def __init__(
        self,
        client: docker.DockerClient,
        context: EmulatorContext,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.context = context
        self.scale = max(context.time_scale, 0.01)
        self.clock = clock
        self.lock = threading.RLock()
        self.services: dict[tuple[str, str], ServiceRuntime] = {}
        self.targets: dict[tuple[str, int], Target] = {}
        self.dead: set[str] = set()  # task ARNs whose container is gone
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecs-scheduler", daemon=True)
        self._warned: set[str] = set()
        self._removals: list[tuple[float, str]] = []
        self.standalone = Standalone(self)  # RunTask's tasks (ecs_standalone)

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        containers.remove_all(self.client, self.context.state_dir)  # a previous moto's
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        containers.remove_all(self.client, self.context.state_dir)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # one bad pass must not end the loop; say why once
                self._warn(f"scheduler pass failed: {exc!r}")
            self._stop.wait(TICK)

    def _warn(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            print(f"ecs_scheduler: {text}", file=sys.stderr, flush=True)

    # -- moto's view --------------------------------------------------------------------

    def backend(self) -> Any:
        from moto.ecs.models import ecs_backends

        return ecs_backends[ACCOUNT][self.context.region]

    def elbv2(self) -> Any:
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[ACCOUNT][self.context.region]

    def tick(self) -> None:
        with self.lock:
            self.standalone.tick(self.clock())
        backend = self.backend()
        seen: set[tuple[str, str]] = set()
        for service in list(backend.services.values()):
            key = (service.cluster_name, service.name)
            seen.add(key)
            with self.lock:
                runtime = self.services.get(key)
                if runtime is not None and runtime.owner is not service:  # recreated
                    self._forget(key)
                    runtime = None
                if runtime is None:
                    runtime = self.services[key] = ServiceRuntime(*key, owner=service)
            self.reconcile(backend, service, runtime)
        for key in [k for k in self.services if k not in seen]:
            self._forget(key)
        self._check_targets()
        self._sync_haproxy()
        with self.lock:
            self._remove_old_containers(self.clock())

    def reconcile(self, backend: Any, service: Any, runtime: ServiceRuntime) -> None:
        now = self.clock()
        with self.lock:
            self._observe_tasks(runtime, now)
            if service.status != "ACTIVE":
                self._scale_in_all(runtime, now)
            else:
                self._follow_task_definition(backend, service, runtime, now)
                self._replace_unhealthy(service, runtime, now)
                self._deploy(service, runtime, now)
            self._advance_stops(runtime, now)
            self._settle(service, runtime, now)
            self.publish(service, runtime)

    # -- tasks from Docker ----------------------------------------------------------------

    def _observe_tasks(self, runtime: ServiceRuntime, now: float) -> None:
        for task in runtime.tasks.values():
            if (
                task.runtime_id is None
                or task.last_status == "STOPPED"
                or task.exit_code is not None
            ):
                continue
            seen = containers.observe(self.client, task.runtime_id)
            task.container_health = task.health_status = seen.health
            if seen.running:
                continue
            task.exit_code = seen.exit_code
            task.container_reason = OOM_REASON if seen.oom_killed else (seen.error or None)
            task.execution_stopped_at = stamp(now)
            self.dead.add(task.task_arn)
            self._fail_task(runtime, task, now, "EssentialContainerExited", ESSENTIAL_EXITED)

    def _fail_task(
        self, runtime: ServiceRuntime, task: TaskRecord, now: float, code: str, reason: str
    ) -> None:
        """Stop `task` for a failure, counting it against its deployment's breaker."""
        was_live = task.live
        task.ask_stop(now, code, reason)
        deployment = self._deployment(runtime, task.deployment_id)
        if was_live and deployment is not None and not task.counted_failure:
            task.counted_failure = True
            if not deployment.healthy_once and deployment.rollout_state == "IN_PROGRESS":
                deployment.failed_tasks += 1
                runtime.last_failure = self._cause(task)

    def _cause(self, task: TaskRecord) -> str:
        parts = [f"task {task.id} stopped: {task.stopped_reason}"]
        if task.exit_code is not None:
            parts.append(f"exit code {task.exit_code}")
        if task.container_reason:
            parts.append(task.container_reason)
        lines = self._last_log_lines(task)
        text = "; ".join(parts)
        return text + ("\nlast log lines:\n" + lines if lines else "")

    def _last_log_lines(self, task: TaskRecord, count: int = 10) -> str:
        if task.runtime_id is None:
            return ""
        try:
            raw: bytes = self.client.containers.get(task.runtime_id).logs(tail=count)
        except Exception:  # the container is gone: no lines to show
            return ""
        return raw.decode(errors="replace").strip()

    @staticmethod
    def _deployment(runtime: ServiceRuntime, deployment_id: str) -> DeploymentRecord | None:
        return next((d for d in runtime.deployments if d.id == deployment_id), None)

    # -- deployments --------------------------------------------------------------------

    def _follow_task_definition(
        self, backend: Any, service: Any, runtime: ServiceRuntime, now: float
    ) -> None:
        """A new deployment when the service's task definition changed (or was forced)."""
        wanted = self._task_definition_arn(backend, service.task_definition)
        service.task_definition = wanted  # moto's CloudFormation may leave a family name
        primary = runtime.deployments[0] if runtime.deployments else None
        if primary is not None and primary.task_definition == wanted and not runtime.force_new:
            primary.desired_count = service.desired_count
            return
        if (
            primary is not None
            and primary.rollout_state == "FAILED"
            and primary.task_definition == wanted
        ):
            return
        runtime.force_new = False
        self._new_deployment(runtime, wanted, service.desired_count, now)
        runtime.failure_reason = None

    @staticmethod
    def _task_definition_arn(backend: Any, reference: str | None) -> str:
        if not reference:
            return ""
        try:
            return str(backend.describe_task_definition(reference).arn)
        except Exception:  # deregistered or unknown: keep what the service names
            return reference

    def _new_deployment(
        self, runtime: ServiceRuntime, task_definition: str, desired: int, now: float
    ) -> DeploymentRecord:
        for old in runtime.deployments:
            if old.status == "PRIMARY":
                old.status = "ACTIVE"
                old.updated_at = now
        deployment = DeploymentRecord(
            new_deployment_id(), task_definition, now, desired, updated_at=now
        )
        deployment.rollout_state_reason = messages.in_progress(deployment.id)
        runtime.deployments.insert(0, deployment)
        runtime.steady = False
        return deployment

    def _deploy(self, service: Any, runtime: ServiceRuntime, now: float) -> None:
        primary = runtime.deployments[0] if runtime.deployments else None
        if primary is None:
            return
        # HOOK (ecs_strategies): blue/green, canary and linear deployments are driven there
        if ecs_strategies.deploy(self, service, runtime, now):
            return
        self._check_breaker(service, runtime, primary, now)
        primary = runtime.deployments[0]
        desired = int(service.desired_count)
        config = getattr(service, "deployment_configuration", None) or {}
        max_total = math.floor(desired * int(config.get("maximumPercent", 200)) / 100)
        min_healthy = math.ceil(desired * int(config.get("minimumHealthyPercent", 100)) / 100)
        live = [t for t in runtime.tasks.values() if t.live]
        mine = [t for t in live if t.deployment_id == primary.id]
        old = [t for t in live if t.deployment_id != primary.id]
        if primary.rollout_state != "FAILED":
            room = min(desired - len(mine), max(max_total, 1) - len(live))
            if room > 0:
                self._launch(service, runtime, primary, room, now)
                live = [t for t in runtime.tasks.values() if t.live]
        healthy = [t for t in live if self._task_healthy(service, t)]
        spare = len(healthy) - min_healthy
        stoppable = sorted(old, key=lambda t: self._task_healthy(service, t))
        for task in stoppable:
            if not self._task_healthy(service, task):
                self._stop_for_scheduler(runtime, task, primary, now)
            elif spare > 0:
                spare -= 1
                self._stop_for_scheduler(runtime, task, primary, now)
        extra = len(mine) - desired
        for task in sorted(mine, key=lambda t: self._task_healthy(service, t))[: max(extra, 0)]:
            self._stop_for_scheduler(runtime, task, primary, now)

    def _task_healthy(self, service: Any, task: TaskRecord) -> bool:
        if task.last_status != "RUNNING" or not task.live:
            return False
        if task.has_health_check and task.container_health != "HEALTHY":
            return False
        targets = [t for t in self.targets.values() if t.task_arn == task.task_arn]
        if getattr(service, "load_balancers", None):
            return bool(targets) and all(t.healthy for t in targets)
        return True

    def _check_breaker(
        self, service: Any, runtime: ServiceRuntime, primary: DeploymentRecord, now: float
    ) -> None:
        deployment_config = getattr(service, "deployment_configuration", None) or {}
        config = deployment_config.get("deploymentCircuitBreaker") or {}
        if not config.get("enable") or primary.rollout_state != "IN_PROGRESS":
            return
        if primary.failed_tasks < breaker_threshold(int(service.desired_count), config):
            return
        primary.rollout_state = "FAILED"
        primary.rollout_state_reason = messages.BREAKER_FAILED
        primary.updated_at = now
        runtime.event(now, messages.failed(service.name, primary.id))
        cause = runtime.last_failure or "tasks failed to start"
        runtime.failure_reason = f"{messages.failed(service.name, primary.id)}\n{cause}"
        if config.get("rollback"):
            self._roll_back_to_completed(service, runtime, now, messages.rollback_reason)

    def _roll_back_to_completed(
        self,
        service: Any,
        runtime: ServiceRuntime,
        now: float,
        reason: Callable[[str], str],
    ) -> None:
        """A new deployment of the last completed task definition, keeping its live tasks."""
        if not (runtime.last_completed and runtime.last_completed_id):
            return
        rollback = self._new_deployment(
            runtime, runtime.last_completed, int(service.desired_count), now
        )
        rollback.rollout_state_reason = reason(runtime.last_completed_id)
        self._adopt(runtime, rollback)
        service.task_definition = runtime.last_completed
        runtime.event(now, messages.rolling_back(service.name, runtime.last_completed_id))

    def roll_back(
        self,
        service: Any,
        runtime: ServiceRuntime,
        primary: DeploymentRecord,
        now: float,
        why: str,
    ) -> None:
        """Fail `primary` for `why` (a deployment alarm) and roll back to the last completed
        deployment: its tasks keep running, the failed deployment's stop."""
        primary.rollout_state = "FAILED"
        primary.rollout_state_reason = why
        primary.updated_at = now
        runtime.event(now, messages.alarm_failed(service.name, primary.id, why))
        runtime.failure_reason = f"{messages.alarm_failed(service.name, primary.id, why)}"
        self._roll_back_to_completed(
            service, runtime, now, lambda good: messages.alarm_rollback_reason(why, good)
        )
        for task in runtime.tasks.values():
            if task.live and task.deployment_id == primary.id:
                self._stop_for_scheduler(runtime, task, primary, now)

    @staticmethod
    def _adopt(runtime: ServiceRuntime, rollback: DeploymentRecord) -> None:
        """The rollback deployment keeps the live tasks that already run its task
        definition: rolling back replaces the failed tasks, not the good ones."""
        for task in runtime.tasks.values():
            same = task.task_definition_arn == rollback.task_definition
            if task.live and same:
                task.deployment_id = rollback.id

    def _replace_unhealthy(self, service: Any, runtime: ServiceRuntime, now: float) -> None:
        grace = float(getattr(service, "health_check_grace_period_seconds", None) or 0) / self.scale
        for task in runtime.tasks.values():
            if not task.live or task.last_status != "RUNNING" or task.started_at is None:
                continue
            in_grace = now < task.started_at.timestamp() + grace
            if task.container_health == "UNHEALTHY" and not in_grace:
                runtime.event(now, messages.container_unhealthy(service.name, task.id))
                self._fail_task(
                    runtime, task, now, "ServiceSchedulerInitiated", CONTAINER_HEALTH_FAILED
                )
                continue
            for target in self.targets.values():
                if (
                    target.task_arn == task.task_arn
                    and target.state[0] == "unhealthy"
                    and not in_grace
                ):
                    runtime.event(
                        now,
                        messages.unhealthy(
                            service.name,
                            task.id,
                            target.port,
                            target.group_arn,
                            target.last_failure,
                        ),
                    )
                    self._fail_task(
                        runtime,
                        task,
                        now,
                        "ServiceSchedulerInitiated",
                        messages.elb_failed(target.group_arn),
                    )
                    break

    def _stop_for_scheduler(
        self, runtime: ServiceRuntime, task: TaskRecord, primary: DeploymentRecord, now: float
    ) -> None:
        task.ask_stop(now, "ServiceSchedulerInitiated", messages.scaling(primary.id))

    def _scale_in_all(self, runtime: ServiceRuntime, now: float) -> None:
        for task in runtime.tasks.values():
            task.ask_stop(now, "ServiceSchedulerInitiated", "Service deleted")

    # -- launching ----------------------------------------------------------------------

    def _launch(
        self,
        service: Any,
        runtime: ServiceRuntime,
        deployment: DeploymentRecord,
        count: int,
        now: float,
    ) -> None:
        backend = self.backend()
        definition = backend.describe_task_definition(deployment.task_definition)
        container = self._essential(definition)
        started: list[str] = []
        for _ in range(count):
            task = self._task_record(service, deployment, definition, container, now)
            runtime.tasks[task.task_arn] = task
            backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
            started.append(task.id)
            threading.Thread(
                target=self._start_task, args=(service, runtime, task, container), daemon=True
            ).start()
        runtime.event(now, messages.started(service.name, started))

    @staticmethod
    def _essential(definition: Any) -> dict[str, Any]:
        defs: list[dict[str, Any]] = list(definition.container_definitions)
        return next((c for c in defs if c.get("essential", True)), defs[0])

    def _task_record(
        self,
        service: Any,
        deployment: DeploymentRecord,
        definition: Any,
        container: dict[str, Any],
        now: float,
    ) -> TaskRecord:
        task_id = uuid.uuid4().hex
        arn = f"arn:aws:ecs:{self.context.region}:{ACCOUNT}:task/{service.cluster_name}/{task_id}"
        cpu = str(getattr(definition, "cpu", None) or container.get("cpu") or 256)
        memory = str(getattr(definition, "memory", None) or container.get("memory") or 512)
        return TaskRecord(
            task_arn=arn,
            cluster_arn=service.cluster_arn,
            cluster_name=service.cluster_name,
            service_name=service.name,
            task_definition_arn=deployment.task_definition,
            deployment_id=deployment.id,
            cpu=cpu,
            memory=memory,
            container_name=str(container.get("name", "")),
            image=str(container.get("image", "")),
            created_at=stamp(now),
            region=self.context.region,
            availability_zone=f"{self.context.region}a",
            platform_version=str(getattr(service, "platform_version", None) or "1.4.0").replace(
                "LATEST", "1.4.0"
            ),
            port=free_port(),
        )

    def _start_task(
        self, service: Any, runtime: ServiceRuntime, task: TaskRecord, container: dict[str, Any]
    ) -> None:
        """PROVISIONING -> PENDING (pull) -> RUNNING, on a thread of its own."""
        import docker.errors

        with self.lock:
            task.move("PENDING")
            task.pull_started_at = stamp(self.clock())
        try:
            started = self.pull_and_run(task, container)
        except docker.errors.DockerException as exc:
            with self.lock:
                reason = (
                    f"CannotPullContainerError: {exc}"
                    if task.pull_stopped_at is None
                    else f"ResourceInitializationError: {exc}"
                )
                self._fail_task(runtime, task, self.clock(), "TaskFailedToStart", reason)
            return
        with self.lock:
            now = self.clock()
            task.runtime_id = str(started.id)
            task.has_health_check = bool((container.get("healthCheck") or {}).get("command"))
            task.connectivity, task.connectivity_at = "CONNECTED", stamp(now)
            task.started_at = stamp(now)
            task.move("RUNNING")
            self._ship_logs(task, container)
            self._register(service, runtime, task, now)

    def pull_and_run(self, task: TaskRecord, container: dict[str, Any]) -> Any:
        """Pull the task's image (its pull stopped then), then run its container held to
        the task's size; Docker's errors are the caller's to turn into a stop reason."""
        image = self._pullable(task.image)
        digest = containers.pull(self.client, image)
        with self.lock:
            task.pull_stopped_at = stamp(self.clock())
            task.image_digest = digest
        launch = containers.Launch(
            task.task_arn,
            task.id,
            task.cluster_name,
            task.service_name,
            container,
            int(task.cpu),
            int(task.memory),
            task.port,
            self._container_port(container),
            image,
            self.scale,
        )
        return containers.run(self.client, launch, self.context.state_dir)

    def _pullable(self, image: str) -> str:
        """ECR references point at the sandbox's registry (ECR's data plane)."""
        host, _, rest = image.partition("/")
        if ECR_HOST not in host or self.context.state_dir is None:
            return image
        from ecslab.sandbox.state import load_state

        state = load_state(self.context.state_dir)
        return f"{state.registry}/{rest}" if state is not None else image

    @staticmethod
    def _container_port(container: dict[str, Any]) -> int | None:
        for mapping in container.get("portMappings", []):
            if mapping.get("containerPort"):
                return int(mapping["containerPort"])
        return None

    def _ship_logs(self, task: TaskRecord, container: dict[str, Any]) -> None:
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        group = options.get("awslogs-group")
        if config.get("logDriver") != "awslogs" or not group or task.runtime_id is None:
            return
        from moto.logs.models import logs_backends

        prefix = options.get("awslogs-stream-prefix")
        stream = awslogs_stream(prefix, task.container_name, task.id) if prefix else task.runtime_id
        logs = logs_backends[ACCOUNT][options.get("awslogs-region") or self.context.region]
        try:
            if (
                group not in logs.groups
                and str(options.get("awslogs-create-group")).lower() == "true"
            ):
                logs.create_log_group(group, {})
            logs.create_log_stream(group, stream)
        except Exception as exc:  # the group is missing: AWS logs nothing either
            self._warn(f"no log stream {group}/{stream}: {exc!r}")
            return

        def put(events: list[dict[str, Any]]) -> None:
            with contextlib.suppress(Exception):
                logs.put_log_events(group, stream, events)

        containers.ship_logs(self.client, task.runtime_id, put)

    # -- targets ------------------------------------------------------------------------

    def _register(
        self, service: Any, runtime: ServiceRuntime, task: TaskRecord, now: float
    ) -> None:
        elbv2 = self.elbv2()
        for balancer in getattr(service, "load_balancers", None) or []:
            # HOOK (ecs_strategies): a shifting deployment's tasks go to the alternate group
            arn = ecs_strategies.target_group(runtime, task, balancer)
            group = elbv2.target_groups.get(arn) if arn else None
            if group is None:
                continue
            elbv2.register_targets(arn, [{"Id": "127.0.0.1", "Port": task.port}])
            settings = CheckSettings.of(group, self.scale)
            self.targets[(arn, task.port)] = Target(arn, task.port, task.task_arn, settings, now)
            runtime.event(now, messages.registered(service.name, 1, arn))

    def _deregister(self, runtime: ServiceRuntime, task: TaskRecord, now: float) -> bool:
        """Start draining the task's targets; True once none is left."""
        mine = [t for t in self.targets.values() if t.task_arn == task.task_arn]
        started = [t for t in mine if t.drain_until is None]
        for target in started:
            target.deregister(now)
            runtime.event(now, messages.deregistered(runtime.name, 1, target.group_arn))
        if started:
            runtime.event(now, messages.draining(runtime.name, task.deployment_id, 1))
        return not mine

    def _check_targets(self) -> None:
        now = self.clock()
        with self.lock:
            due = [t for t in self.targets.values() if t.due(now) and t.task_arn not in self.dead]
            gone = [
                t
                for t in self.targets.values()
                if t.drain_until is not None and now >= t.drain_until
            ]
            for target in gone:
                self.targets.pop((target.group_arn, target.port), None)
                with contextlib.suppress(Exception):
                    self.elbv2().deregister_targets(
                        target.group_arn, [{"Id": "127.0.0.1", "Port": target.port}]
                    )
            for target in [
                t
                for t in self.targets.values()
                if t.task_arn in self.dead and t.drain_until is None
            ]:
                target.state = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
        for target in due:
            outcome = probe(target.port, target.settings)
            with self.lock:
                target.record(self.clock(), outcome)

    def target_health(
        self, group_arn: str, target_id: str, port: int
    ) -> tuple[str, str | None, str | None] | None:
        with self.lock:
            target = self.targets.get((group_arn, port))
            return None if target is None else target.state

    def _sync_haproxy(self) -> None:
        if self.context.state_dir is None:
            return
        path = socket_path(self.context.state_dir)
        if not path.exists():
            return
        with self.lock:
            targets = list(self.targets.values())
            dead = set(self.dead)
            ready = {t.task_arn for t in targets if t.healthy and t.drain_until is None}
            # HOOK (ecs_strategies): the production share of shifting deployments, as weights
            weights = ecs_strategies.weights(self, ready - dead)
        try:
            sync_haproxy(Runtime(path), targets, dead, weights)
        except OSError as exc:
            self._warn(f"HAProxy's runtime API at {path} does not answer: {exc}")

    # -- stopping -----------------------------------------------------------------------

    def _advance_stops(self, runtime: ServiceRuntime, now: float) -> None:
        stopped: list[str] = []
        for task in runtime.tasks.values():
            if task.desired_status != "STOPPED" or task.last_status == "STOPPED":
                continue
            if task.last_status in ("PROVISIONING", "PENDING") and task.runtime_id is None:
                if task.stop_code == "TaskFailedToStart":
                    self._finish(task, now)
                continue  # its start thread is still pulling: stop once it runs
            if task.last_status == "RUNNING":
                task.move("DEACTIVATING")
            if task.last_status == "DEACTIVATING":
                if task.task_arn in self.dead:
                    self._deregister(runtime, task, now)
                    task.move("STOPPING")
                elif self._deregister(runtime, task, now):
                    task.move("STOPPING")
                    threading.Thread(target=self._stop_container, args=(task,), daemon=True).start()
            if task.last_status == "STOPPING" and task.exit_code is not None:
                task.move("DEPROVISIONING")
            if task.last_status == "DEPROVISIONING":
                self._finish(task, now)
                if task.stop_code == "ServiceSchedulerInitiated":
                    stopped.append(task.id)
        if stopped:
            runtime.event(now, messages.stopped(runtime.name, stopped))

    def _stop_container(self, task: TaskRecord) -> None:
        if task.runtime_id is None:
            return
        containers.stop(self.client, task.runtime_id, int(STOP_TIMEOUT / self.scale) or 1)
        seen = containers.observe(self.client, task.runtime_id)
        with self.lock:
            task.exit_code = seen.exit_code if seen.exit_code is not None else 0
            task.execution_stopped_at = stamp(self.clock())

    def _finish(self, task: TaskRecord, now: float) -> None:
        task.move("STOPPED")
        task.stopped_at = stamp(now)
        task.execution_stopped_at = task.execution_stopped_at or stamp(now)
        task.connectivity = "DISCONNECTED"
        task.health_status = "UNKNOWN"
        containers.remove_secrets(self.context.state_dir, task.id)
        if task.runtime_id:  # kept a while: its last lines may still be on their way to Logs
            self._removals.append((now + REMOVE_AFTER, task.runtime_id))

    def _remove_old_containers(self, now: float) -> None:
        due = [c for when, c in self._removals if when <= now]
        self._removals = [(when, c) for when, c in self._removals if when > now]
        for container_id in due:
            containers.remove(self.client, container_id)

    def stop_task(self, cluster: str, task_ref: str, reason: str) -> TaskRecord | None:
        """StopTask on a scheduler task: desiredStatus STOPPED now, the rest as ECS does."""
        task_id = task_ref.rsplit("/", 1)[-1]
        with self.lock:
            for runtime in self.services.values():
                for task in runtime.tasks.values():
                    if task.id == task_id:
                        task.ask_stop(
                            self.clock(), "UserInitiated", reason or "Task stopped by user"
                        )
                        return task
            return self.standalone.stop_task(task_id, reason)

    def run_task(self, backend: Any, request: RunRequest) -> list[TaskRecord] | None:
        """RunTask (FARGATE): standalone tasks, run as containers (ecs_standalone)."""
        return self.standalone.run(backend, request)

    # -- the service as the API shows it ----------------------------------------------

    def _settle(self, service: Any, runtime: ServiceRuntime, now: float) -> None:
        """Completed deployments, dropped replaced ones, the steady-state event."""
        primary = runtime.deployments[0] if runtime.deployments else None
        if primary is None:
            return
        for old in runtime.deployments[1:]:
            if not any(
                t.deployment_id == old.id and t.last_status != "STOPPED"
                for t in runtime.tasks.values()
            ):
                runtime.deployments.remove(old)
        running = [t for t in runtime.tasks.values() if t.live and t.last_status == "RUNNING"]
        others = [
            t
            for t in runtime.tasks.values()
            if t.deployment_id != primary.id and t.last_status != "STOPPED"
        ]
        healthy = [
            t for t in running if t.deployment_id == primary.id and self._task_healthy(service, t)
        ]
        done = len(healthy) == len(running) == int(service.desired_count) and not others
        if primary.rollout_state == "IN_PROGRESS" and done:
            primary.rollout_state = "COMPLETED"
            if ecs_strategies.ROLLBACK_MARK not in primary.rollout_state_reason:
                # a rollback keeps saying it was one: the learner's deploy did not land
                primary.rollout_state_reason = messages.rollout_completed(primary.id)
            primary.updated_at = now
            runtime.last_completed, runtime.last_completed_id = primary.task_definition, primary.id
            runtime.event(now, messages.completed(service.name, primary.id))
        if healthy:
            primary.healthy_once = True
        steady = done and len(runtime.deployments) == 1
        if steady and not runtime.steady:
            runtime.event(now, messages.steady(service.name))
        runtime.steady = steady

    def publish(self, service: Any, runtime: ServiceRuntime) -> None:
        """Write the derived state onto moto's Service object, which the API serializes."""
        live = [t for t in runtime.tasks.values() if t.last_status != "STOPPED"]

        def counts(tasks: list[TaskRecord]) -> tuple[int, int]:
            running = sum(1 for t in tasks if t.last_status == "RUNNING")
            pending = sum(
                1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING")
            )
            return running, pending

        service.running_count, service.pending_count = counts(live)
        service.deployments = [
            d.as_dict(service, *counts([t for t in live if t.deployment_id == d.id]))
            for d in runtime.deployments
        ]
        service.events = list(runtime.events)

    def service_updated(self, service: Any, force_new_deployment: bool) -> None:
        """UpdateService went through moto: as on AWS, its answer (and every read after it)
        already shows the new PRIMARY deployment; the counts stay those of real tasks."""
        with self.lock:
            key = (service.cluster_name, service.name)
            runtime = self.services.setdefault(key, ServiceRuntime(*key, owner=service))
            runtime.force_new = runtime.force_new or force_new_deployment
            if service.status == "ACTIVE":
                self._follow_task_definition(self.backend(), service, runtime, self.clock())
            self.publish(service, runtime)

    def _forget(self, key: tuple[str, str]) -> None:
        """A service moto no longer has (deleted, or moto reset): its containers go."""
        with self.lock:
            runtime = self.services.pop(key)
            for task in runtime.tasks.values():
                for target in [t for t in self.targets.values() if t.task_arn == task.task_arn]:
                    self.targets.pop((target.group_arn, target.port), None)
                if task.runtime_id:
                    containers.remove(self.client, task.runtime_id)
                containers.remove_secrets(self.context.state_dir, task.id)
