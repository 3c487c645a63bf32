"""Fargate's data plane, played locally: run the ECS service's tasks as containers.

moto keeps the service (desired count, task definition) but never runs a task. Here the
sandbox reads both from moto, pulls the task definition's image from the local registry by
the digest deploy-service deployed, and runs `desiredCount` containers on the host network,
each on its own loopback port (PORT, LISTEN_HOST=127.0.0.1), with an init process. moto
drops the task definition's Secrets, so PASSWORD comes from the sandbox. A new revision or
digest replaces the old tasks the way a rolling deployment does: start the new ones, wait
for /health, point the load balancer at them, then stop the old ones. The targets are also
registered in moto's target group, so `ecslab status` shows them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ecslab.core.errors import DeployFailed, UsageError
from ecslab.sandbox.lb import write_targets
from ecslab.sandbox.ports import LOOPBACK, free_port, http_status

if TYPE_CHECKING:
    from pathlib import Path

    import docker
    from docker.models.containers import Container

    from ecslab.aws.session import Aws
    from ecslab.core.config import Config
    from ecslab.sandbox.state import SandboxState

LABEL_ROOT = "ecslab.sandbox"
LABEL_SERVICE = "ecslab.sandbox.service"
LABEL_REVISION = "ecslab.sandbox.revision"
LABEL_DIGEST = "ecslab.sandbox.digest"
LABEL_PORT = "ecslab.sandbox.port"
HEALTH_TIMEOUT = 120.0
STOP_TIMEOUT = 10


class App(Protocol):
    """What the task runner reads from the run: the config and the AWS wrappers."""

    @property
    def config(self) -> Config: ...

    @property
    def aws(self) -> Aws: ...


@dataclass(frozen=True)
class TaskSpec:
    """What the ECS service asks for, as moto records it."""

    service: str
    revision: str  # the task definition ARN
    desired: int
    image: str  # the local registry's reference, by digest
    digest: str
    environment: dict[str, str]


@dataclass(frozen=True)
class LocalTask:
    """A task container of the sandbox."""

    container_id: str
    name: str
    port: int
    revision: str
    digest: str
    running: bool

    @property
    def target(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def healthy(self) -> bool:
        return self.running and http_status(f"http://{self.target}/health", timeout=2) == 200

    def current(self, spec: TaskSpec) -> bool:
        return self.revision == spec.revision and self.digest == spec.digest


# -- reading the service from moto --------------------------------------------------------


def read_spec(app: App) -> TaskSpec | None:
    """The service's desired count and task definition; None when it is not deployed."""

    names = app.config.names
    service = app.aws.ecs.describe_service(names.cluster, names.service)
    if service is None or service.status != "ACTIVE" or not service.task_definition:
        return None
    container = _container_definition(app, service.task_definition)
    image, digest = local_image(app, str(container.get("image", "")))
    environment = {str(e["name"]): str(e["value"]) for e in container.get("environment", [])}
    return TaskSpec(
        names.service, service.task_definition, service.desired, image, digest, environment
    )


def _container_definition(app: App, task_definition: str) -> dict[str, Any]:
    from ecslab.aws.session import aws_errors

    with aws_errors(f"read task definition {task_definition}"):
        answer = app.aws.client("ecs").describe_task_definition(taskDefinition=task_definition)
    containers: list[dict[str, Any]] = answer["taskDefinition"].get("containerDefinitions", [])
    wanted = app.config.names.container
    for container in containers:
        if container.get("name") == wanted:
            return container
    raise DeployFailed(
        f"task definition {task_definition} has no container {wanted}",
        "run `ecslab --sandbox step deploy-service` again",
    )


def local_image(app: App, reference: str) -> tuple[str, str]:
    """(the local registry's reference, digest) for an ECR `URI@sha256:...` reference."""
    repository, _, digest = reference.partition("@")
    registry = app.config.registry
    if not digest or "/" not in repository:
        raise DeployFailed(f"the task definition's image {reference!r} is not pinned by digest")
    if not registry:
        raise UsageError("the sandbox has no registry set", "run `ecslab sandbox up`")
    path = repository.split("/", 1)[1]
    return f"{registry.rstrip('/')}/{path}@{digest}", digest


# -- the containers -----------------------------------------------------------------------


def list_tasks(
    client: docker.DockerClient, root: str, service: str | None = None
) -> list[LocalTask]:
    """The sandbox's task containers (of `service`, when given), running or not."""
    labels = [f"{LABEL_ROOT}={root}"] + ([f"{LABEL_SERVICE}={service}"] if service else [])
    found = client.containers.list(all=True, filters={"label": labels})
    return [_task(c) for c in found]


def _task(container: Container) -> LocalTask:
    labels: dict[str, str] = container.labels
    return LocalTask(
        container_id=str(container.id),
        name=str(container.name),
        port=int(labels.get(LABEL_PORT, "0")),
        revision=labels.get(LABEL_REVISION, ""),
        digest=labels.get(LABEL_DIGEST, ""),
        running=container.status == "running",
    )


def start_task(client: docker.DockerClient, spec: TaskSpec, root: str, password: str) -> LocalTask:
    """Run one task container on its own loopback port."""
    port = free_port()
    environment = {
        **spec.environment,
        "PORT": str(port),
        "LISTEN_HOST": LOOPBACK,
        "PASSWORD": password,
    }
    labels = {
        LABEL_ROOT: root,
        LABEL_SERVICE: spec.service,
        LABEL_REVISION: spec.revision,
        LABEL_DIGEST: spec.digest,
        LABEL_PORT: str(port),
    }
    container = client.containers.run(
        spec.image,
        detach=True,
        name=f"{spec.service}-{secrets.token_hex(4)}",
        network_mode="host",
        init=True,
        environment=environment,
        labels=labels,
    )
    container.reload()  # run() returns the container as created, before it started
    return _task(container)


def stop_containers(client: docker.DockerClient, root: str, ids: set[str] | None = None) -> int:
    """Stop and remove the sandbox's task containers (only `ids`, when given)."""
    count = 0
    for task in list_tasks(client, root):
        if ids is not None and task.container_id not in ids:
            continue
        container = client.containers.get(task.container_id)
        if task.running:
            container.stop(timeout=STOP_TIMEOUT)
        container.remove(force=True)
        count += 1
    return count


def task_logs(client: docker.DockerClient, task: LocalTask, lines: int = 15) -> str:
    raw: bytes = client.containers.get(task.container_id).logs(tail=lines)
    return raw.decode(errors="replace").strip()


# -- the load balancer's view ---------------------------------------------------------------


def point_load_balancer(app: App, state: SandboxState, tasks: list[LocalTask]) -> None:
    """The LB stand-in forwards to `tasks`; moto's target group lists them."""
    write_targets(state.lb_targets_file, [t.target for t in tasks])
    _register_targets(app, [t.port for t in tasks])


def _register_targets(app: App, ports: list[int]) -> None:
    from ecslab.aws.session import aws_errors
    from ecslab.core.naming import TARGET_GROUP_ID

    elbv2 = app.aws.elbv2
    arn = app.aws.cloudformation.resource_id(app.config.names.stack, TARGET_GROUP_ID)
    if arn is None:
        return
    old = [{"Id": t.target_id, "Port": t.port} for t in elbv2.target_health(arn) if t.port]
    new = [{"Id": LOOPBACK, "Port": port} for port in ports]
    client = app.aws.client("elbv2")
    with aws_errors("register the sandbox's tasks as targets"):
        if new:
            client.register_targets(TargetGroupArn=arn, Targets=new)
        stale = [t for t in old if t not in new]
        if stale:
            client.deregister_targets(TargetGroupArn=arn, Targets=stale)


def stop_sandbox_tasks(config: Config, cwd: Path, client: docker.DockerClient) -> int:
    """Stop the sandbox's task containers and empty the load balancer; how many stopped."""
    from ecslab.sandbox.state import load_state, sandbox_root

    state = load_state(sandbox_root(config, cwd))
    if state is None:
        return 0
    write_targets(state.lb_targets_file, [])
    return stop_containers(client, state.root)
