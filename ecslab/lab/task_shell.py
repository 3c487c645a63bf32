"""`ecslab exec`: a command (a shell by default) in a running task of the service.

Which task and container is decided here; how the command gets into the container is a
`TaskShell` the Context carries, chosen by the composition root: on AWS `EcsExecShell`
(ECS Exec: ExecuteCommand, then the Session Manager plugin opens the session, as the AWS
CLI does), in the sandbox a `docker exec` into the task's container. Domain code never
knows which.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ecslab.core.errors import UsageError
from ecslab.core.naming import deployed

if TYPE_CHECKING:
    from ecslab.aws.ecs import Task
    from ecslab.lab.context import Context

PLUGIN = "session-manager-plugin"
PLUGIN_HINT = (
    "install the Session Manager plugin for the AWS CLI: https://docs.aws.amazon.com/"
    "systems-manager/latest/userguide/session-manager-working-with-install-plugin.html "
    "(for example `curl -o plugin.deb https://s3.amazonaws.com/session-manager-downloads/"
    "plugin/latest/ubuntu_64bit/session-manager-plugin.deb && sudo dpkg -i plugin.deb`), "
    f"then check that `{PLUGIN}` is on PATH"
)


@dataclass(frozen=True)
class ShellTarget:
    """The container a command runs in."""

    cluster: str
    task_arn: str
    container: str


class TaskShell(Protocol):
    """Runs a command in a task's container; returns the command's exit code."""

    def run(self, target: ShellTarget, command: Sequence[str], *, interactive: bool) -> int: ...


class EcsExecShell:
    """ECS Exec on AWS: ExecuteCommand, then `session-manager-plugin` with its answer.

    The plugin takes the same arguments the AWS CLI gives it: the session JSON, the
    region, "StartSession", the profile, the SSM target JSON and the ECS endpoint.
    """

    def __init__(
        self,
        app: Context,
        which: Callable[[str], str | None] = shutil.which,
        call: Callable[[list[str]], int] = subprocess.call,
    ) -> None:
        self._app = app
        self._which = which
        self._call = call

    def run(self, target: ShellTarget, command: Sequence[str], *, interactive: bool) -> int:
        plugin = self._which(PLUGIN)
        if plugin is None:
            raise UsageError(
                f"ECS Exec needs the AWS Session Manager plugin: no {PLUGIN} on PATH", PLUGIN_HINT
            )
        aws = self._app.aws
        session = aws.ecs.execute_command(
            target.cluster,
            target.task_arn,
            target.container,
            shlex.join(command),
            interactive=interactive,
        )
        endpoint = self._app.config.endpoint_url or f"https://ecs.{session.region}.amazonaws.com"
        return self._call(
            [
                plugin,
                json.dumps(session.session),
                session.region,
                "StartSession",
                self._app.config.profile or "",
                json.dumps({"Target": session.target}),
                endpoint,
            ]
        )


def choose_task(app: Context, wanted: str | None) -> Task:
    """The running task `wanted` names (its ARN, id or the start of its id), else the
    newest running task of the service."""
    names = app.config.names
    stack = app.aws.cloudformation.describe(names.stack)
    where = deployed(names, stack.outputs if stack else None)
    tasks = [
        t for t in app.aws.ecs.tasks(where.cluster, where.service) if t.last_status == "RUNNING"
    ]
    if wanted:
        tasks = [t for t in tasks if t.arn == wanted or t.short_id.startswith(wanted)]
    if not tasks:
        which = f"task {wanted}" if wanted else "task"
        raise UsageError(
            f"no running {which} in service {where.service} (cluster {where.cluster})",
            "`ecslab status` lists the tasks; deploy the service with `ecslab run-all`"
            if not wanted
            else "`ecslab status` lists the running tasks",
        )
    if len(tasks) > 1 and wanted:
        ids = ", ".join(t.short_id for t in tasks)
        raise UsageError(f"{wanted} names several tasks: {ids}", "give more of the task id")
    return max(tasks, key=lambda t: t.started_at.timestamp() if t.started_at else 0.0)


def exec_in_task(
    app: Context,
    task: str | None,
    container: str | None,
    command: Sequence[str],
    *,
    interactive: bool,
) -> int:
    """Run `command` in a running task's container; its exit code."""
    names = app.config.names
    chosen = choose_task(app, task)
    stack = app.aws.cloudformation.describe(names.stack)
    cluster = deployed(names, stack.outputs if stack else None).cluster
    name = container or names.container
    if chosen.containers and chosen.container(name) is None:
        found = ", ".join(c.name for c in chosen.containers)
        raise UsageError(f"task {chosen.short_id} has no container {name}", f"pick one of: {found}")
    app.ui.info(
        f"{shlex.join(command)} in task {chosen.short_id}, container {name}",
        task_arn=chosen.arn,
        container=name,
    )
    return app.task_shell.run(
        ShellTarget(cluster, chosen.arn, name), command, interactive=interactive
    )
