"""`ecslab logs`: the service's CloudWatch log events, once or followed until Ctrl-C.

The log group comes from the stack's LogGroupName output (else the naming rules). Follow
mode polls every FOLLOW_INTERVAL seconds through the injected clock and never repeats an
event (see `LogReader`); Ctrl-C ends it cleanly with a summary and exit code 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.aws.logs import LogEvent, LogGroupMissing, LogReader
from ecslab.core.errors import UsageError
from ecslab.core.naming import deployed

if TYPE_CHECKING:
    from ecslab.lab.context import Context

FOLLOW_INTERVAL = 2.0


def log_group(app: Context) -> str:
    names = app.config.names
    stack = app.aws.cloudformation.describe(names.stack)
    return deployed(names, stack.outputs if stack else None).log_group


def show_logs(app: Context, since_seconds: int, follow: bool = False) -> int:
    """Print events from the last `since_seconds`; with `follow`, keep polling. Returns count."""
    group = log_group(app)
    reader = LogReader(app.aws.logs, group, int(app.clock.wall() * 1000) - since_seconds * 1000)
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
        app.ui.summary(
            "ok",
            f"{shown} event(s) from {group} in the last {since_seconds} s",
            group=group,
            events=shown,
        )
    return shown


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
        task = event.stream.rsplit("/", 1)[-1][:12]
        app.ui.event(
            "log",
            f"{event.time:%Y-%m-%d %H:%M:%S} {task} {event.message}",
            time=event.time.isoformat(),
            stream=event.stream,
            log=event.message,
        )
    return len(events)
