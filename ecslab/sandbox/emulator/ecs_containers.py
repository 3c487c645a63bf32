"""Fargate's data plane for the ECS scheduler: a task is one Docker container.

Each task runs on the host network on a loopback port of its own (the container port of
the task definition is replaced by that port in PORT and in the container health check
command, since tasks share the host's network), held to the task's size as Fargate holds
it: `cpu` units become NanoCpus (256 = a quarter CPU), `memory` MiB the memory limit, so a
task that goes past it is OOM-killed and reported with AWS's container reason.

The container is labelled for other areas (task ARN, cluster, service, container name)
and for `sandbox down` (the sandbox's state folder). The database password is a *secret*:
each secret of the task definition named PASSWORD becomes a 0600 file owned by the image's
user, mounted read-only, with PASSWORD_FILE naming it; no secret value is an environment
value that `docker inspect` would show.

Logs: the container's stdout/stderr are shipped to the sandbox's CloudWatch Logs by a
thread per task (`ship_logs`), into the group and `prefix/container/task-id` stream that
awslogs on Fargate uses. Docker's own awslogs driver was the first choice, but it takes
its credentials from the *daemon's* environment, which the sandbox does not control when
it runs on the user's engine (DOCKER_HOST); a shipper works with any engine.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecslab.sandbox.ports import LOOPBACK
from ecslab.sandbox.state import DB_PASSWORD_FILE

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

LABEL_ROOT = "ecslab.sandbox"  # the sandbox's state folder: what `sandbox down` stops
LABEL_TASK = "ecslab.sandbox.task-arn"
LABEL_CLUSTER = "ecslab.sandbox.cluster"
LABEL_SERVICE = "ecslab.sandbox.service"
LABEL_CONTAINER = "ecslab.sandbox.container"
SECRETS_DIR = "task-secrets"
SECRET_MOUNT = "/run/secrets"
NANO = 1_000_000_000


@dataclass(frozen=True)
class Launch:
    """What the scheduler asks Docker to run for one task."""

    task_arn: str
    task_id: str
    cluster: str
    service: str  # "" for a standalone task (RunTask)
    container: dict[str, Any]  # the task definition's (first essential) container, overridden
    cpu_units: int
    memory_mib: int
    port: int
    container_port: int | None
    image: str  # pullable reference
    time_scale: float


@dataclass(frozen=True)
class Observed:
    """A task container as Docker sees it now."""

    running: bool
    exit_code: int | None
    oom_killed: bool
    health: str  # HEALTHY | UNHEALTHY | UNKNOWN
    error: str


def pull(client: docker.DockerClient, image: str) -> str:
    """Pull `image`; its repo digest (sha256:...)."""
    pulled = client.images.pull(image)
    for digest in pulled.attrs.get("RepoDigests", []):
        return str(digest).rsplit("@", 1)[-1]
    return str(pulled.id)


def image_user(client: docker.DockerClient, image: str) -> tuple[int, int]:
    """(uid, gid) the image runs as when given numerically; root otherwise."""
    user = str(client.images.get(image).attrs.get("Config", {}).get("User") or "0")
    uid, _, gid = user.partition(":")
    return (int(uid) if uid.isdigit() else 0, int(gid) if gid.isdigit() else 0)


def run(client: docker.DockerClient, launch: Launch, root: Path | None) -> Container:
    """Create and start the task's container."""
    container = launch.container
    labels = {
        LABEL_ROOT: str(root or ""),
        LABEL_TASK: launch.task_arn,
        LABEL_CLUSTER: launch.cluster,
        LABEL_SERVICE: launch.service,
        LABEL_CONTAINER: str(container.get("name", "")),
    }
    environment, volumes = _environment(client, launch, root)
    return client.containers.run(
        launch.image,
        detach=True,
        name=f"ecs-{launch.service or 'task'}-{launch.task_id[:12]}",
        command=container.get("command") or None,
        entrypoint=container.get("entryPoint") or None,
        network_mode="host",
        init=bool((container.get("linuxParameters") or {}).get("initProcessEnabled")),
        environment=environment,
        labels=labels,
        nano_cpus=launch.cpu_units * NANO // 1024,
        mem_limit=f"{launch.memory_mib}m",
        memswap_limit=f"{launch.memory_mib}m",
        read_only=bool(container.get("readonlyRootFilesystem")),
        tmpfs={
            m["containerPath"]: ""
            for m in container.get("mountPoints", [])
            if m.get("containerPath")
        },
        volumes=volumes,
        healthcheck=_healthcheck(launch),
        stop_signal="SIGTERM",
    )


def _environment(
    client: docker.DockerClient, launch: Launch, root: Path | None
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    env = {str(e["name"]): str(e["value"]) for e in launch.container.get("environment", [])}
    env["PORT"] = str(launch.port)
    env["LISTEN_HOST"] = LOOPBACK
    volumes: dict[str, dict[str, str]] = {}
    names = [str(s.get("name")) for s in launch.container.get("secrets", [])]
    if "PASSWORD" in names and root is not None:
        folder = secret_folder(root, launch.task_id)
        write_secret(
            folder / "PASSWORD",
            read_text(root / DB_PASSWORD_FILE),
            image_user(client, launch.image),
        )
        volumes[str(folder)] = {"bind": SECRET_MOUNT, "mode": "ro"}
        env["PASSWORD_FILE"] = f"{SECRET_MOUNT}/PASSWORD"
    return env, volumes


def secret_folder(root: Path, task_id: str) -> Path:
    return root / SECRETS_DIR / task_id


def write_secret(path: Path, value: str, owner: tuple[int, int]) -> None:
    """`value` in a new 0600 file owned by the container's user (0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o711)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if os.geteuid() == 0:
            os.fchown(fd, *owner)
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def remove_secrets(root: Path | None, task_id: str) -> None:
    if root is not None:
        shutil.rmtree(secret_folder(root, task_id), ignore_errors=True)


def _healthcheck(launch: Launch) -> dict[str, Any]:
    """The task definition's container health check for Docker; none when there is none
    (ECS ignores a Dockerfile HEALTHCHECK)."""
    check = launch.container.get("healthCheck")
    if not check or not check.get("command"):
        return {"test": ["NONE"]}
    command = [str(c) for c in check["command"]]
    if launch.container_port:
        command = [c.replace(f":{launch.container_port}", f":{launch.port}") for c in command]

    def scaled(name: str, default: int) -> int:
        return max(NANO, int(float(check.get(name, default)) / launch.time_scale * NANO))

    return {
        "test": command,
        "interval": scaled("interval", 30),
        "timeout": scaled("timeout", 5),
        "retries": int(check.get("retries", 3)),
        "start_period": scaled("startPeriod", 0) if check.get("startPeriod") else 0,
    }


def observe(client: docker.DockerClient, container_id: str) -> Observed:
    import docker.errors

    try:
        attrs = client.api.inspect_container(container_id)
    except docker.errors.NotFound:
        return Observed(False, None, False, "UNKNOWN", "container removed")
    state = attrs.get("State", {})
    health = str((state.get("Health") or {}).get("Status", ""))
    mapped = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}.get(health, "UNKNOWN")
    running = bool(state.get("Running"))
    exit_code = None if running else int(state.get("ExitCode", 0))
    return Observed(
        running, exit_code, bool(state.get("OOMKilled")), mapped, str(state.get("Error", ""))
    )


def stop(client: docker.DockerClient, container_id: str, timeout: int) -> None:
    """SIGTERM, then SIGKILL after `timeout` s; the container is kept (for its exit code)."""
    import docker.errors

    try:
        client.containers.get(container_id).stop(timeout=timeout)
    except docker.errors.NotFound:
        return


def remove(client: docker.DockerClient, container_id: str) -> None:
    import docker.errors

    try:
        client.containers.get(container_id).remove(force=True)
    except docker.errors.NotFound:
        return
    except docker.errors.APIError:  # already being removed
        return


def containers_of(client: docker.DockerClient, root: Path | None) -> list[Container]:
    filters: dict[str, str | list[str] | bool] = {
        "label": [f"{LABEL_ROOT}={root or ''}", LABEL_TASK]
    }
    return list(client.containers.list(all=True, filters=filters))


def remove_all(client: docker.DockerClient, root: Path | None) -> int:
    """Remove every task container of the sandbox in `root`; how many."""
    found = containers_of(client, root)
    for container in found:
        remove(client, str(container.id))
    return len(found)


def log_lines(client: docker.DockerClient, container_id: str) -> Iterator[tuple[int, str]]:
    """(timestamp ms, line) of the container's output, following it until it exits."""
    from datetime import datetime

    container = client.containers.get(container_id)
    buffer = b""
    for chunk in container.logs(stream=True, follow=True, timestamps=True):
        buffer += chunk
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            text = raw.decode(errors="replace")
            stamp, _, line = text.partition(" ")
            try:
                when = datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")
                millis = int(when.timestamp() * 1000)
            except ValueError:
                millis, line = 0, text
            yield millis, line


def ship_logs(
    client: docker.DockerClient,
    container_id: str,
    put: Callable[[list[dict[str, Any]]], None],
) -> threading.Thread:
    """A daemon thread putting the container's lines as log events, as they come."""

    def pump() -> None:
        import docker.errors

        try:
            for millis, line in log_lines(client, container_id):
                put([{"timestamp": millis, "message": line}])
        except (docker.errors.DockerException, OSError):
            return  # the container went away: its stream ends here

    thread = threading.Thread(target=pump, name=f"logs-{container_id[:12]}", daemon=True)
    thread.start()
    return thread
