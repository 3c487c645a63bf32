"""`ecslab status --watch`: a live view of the service while it scales, refreshed.

On a terminal it is a rich Live display redrawn every `interval` seconds; without one,
each frame that differs from the one before is printed as plain lines under a timestamp
(so a log of the run stays short); with `--output json`, one event per frame. Ctrl-C (or
`count` frames) ends it with exit code 0. Sleeping goes through the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.lab.watch_frame import Frame, read_frame

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ecslab.lab.context import Context

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], top: float = 100.0) -> str:
    """One block per value, scaled to 0..top (a percent metric: 0..100)."""
    if not values:
        return ""
    return "".join(
        SPARKS[min(int(max(v, 0.0) / top * len(SPARKS)), len(SPARKS) - 1)] for v in values
    )


def frame_lines(frame: Frame) -> list[str]:
    """The frame as plain lines (the non-terminal view, and what tests read)."""
    lines = [f"service: desired {frame.desired}, running {frame.running}, pending {frame.pending}"]
    if frame.deployment:
        lines.append(f"  {frame.deployment}")
    for task in frame.tasks:
        age = _age(frame, task.started_at)
        lines.append(
            f"  task {task.short_id[:12]} {task.last_status} {task.health or '-'} age {age}"
        )
    for target in frame.targets:
        lines.append(f"  target {target.address} {target.state} {target.reason}".rstrip())
    for line in frame.alarms:
        a = line.alarm
        latest = "no data" if line.latest is None else f"{line.latest:.1f} %"
        lines.append(
            f"  alarm {a.name} {a.state}: {a.metric} {a.comparison_symbol} {a.threshold:g} "
            f"{sparkline(line.values)} {latest}"
        )
    for activity in frame.activities:
        lines.append(
            f"  scaling {_time(activity.start)} {activity.status}: {_activity_text(activity)}"
        )
    lines += [f"  note: {n}" for n in frame.notes]
    return lines


def _activity_text(activity: Any) -> str:
    """Description (or why it did not scale), then the alarm and policy from the cause."""
    text = activity.description
    if activity.not_scaled:
        text = f"not scaled: {', '.join(activity.not_scaled)}"
    return f"{text} [{activity.cause}]"


def _time(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%H:%M:%S}" if moment else "--:--:--"


def _age(frame: Frame, started: datetime | None) -> str:
    if started is None:
        return "-"
    seconds = int((frame.at - started.astimezone(UTC)).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{max(seconds, 0)}s"


def render(frame: Frame) -> RenderableType:
    """The rich view: counts, tasks, targets, alarms with sparklines, activities."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    title = Text.assemble(
        ("ecslab status --watch", "bold"), f"  {_time(frame.at)}  ", (frame.clock_note(), "dim")
    )
    counts = Text(
        f"desired {frame.desired}   running {frame.running}   pending {frame.pending}", "bold cyan"
    )
    deployment = Text(frame.deployment, "cyan")
    tasks = Table("task", "state", "health", "age", title="Tasks", title_justify="left")
    for task in frame.tasks:
        tasks.add_row(
            task.short_id[:12], task.last_status, task.health or "-", _age(frame, task.started_at)
        )
    targets = Table("target", "state", "reason", title="Targets", title_justify="left")
    for target in frame.targets:
        style = "green" if target.state == "healthy" else "yellow"
        targets.add_row(target.address, Text(target.state, style), target.reason)
    alarms = Table(
        "alarm", "state", "rule", "recent periods", "now", title="Alarms", title_justify="left"
    )
    for line in frame.alarms:
        a = line.alarm
        style = {"ALARM": "bold red", "OK": "green"}.get(a.state, "yellow")
        latest = "no data" if line.latest is None else f"{line.latest:.1f} %"
        alarms.add_row(
            a.name,
            Text(a.state, style),
            f"{a.metric} {a.comparison_symbol} {a.threshold:g}",
            Text(sparkline(line.values), "magenta"),
            latest,
        )
    activities = Table(
        "start", "status", "activity", title="Scaling activities", title_justify="left"
    )
    for activity in frame.activities:
        activities.add_row(_time(activity.start), activity.status, Text(_activity_text(activity)))
    notes = [Text(f"note: {n}", "yellow") for n in frame.notes]
    return Group(title, counts, deployment, tasks, targets, alarms, activities, *notes)


def sandbox_time_scale(app: Context) -> float:
    """The sandbox's clock compression (1.0 on AWS)."""
    return app.sandbox.time_scale if app.sandbox else 1.0


def watch(
    app: Context,
    interval: float,
    count: int | None = None,
    time_scale: float = 1.0,
    reader: Callable[[], Frame] | None = None,
) -> int:
    """Refresh until Ctrl-C or `count` frames; returns the frames shown."""
    read = reader or (lambda: read_frame(app, time_scale))
    shown = 0
    try:
        if app.ui.mode == "rich":
            shown = _live(app, read, interval, count)
        else:
            shown = _lines(app, read, interval, count)
    except KeyboardInterrupt:
        pass
    app.ui.summary("ok", f"watched {shown} refresh(es)", refreshes=shown)
    return shown


def _live(app: Context, read: Callable[[], Frame], interval: float, count: int | None) -> int:
    from rich.live import Live

    shown = 0
    with Live(render(read()), console=app.ui.console, auto_refresh=False) as live:
        shown = 1
        while count is None or shown < count:
            app.clock.sleep(interval)
            live.update(render(read()), refresh=True)
            shown += 1
    return shown


def _lines(app: Context, read: Callable[[], Frame], interval: float, count: int | None) -> int:
    shown, previous = 0, None
    while count is None or shown < count:
        if shown:
            app.clock.sleep(interval)
        frame = read()
        shown += 1
        lines = frame_lines(frame)
        if lines == previous:
            continue
        previous = lines
        app.ui.event(
            "watch",
            f"-- {_time(frame.at)} ({frame.clock_note()})\n" + "\n".join(lines),
            desired=frame.desired,
            running=frame.running,
            alarms={line.alarm.name: line.alarm.state for line in frame.alarms},
            lines=lines,
        )
    return shown
