"""ECS: the service (deployments, counts, events, network), its service deployments (stage,
traffic split, alarms, rollback), its tasks and task definitions; one-off tasks (RunTask,
StopTask) and ECS Exec sessions (ExecuteCommand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.errors import error_message
from ecslab.aws.session import aws_errors
from ecslab.core.errors import AwsError
from ecslab.core.naming import awslogs_stream

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
class ServiceNetwork:
    """A service's awsvpc configuration: where its tasks (and one-off tasks) run."""

    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: str  # ENABLED | DISABLED


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
    network: ServiceNetwork | None = None
    execute_command: bool = False  # enableExecuteCommand

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
    desired_status: str = ""

    @property
    def short_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)


@dataclass(frozen=True)
class ContainerDefinition:
    """What a task definition says of one container (the parts ecslab reads)."""

    name: str
    image: str
    essential: bool
    ports: tuple[int, ...]
    log_group: str  # awslogs-group ("" without the awslogs driver)
    log_prefix: str  # awslogs-stream-prefix
    secrets: tuple[str, ...]  # each secret's valueFrom


@dataclass(frozen=True)
class TaskDefinition:
    arn: str
    family: str
    revision: int
    cpu: str
    memory: str
    task_role_arn: str
    execution_role_arn: str
    cpu_architecture: str  # X86_64 | ARM64 ("" when the definition leaves it implicit)
    containers: tuple[ContainerDefinition, ...]

    def container_named(self, name: str) -> ContainerDefinition | None:
        return next((c for c in self.containers if c.name == name), None)

    def container(self, name: str | None = None) -> ContainerDefinition:
        """The container called `name`; without a name the first essential one."""
        for each in self.containers:
            if each.name == name or (name is None and each.essential):
                return each
        if name is None and self.containers:
            return self.containers[0]
        raise AwsError(f"task definition {self.arn} has no container {name or ''}".rstrip())


@dataclass(frozen=True)
class OneOffTask:
    """What RunTask is asked for: a task of a definition on the service's network, with
    the one container's command and environment overridden."""

    cluster: str
    task_definition: str
    network: ServiceNetwork
    container: str
    command: tuple[str, ...]
    environment: tuple[tuple[str, str], ...] = ()
    cpu: str | None = None  # task-level overrides, in the API's strings
    memory: str | None = None
    started_by: str = "ecslab run"
    execute_command: bool = False


class TaskNotStarted(AwsError):
    """RunTask answered with failures instead of a task (capacity, a bad ARN, access)."""


@dataclass(frozen=True)
class ExecSession:
    """ExecuteCommand's answer: what session-manager-plugin needs to open the shell."""

    session: dict[str, str]  # sessionId, streamUrl, tokenValue
    region: str
    target: str  # ecs:<cluster>_<task id>_<runtime id>, the SSM target


@dataclass(frozen=True)
class AwsLogs:
    """Where the awslogs log driver sends one container's output."""

    group: str
    stream_prefix: str
    container: str

    def stream(self, task_id: str) -> str:
        """The log stream of this container in the task `task_id`."""
        return awslogs_stream(self.stream_prefix, self.container, task_id)


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
        definition = self.task_definition(task_definition)
        found = definition.container_named(container) if definition else None
        return found.image or None if found else None

    def awslogs(self, task_definition: str) -> AwsLogs | None:
        """Where the task definition's first container logs, if through awslogs with a
        stream prefix (the only way its streams have names one can derive)."""
        definition = self.task_definition(task_definition)
        if definition is None or not definition.containers:
            return None
        first = definition.containers[0]
        if not (first.log_group and first.log_prefix):
            return None
        return AwsLogs(first.log_group, first.log_prefix, first.name)

    def task_definition(self, reference: str) -> TaskDefinition | None:
        """A task definition by family, family:revision or ARN; None when it does not exist."""
        with aws_errors(f"read task definition {reference}"):
            try:
                response = self._client.describe_task_definition(taskDefinition=reference)
            except self._client.exceptions.ClientException as exc:
                # AWS: "Unable to describe task definition."; moto names the missing one
                if "task definition" in error_message(exc).lower():
                    return None
                raise
        return _task_definition(response["taskDefinition"])

    def task_definition_arns(self, family: str) -> list[str]:
        """The family's ACTIVE revisions, newest first (every page of ListTaskDefinitions)."""
        with aws_errors(f"list the revisions of task definition family {family}"):
            pages = self._client.get_paginator("list_task_definitions").paginate(
                familyPrefix=family, status="ACTIVE", sort="DESC"
            )
            arns = [arn for page in pages for arn in page.get("taskDefinitionArns", [])]
        # familyPrefix matches prefixes: keep this family's own revisions only. Sorted
        # here as well: an emulator may ignore `sort` (moto lists them oldest first).
        own = [arn for arn in arns if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
        return sorted(own, key=lambda arn: int(arn.rsplit(":", 1)[-1]), reverse=True)

    def describe_task(self, cluster: str, task_arn: str) -> Task | None:
        """One task by ARN (or id); None when ECS no longer lists it."""
        with aws_errors(f"read ECS task {task_arn}"):
            response = self._client.describe_tasks(cluster=cluster, tasks=[task_arn])
        found = response.get("tasks", [])
        return _task(found[0]) if found else None

    def run_task(self, wanted: OneOffTask) -> Task:
        """Start one Fargate task (RunTask); TaskNotStarted when ECS answers failures."""
        with aws_errors(f"run a task of {wanted.task_definition}"):
            response = self._client.run_task(**_run_task_request(wanted))
        tasks = response.get("tasks", [])
        if not tasks:
            failures = "; ".join(
                f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip()
                for f in response.get("failures", [])
            )
            raise TaskNotStarted(
                f"ECS did not start the task: {failures or 'no task and no failure given'}",
                "check the cluster, the task definition and your ecs:RunTask and "
                "iam:PassRole permissions",
            )
        return _task(tasks[0])

    def stop_task(self, cluster: str, task_arn: str, reason: str) -> None:
        with aws_errors(f"stop ECS task {task_arn}"):
            self._client.stop_task(cluster=cluster, task=task_arn, reason=reason)

    def execute_command(
        self, cluster: str, task_arn: str, container: str, command: str, *, interactive: bool
    ) -> ExecSession:
        """Start an ECS Exec session (ExecuteCommand); the plugin opens it."""
        with aws_errors(f"start ECS Exec in task {task_arn}"):
            response = self._client.execute_command(
                cluster=cluster,
                task=task_arn,
                container=container,
                command=command,
                interactive=interactive,
            )
            described = self._client.describe_tasks(cluster=cluster, tasks=[task_arn])
        task_id = task_arn.rsplit("/", 1)[-1]
        runtime = ""
        for raw in described.get("tasks", []):
            for each in raw.get("containers", []):
                if each.get("name") == container:
                    runtime = str(each.get("runtimeId", ""))
        cluster_name = cluster.rsplit("/", 1)[-1]
        return ExecSession(
            session=dict(response["session"]),
            region=self._aws.region,
            target=f"ecs:{cluster_name}_{task_id}_{runtime}",
        )


def _run_task_request(wanted: OneOffTask) -> dict[str, Any]:
    override: dict[str, Any] = {"name": wanted.container, "command": list(wanted.command)}
    if wanted.environment:
        override["environment"] = [{"name": k, "value": v} for k, v in wanted.environment]
    overrides: dict[str, Any] = {"containerOverrides": [override]}
    if wanted.cpu:
        overrides["cpu"] = wanted.cpu
    if wanted.memory:
        overrides["memory"] = wanted.memory
    return {
        "cluster": wanted.cluster,
        "taskDefinition": wanted.task_definition,
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": wanted.started_by,
        "enableExecuteCommand": wanted.execute_command,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(wanted.network.subnets),
                "securityGroups": list(wanted.network.security_groups),
                "assignPublicIp": wanted.network.assign_public_ip or "DISABLED",
            }
        },
        "overrides": overrides,
    }


def _task_definition(raw: dict[str, Any]) -> TaskDefinition:
    platform = raw.get("runtimePlatform") or {}
    return TaskDefinition(
        arn=raw.get("taskDefinitionArn", ""),
        family=raw.get("family", ""),
        revision=int(raw.get("revision", 0)),
        cpu=str(raw.get("cpu", "")),
        memory=str(raw.get("memory", "")),
        task_role_arn=raw.get("taskRoleArn", ""),
        execution_role_arn=raw.get("executionRoleArn", ""),
        cpu_architecture=platform.get("cpuArchitecture", ""),
        containers=tuple(_container_definition(c) for c in raw.get("containerDefinitions", [])),
    )


def _container_definition(raw: dict[str, Any]) -> ContainerDefinition:
    logging = raw.get("logConfiguration") or {}
    options = logging.get("options") or {} if logging.get("logDriver") == "awslogs" else {}
    return ContainerDefinition(
        name=raw.get("name", ""),
        image=raw.get("image", ""),
        essential=bool(raw.get("essential", True)),
        ports=tuple(
            int(p["containerPort"]) for p in raw.get("portMappings", []) if "containerPort" in p
        ),
        log_group=options.get("awslogs-group", ""),
        log_prefix=options.get("awslogs-stream-prefix", ""),
        secrets=tuple(str(s.get("valueFrom", "")) for s in raw.get("secrets", [])),
    )


def _network(raw: dict[str, Any]) -> ServiceNetwork | None:
    awsvpc = (raw.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if not awsvpc:
        return None
    return ServiceNetwork(
        subnets=tuple(awsvpc.get("subnets", [])),
        security_groups=tuple(awsvpc.get("securityGroups", [])),
        assign_public_ip=awsvpc.get("assignPublicIp", "DISABLED"),
    )


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
        network=_network(raw),
        execute_command=bool(raw.get("enableExecuteCommand", False)),
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
        desired_status=raw.get("desiredStatus", ""),
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
