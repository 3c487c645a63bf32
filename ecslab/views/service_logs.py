"""`ecslab logs`: the service's CloudWatch log events, once or followed until Ctrl-C.

The log group comes from the stack's LogGroupName output (else the naming rules). Follow
mode polls every FOLLOW_INTERVAL seconds through the injected clock and never repeats an
event, late ones included (see `LogReader`); Ctrl-C ends it cleanly with a summary and
exit code 0. `--task ID` keeps the streams of one task (its id, or the start of it);
`--previous` shows the last lines of the most recently stopped task, with why it stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.aws.logs import LogEvent, LogGroupMissing, LogReader
from ecslab.core.errors import UsageError
from ecslab.core.naming import deployed

if TYPE_CHECKING:
    from ecslab.aws.ecs import Task
    from ecslab.lab.context import Context

FOLLOW_INTERVAL = 2.0


def log_group(app: Context) -> str:
    names = app.config.names
    stack = app.aws.cloudformation.describe(names.stack)
    return deployed(names, stack.outputs if stack else None).log_group


def show_logs(
    app: Context, since_seconds: int, follow: bool = False, task: str | None = None
) -> int:
    """Print events from the last `since_seconds`; with `follow`, keep polling. Returns count."""
    group = log_group(app)
    prefix = app.config.names.log_stream(task) if task else None
    start_ms = int(app.clock.wall() * 1000) - since_seconds * 1000
    reader = LogReader(app.aws.logs, group, start_ms, stream_prefix=prefix)
    try:
        shown = _print(app, reader.read_new())
    except LogGroupMissing as exc:
        raise UsageError(
            f"log group {group} does not exist",
            "deploy the service first (`ecslab step deploy-service`)",
        ) from exc
    if follow:
        shown += _follow(app, reader)
    else:
        which = f" of task {task}" if task else ""
        app.ui.summary(
            "ok",
            f"{shown} event(s){which} from {group} in the last {since_seconds} s",
            group=group,
            events=shown,
        )
    return shown


def show_previous(app: Context, lines: int) -> int:
    """The last `lines` lines of the most recently stopped task, and why it stopped."""
    names = app.config.names
    stack = app.aws.cloudformation.describe(names.stack)
    where = deployed(names, stack.outputs if stack else None)
    stopped = [
        t for t in app.aws.ecs.tasks(where.cluster, where.service, "STOPPED") if t.stopped_at
    ]
    if not stopped:
        app.ui.summary(
            "ok", f"no stopped task of {where.service} is listed (ECS keeps them an hour)"
        )
        return 0
    task = max(stopped, key=lambda t: t.stopped_at or 0)
    events = app.aws.logs.stream_tail(where.log_group, names.log_stream(task.short_id), lines)
    shown = _print(app, events)
    app.ui.summary(
        "ok",
        f"task {task.short_id} stopped {_when(task)}: {_why(task)}; its last {shown} line(s)",
        task=task.arn,
        stop_code=task.stop_code,
        stopped_reason=task.stopped_reason,
        events=shown,
    )
    return shown


def _when(task: Task) -> str:
    return f"at {task.stopped_at:%Y-%m-%d %H:%M:%S}" if task.stopped_at else ""


def _why(task: Task) -> str:
    exits = [
        f"{c.name} exit {c.exit_code}" + (f" ({c.reason})" if c.reason else "")
        for c in task.containers
        if c.exit_code is not None
    ]
    reason = task.stopped_reason or "no reason given"
    code = f"{task.stop_code}: " if task.stop_code else ""
    return code + reason + (f" [{'; '.join(exits)}]" if exits else "")


def _follow(app: Context, reader: LogReader) -> int:
    shown = 0
    app.ui.info(f"following {reader.group} (every {FOLLOW_INTERVAL:.0f} s; Ctrl-C to stop)")
    try:
        while True:
            app.clock.sleep(FOLLOW_INTERVAL)
            shown += _print(app, reader.read_new())
    except KeyboardInterrupt:
        app.ui.summary("ok", f"stopped following {reader.group}", group=reader.group)
    return shown


def _print(app: Context, events: list[LogEvent]) -> int:
    for event in events:
        app.ui.event(
            "log",
            f"{event.time:%Y-%m-%d %H:%M:%S} {event.task_id[:12]} {event.message}",
            time=event.time.isoformat(),
            stream=event.stream,
            log=event.message,
        )
    return len(events)
