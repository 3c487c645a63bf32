"""`ecslab run`: a one-off task of the service's task definition, on the service's network.

RunTask with FARGATE, awsvpc and the service's subnets and security groups, the command
and environment overridden for the one container (`overrides.containerOverrides`). While
it runs, its CloudWatch Logs stream (`prefix/container/task-id`, from the task
definition's awslogs options) is printed; the result is the container's exit code. A task
that never started (no exit code: TaskFailedToStart, say) is an error naming ECS's
stoppedReason. The wait gives up after `timeout` seconds without progress (a new status or
a new log line); Ctrl-C stops waiting, not the task, and says how to stop it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ecslab.aws.ecs import OneOffTask, Task, TaskDefinition
from ecslab.aws.errors import Transient
from ecslab.aws.logs import LogGroupMissing, LogReader
from ecslab.core.errors import EcslabError, ExitCode, Interrupted, UsageError
from ecslab.core.naming import deployed
from ecslab.lab.context import Context
from ecslab.lab.stack_wait import Poller

DEFAULT_TIMEOUT = 10 * 60
LOG_SLACK_MS = 60_000  # start reading a little before RunTask: clocks differ


class TaskFailed(EcslabError):
    """A one-off task never ran its command, or the wait for it gave up."""

    exit_code = ExitCode.DEPLOY_FAILED


@dataclass(frozen=True)
class RunRequest:
    command: tuple[str, ...]
    environment: tuple[tuple[str, str], ...] = ()
    cpu: int | None = None
    memory: int | None = None
    wait: bool = True


@dataclass(frozen=True)
class Started:
    cluster: str
    task: Task
    definition: TaskDefinition


def start(app: Context, request: RunRequest) -> Started:
    """RunTask from the service's task definition and network."""
    names = app.config.names
    stack = app.aws.cloudformation.describe(names.stack)
    where = deployed(names, stack.outputs if stack else None)
    ecs = app.aws.ecs
    service = ecs.describe_service(where.cluster, where.service)
    if service is None:
        raise UsageError(
            f"no ECS service {where.service} in cluster {where.cluster}: a one-off task uses "
            "its task definition and network",
            "deploy it first: `ecslab run-all`",
        )
    if service.network is None:
        raise UsageError(
            f"service {where.service} has no awsvpc network configuration to run a task in",
            "deploy the lab's template (`ecslab run-all`), which sets it",
        )
    definition = ecs.task_definition(service.task_definition)
    if definition is None:
        raise UsageError(f"the service's task definition {service.task_definition} is gone")
    container = definition.container(names.container if _has(definition, names.container) else None)
    task = ecs.run_task(
        OneOffTask(
            cluster=where.cluster,
            task_definition=definition.arn,
            network=service.network,
            container=container.name,
            command=request.command,
            environment=request.environment,
            cpu=str(request.cpu) if request.cpu else None,
            memory=str(request.memory) if request.memory else None,
        )
    )
    app.ui.info(
        f"started task {task.short_id} ({definition.family}:{definition.revision}): "
        f"{shlex.join(request.command)}",
        task_arn=task.arn,
    )
    return Started(where.cluster, task, definition)


def _has(definition: TaskDefinition, name: str) -> bool:
    return any(c.name == name for c in definition.containers)


def run_one_off(app: Context, request: RunRequest) -> int:
    """Run the task; with `wait`, stream its logs and return the container's exit code."""
    started = start(app, request)
    if not request.wait:
        app.ui.summary("ok", f"task {started.task.short_id} started", task_arn=started.task.arn)
        return 0
    try:
        final = wait_for_task(app, started)
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped waiting: task {started.task.short_id} goes on running in ECS",
            f"stop it with `{stop_command(started)}`; follow its logs with "
            f"`ecslab logs --follow --task {started.task.short_id}`",
        ) from None
    return exit_code(app, started, final)


def stop_command(started: Started) -> str:
    return (
        f"aws ecs stop-task --cluster {shlex.quote(started.cluster)} "
        f"--task {shlex.quote(started.task.arn)}"
    )


def wait_for_task(app: Context, started: Started) -> Task:
    """Poll the task until STOPPED, printing its new log lines; bounded by progress."""
    reader = _log_reader(app, started)
    poller = Poller(app, default_timeout=DEFAULT_TIMEOUT)
    last = ""
    with app.ui.status(f"task {started.task.short_id}: waiting for it to stop") as line:
        while True:
            try:
                task = app.aws.ecs.describe_task(started.cluster, started.task.arn)
            except Transient as exc:
                app.ui.debug_log(f"{exc}; polling again")
                task = None
            printed = _print_new(app, reader)
            if task is not None and task.last_status != last:
                last = task.last_status
                line.update(f"task {started.task.short_id}: {last}")
                poller.progress()
            if printed:
                poller.progress()
            if task is not None and task.last_status == "STOPPED":
                _print_new(app, reader)  # what the log driver flushed at exit
                return task
            if poller.expired():
                raise TaskFailed(
                    f"gave up waiting: task {started.task.short_id} showed no progress for "
                    f"{int(poller.idle_for())} s (still {last or 'starting'}); it goes on in ECS",
                    f"raise --timeout, or stop it with `{stop_command(started)}`",
                )
            poller.sleep()


def _log_reader(app: Context, started: Started) -> LogReader | None:
    container = started.definition.container(_container_name(started))
    if not container.log_group:
        app.ui.warning(f"container {container.name} does not log to CloudWatch: no output shown")
        return None
    stream = f"{container.log_prefix}/{container.name}/{started.task.short_id}"
    start_ms = int(app.clock.wall() * 1000) - LOG_SLACK_MS
    return LogReader(app.aws.logs, container.log_group, start_ms, stream_prefix=stream)


def _container_name(started: Started) -> str | None:
    return started.task.containers[0].name if started.task.containers else None


def _print_new(app: Context, reader: LogReader | None) -> bool:
    if reader is None:
        return False
    try:
        events = reader.read_new()
    except (LogGroupMissing, Transient) as exc:
        app.ui.debug_log(f"no log events yet: {exc}")
        return False
    for event in events:
        app.ui.event("log", event.message, task_id=event.task_id, timestamp=event.timestamp_ms)
    return bool(events)


def exit_code(app: Context, started: Started, task: Task) -> int:
    """The container's exit code; TaskFailed when it never ran (no exit code)."""
    container = task.container(_container_name(started) or "") or (
        task.containers[0] if task.containers else None
    )
    code = container.exit_code if container else None
    if code is None:
        why = task.stopped_reason or (container.reason if container else "") or "no reason given"
        raise TaskFailed(
            f"task {task.short_id} stopped without running its command "
            f"({task.stop_code or 'no stop code'}): {why}",
            _failure_hint(why),
        )
    app.ui.summary(
        "ok" if code == 0 else "failed",
        f"task {task.short_id} exited {code}",
        task_arn=task.arn,
        exit_code=code,
    )
    return int(code)


def _failure_hint(reason: str) -> str:
    if "CannotPullContainerError" in reason:
        return (
            "the image cannot be pulled: check that it is in ECR (`ecslab doctor`) and that "
            "the tasks reach ECR"
        )
    if "ResourceInitializationError" in reason:
        return "ECS could not prepare the task (secrets, logs, registry auth): `ecslab doctor`"
    return "`ecslab doctor` checks what a task needs before it starts"


def parse_environment(pairs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """K=V pairs from the command line."""
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"-e {pair!r}: expected NAME=VALUE", "for example -e LOG_LEVEL=debug")
        parsed.append((key, value))
    return tuple(parsed)
