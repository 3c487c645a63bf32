"""`ecslab status --watch`: the autoscaling at work, read into one frame per refresh.

`read_frame()` gathers what a learner wants to see while the service scales: the service's
desired/running/pending counts, its newest deployment (status, lifecycle stage and the
traffic split of a blue/green, canary or linear one; left out where ECS keeps no
history), its tasks (state, health, age), the load balancer's targets, each scaling
alarm's metric over its recent periods against its threshold, the alarms' states, and the
newest scaling activities. Every part that cannot be read becomes a
note in the frame instead of an error, so the view keeps refreshing. `views.watch` renders
frames.

The sandbox may run CloudWatch and Auto Scaling on a compressed clock (`time_scale`
sandbox seconds per real second): the metric is then read in periods of period/scale real
seconds, and the frame says so, since every time it shows is a real time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from ecslab.aws.autoscaling import Activity, Alarm, Autoscaling, resource_id
from ecslab.aws.ecs import Task
from ecslab.core.errors import AwsError
from ecslab.lab.observe import Observer

if TYPE_CHECKING:
    from ecslab.aws.elbv2 import TargetHealth
    from ecslab.lab.context import Context

T = TypeVar("T")
SPARK_PERIODS = 20  # how many of an alarm's periods its sparkline shows
ACTIVITIES = 4


@dataclass(frozen=True)
class AlarmLine:
    alarm: Alarm
    values: tuple[float, ...]  # one per period, oldest first; the newest last

    @property
    def latest(self) -> float | None:
        return self.values[-1] if self.values else None


@dataclass(frozen=True)
class Frame:
    at: datetime
    time_scale: float
    desired: int | None = None
    running: int | None = None
    pending: int | None = None
    tasks: tuple[Task, ...] = ()
    targets: tuple[TargetHealth, ...] = ()
    alarms: tuple[AlarmLine, ...] = ()
    activities: tuple[Activity, ...] = ()
    notes: tuple[str, ...] = field(default=())
    deployment: str = ""  # deployment_progress.describe of the newest deployment

    def clock_note(self) -> str:
        if self.time_scale == 1.0:
            return "times are UTC"
        return (
            f"sandbox clock x{self.time_scale:g}: a 60 s period or cooldown lasts "
            f"{60 / self.time_scale:g} s; times are real, UTC"
        )


def read_frame(
    app: Context, time_scale: float = 1.0, wall: Callable[[], datetime] | None = None
) -> Frame:
    """One reading of everything the view shows."""
    now = (wall or (lambda: datetime.fromtimestamp(app.clock.wall(), tz=UTC)))()
    notes: list[str] = []
    observer = Observer(app)
    snapshot = _try(notes, "service", observer.snapshot)
    if snapshot is None or snapshot.service is None:
        notes.append("no ECS service yet: run `ecslab run-all`")
        return Frame(now, time_scale, notes=tuple(notes))
    service = snapshot.service
    cluster, name = observer.service_ref(snapshot.stack)
    tasks = _try(notes, "tasks", lambda: app.aws.ecs.tasks(cluster, name)) or []
    scaling = app.aws.autoscaling
    setup = _try(notes, "alarms", lambda: scaling.read(app.config.names, cluster, name))
    alarms = sorted(setup.alarms.values(), key=lambda a: a.name) if setup else []
    lines = [_alarm_line(scaling, a, now, time_scale, notes) for a in alarms]
    deployment = _deployment_line(app)
    rid = resource_id(cluster, name)
    activities = _try(notes, "scaling activities", lambda: scaling.activities(rid, ACTIVITIES))
    return Frame(
        at=now,
        time_scale=time_scale,
        desired=service.desired,
        running=service.running,
        pending=service.pending,
        tasks=tuple(tasks),
        targets=snapshot.targets,
        alarms=tuple(lines),
        activities=tuple(activities or ()),
        notes=tuple(notes),
        deployment=deployment,
    )


def _deployment_line(app: Context) -> str:
    """The newest deployment in one line; "" where ECS has no deployment history to read
    (an endpoint without ListServiceDeployments), which is not worth a note every frame."""
    from ecslab.lab.deployment_progress import describe, newest

    try:
        found = newest(app)
    except AwsError:
        return ""
    return describe(found) if found is not None else ""


def _alarm_line(
    scaling: Autoscaling, alarm: Alarm, now: datetime, scale: float, notes: list[str]
) -> AlarmLine:
    period = max(1, round(alarm.period / scale))
    start = now - timedelta(seconds=period * SPARK_PERIODS)
    values = _try(
        notes, f"metric of {alarm.name}", lambda: scaling.metric_values(alarm, start, now, period)
    )
    return AlarmLine(alarm, tuple(v for _, v in values or ()))


def _try(notes: list[str], what: str, read: Callable[[], T]) -> T | None:
    try:
        return read()
    except AwsError as exc:
        notes.append(f"cannot read the {what}: {exc.message}")
        return None
