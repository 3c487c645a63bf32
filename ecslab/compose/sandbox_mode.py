"""`ecslab --sandbox ...`: the one place where sandbox mode changes how an App is built.

With the switch on, the sandbox is started first if it is not running (and ecslab says
so); then the config is resolved again with the sandbox's values as *defaults*: flags,
ECSLAB_* variables and ecslab.yaml still win, but they win over the user's standard AWS_*
variables, which describe their real account. AWS clients get fake keys in code (nothing
is written to the environment or to ~/.aws), Docker clients the sandbox's engine, the
domain the sandbox's hooks (`LocalSandbox`, the Context's `sandbox`), and `ecslab exec`
a `docker exec` into the task's container (found by its task-ARN label), where AWS
would open ECS Exec.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ecslab.core.environment import installed_version
from ecslab.core.errors import UsageError
from ecslab.sandbox.emulator.ecs_containers import LABEL_CONTAINER, LABEL_TASK
from ecslab.sandbox.state import (
    DB_NAME,
    DB_USER,
    SANDBOX_REGION,
    SandboxState,
    load_state,
    sandbox_root,
)

if TYPE_CHECKING:
    import docker

    from ecslab.aws.session import Aws
    from ecslab.core.config import Config
    from ecslab.core.ui import UI
    from ecslab.lab.context import Context
    from ecslab.lab.task_shell import ShellTarget, TaskShell

SOURCE = "sandbox"
FAKE_KEY = "testing"  # moto accepts any keys; these can never reach AWS


@dataclass(frozen=True)
class SandboxMode:
    """What an App needs in sandbox mode: its config and client factories."""

    config: Config
    state: SandboxState
    aws_factory: Callable[[Config], Aws]
    docker_factory: Callable[[], docker.DockerClient]
    hooks: LocalSandbox
    shell_factory: Callable[[Context], TaskShell]


@dataclass(frozen=True)
class LocalSandbox:
    """The Context's `sandbox` hooks (lab/context.py's SandboxHooks) for a running sandbox."""

    state: SandboxState

    @property
    def time_scale(self) -> float:
        return self.state.time_scale

    def after_deploy(self, aws: Aws, stack: str, *, apply: bool) -> tuple[str, ...]:
        """The template's autoscaling, which moto's CloudFormation skips, made in moto."""
        from ecslab.sandbox.autoscaling import AutoscalingEmulator

        emulator = AutoscalingEmulator(aws, stack)
        emulation = emulator.apply() if apply else emulator.pending()
        return tuple(str(change) for change in emulation.changes)


def sandbox_defaults(state: SandboxState) -> dict[str, tuple[object, str]]:
    """The sandbox's value of each setting it provides, with its source label."""
    values: dict[str, object] = {
        "endpoint_url": state.endpoint_url,
        "region": SANDBOX_REGION,
        "registry": state.registry,
        "db_host": "127.0.0.1",
        "db_port": state.postgres_port,
        "db_user": DB_USER,
        "db_name": DB_NAME,
        "db_password": state.db_password(),
    }
    if state.base_image:
        values["base_image"] = state.base_image
    return {key: (value, SOURCE) for key, value in values.items()}


def enter_sandbox(
    config: Config,
    ui: UI,
    env: Mapping[str, str],
    cwd: Path,
    reresolve: Callable[[Mapping[str, tuple[object, str]]], Config],
    *,
    versions: Callable[[str], str | None] = installed_version,
) -> SandboxMode:
    """Start the sandbox if needed; the config with its defaults and its client factories."""
    from ecslab.sandbox.control import all_up, up

    root = sandbox_root(config, cwd)
    state = load_state(root)
    if state is None or not all_up(state):
        ui.info(f"the sandbox in {root} is not running: starting it (`ecslab sandbox up`)")
        docker_host = env.get("DOCKER_HOST") or None
        state = up(
            root, ui, docker_host=docker_host, base_image=config.base_image, versions=versions
        )
        ui.success(f"sandbox up: AWS API {state.endpoint_url}, load balancer {state.lb_url}")
    return SandboxMode(
        reresolve(sandbox_defaults(state)),
        state,
        sandbox_aws,
        _docker_factory(state),
        LocalSandbox(state),
        lambda app: DockerExecShell(app, state.docker_host),
    )


def sandbox_aws(config: Config) -> Aws:
    """An Aws whose session has fake keys and the sandbox's region, whatever ~/.aws says."""
    from ecslab.aws.session import Aws, fixed_key_session

    return Aws(config, fixed_key_session(FAKE_KEY, FAKE_KEY, config.region or SANDBOX_REGION))


def _docker_factory(state: SandboxState) -> Callable[[], docker.DockerClient]:
    def connect() -> docker.DockerClient:
        from ecslab.sandbox.dockerd import PrivateDockerd

        return PrivateDockerd.attached(state.docker_host).client()

    return connect


class DockerExecShell:
    """The sandbox's ECS Exec: `docker exec` into the container that runs the task.

    Without a terminal the command runs through the Docker API and its output is copied
    to ecslab's output; with one, the docker CLI runs it with a TTY (`docker exec -it`).
    """

    def __init__(self, app: Context, docker_host: str) -> None:
        self._app = app
        self._docker_host = docker_host

    def run(self, target: ShellTarget, command: Sequence[str], *, interactive: bool) -> int:
        found = self._app.docker.containers.list(
            filters={"label": [f"{LABEL_TASK}={target.task_arn}"]}
        )
        mine = [
            c for c in found if c.labels.get(LABEL_CONTAINER, target.container) == target.container
        ]
        if not mine:
            raise UsageError(
                f"no running container of task {target.task_arn} in the sandbox's Docker engine",
                "`ecslab --sandbox status` lists the running tasks",
            )
        if interactive:
            return self._docker_cli(str(mine[0].id), command)
        code, output = mine[0].exec_run(list(command), demux=False)
        out = self._app.ui.out
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else ""
        out.write(text)
        out.flush()
        return int(code if code is not None else 0)

    def _docker_cli(self, container_id: str, command: Sequence[str]) -> int:
        docker_cli = shutil.which("docker")
        if docker_cli is None:
            raise UsageError(
                "an interactive shell in the sandbox needs the docker command line client",
                "install it (Debian: `apt-get install docker.io`), or pass a command: "
                "`ecslab --sandbox exec -- ls /`",
            )
        env = {**os.environ, "DOCKER_HOST": self._docker_host}
        return subprocess.call([docker_cli, "exec", "-it", container_id, *command], env=env)
