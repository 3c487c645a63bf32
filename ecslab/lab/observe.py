"""A snapshot of the deployed service: stack, ECS service, target health; and what changed.

`Observer` finds the cluster, service and target group from the stack's outputs (falling
back to the names in ecslab/naming.py) and reads them in one `snapshot()`. Verify takes a
snapshot every poll and `Changes` says what is new since the last one: the basis of its
progress display and of its "the timeout restarts on progress" rule. `status` shows one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ecslab.aws.cloudformation import BROKEN_STATES, Stack
from ecslab.aws.ecs import Service, ServiceEvent
from ecslab.aws.elbv2 import TargetHealth
from ecslab.core.naming import TARGET_GROUP_ID, deployed

if TYPE_CHECKING:
    from ecslab.aws.autoscaling import ScalingSetup
    from ecslab.core.ui import UI
    from ecslab.lab.context import Context


@dataclass(frozen=True)
class Snapshot:
    """What AWS said at one moment; `service` is None when it does not exist."""

    stack: Stack | None
    service: Service | None
    targets: tuple[TargetHealth, ...] = ()

    @property
    def healthy_targets(self) -> int:
        return sum(1 for t in self.targets if t.healthy)

    def stack_failed(self) -> bool:
        return self.stack is not None and self.stack.status in BROKEN_STATES

    def headline(self) -> str:
        """One line: counts, rollout and target health."""
        if self.service is None:
            return "no ECS service found"
        s = self.service
        rollout = ", ".join(
            f"{d.status.lower()} {d.rollout_state or '?'} {d.running}/{d.desired}"
            for d in s.deployments
        )
        targets = f"targets {self.healthy_targets}/{len(self.targets)} healthy"
        return (
            f"tasks running {s.running}/{s.desired}, pending {s.pending}; "
            f"deployments: {rollout or 'none'}; {targets}"
        )


@dataclass
class Changes:
    """Remembers what was already shown, so each poll reports only what is new."""

    seen_events: set[str] = field(default_factory=set)
    target_states: dict[str, str] = field(default_factory=dict)

    def new_events(self, snapshot: Snapshot) -> list[ServiceEvent]:
        """Service events not reported before, oldest first."""
        events = snapshot.service.events if snapshot.service else ()
        fresh = [e for e in events if e.id not in self.seen_events]
        self.seen_events.update(e.id for e in fresh)
        return list(reversed(fresh))

    def target_changes(self, snapshot: Snapshot) -> list[TargetHealth]:
        changed = [t for t in snapshot.targets if self.target_states.get(t.address) != t.state]
        self.target_states = {t.address: t.state for t in snapshot.targets}
        return changed


@dataclass
class Progress:
    """High-water marks: progress is a new best, so flapping counts cannot extend a wait.

    A running count or healthy-target count above any seen before, a deployment reaching a
    rollout state not seen before, or a stack status not seen before is progress.
    """

    best_running: int | None = None
    best_healthy: int | None = None
    rollouts: set[tuple[str, str]] = field(default_factory=set)
    stack_states: set[str] = field(default_factory=set)

    def update(self, snapshot: Snapshot) -> list[str]:
        """What progressed since the marks were last updated ([] the first time)."""
        first = self.best_running is None
        found: list[str] = []
        service = snapshot.service
        running = service.running if service else 0
        if self.best_running is not None and running > self.best_running:
            found.append(f"{running} task(s) running")
        self.best_running = max(running, self.best_running or 0)
        healthy = snapshot.healthy_targets
        if self.best_healthy is not None and healthy > self.best_healthy:
            found.append(f"{healthy} target(s) healthy")
        self.best_healthy = max(healthy, self.best_healthy or 0)
        for d in service.deployments if service else ():
            if (d.id, d.rollout_state) not in self.rollouts:
                self.rollouts.add((d.id, d.rollout_state))
                found.append(f"deployment {d.id} {d.rollout_state or d.status}")
        if snapshot.stack and snapshot.stack.status not in self.stack_states:
            self.stack_states.add(snapshot.stack.status)
            found.append(f"stack {snapshot.stack.status}")
        return [] if first else found


class Observer:
    """Reads the stack, the service and its targets."""

    def __init__(self, app: Context) -> None:
        self._app = app
        self._names = app.config.names
        self._ecs = app.aws.ecs
        self._elb = app.aws.elbv2
        self._target_group: str | None = None
        self._snapshots = 0

    def snapshot(self) -> Snapshot:
        """What AWS says now. The first snapshot may reuse the stack this run already
        read; every later one (a poll) asks AWS again."""
        fresh = self._snapshots > 0
        self._snapshots += 1
        stack = self._app.aws.cloudformation.describe(self._names.stack, fresh=fresh)
        if stack is None:
            return Snapshot(None, None)
        service = self._ecs.describe_service(*self.service_ref(stack))
        return Snapshot(stack, service, tuple(self._targets(service)))

    def service_ref(self, stack: Stack | None) -> tuple[str, str]:
        """(cluster, service) from the stack's outputs, else from the naming rules."""
        where = deployed(self._names, stack.outputs if stack else None)
        return where.cluster, where.service

    def _targets(self, service: Service | None) -> list[TargetHealth]:
        if self._target_group is None:
            # The service names its target group; moto's service forgets it: ask the stack.
            arns = service.target_group_arns if service else ()
            self._target_group = (
                arns[0]
                if arns
                else self._app.aws.cloudformation.resource_id(self._names.stack, TARGET_GROUP_ID)
            )
        if self._target_group is None:
            return []
        return self._elb.target_health(self._target_group)


def show_scaling(ui: UI, setup: ScalingSetup) -> None:
    """The scaling target, policies and alarms as a table, then each problem as a warning."""
    rows: list[tuple[str, str, str]] = []
    target = setup.target
    rows.append(
        (
            "scalable target",
            target.resource_id if target else "missing",
            f"min {target.min_capacity}, max {target.max_capacity}" if target else "",
        )
    )
    for key in ("scale_up", "scale_down"):
        policy = setup.policies.get(setup.names[key])
        steps = ", ".join(f"{a:+d}" for a in policy.adjustments) if policy else ""
        rows.append(("policy", setup.names[key], f"steps {steps}" if policy else "missing"))
    for key in ("high_alarm", "low_alarm"):
        alarm = setup.alarms.get(setup.names[key])
        state = f"{alarm.state}: {alarm.state_reason}" if alarm else "missing"
        rows.append(("alarm", setup.names[key], state))
    ui.table("Autoscaling", ("part", "name", "state"), rows)
    for problem in setup.problems():
        ui.warning(f"autoscaling: {problem}")
