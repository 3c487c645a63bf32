"""`ecslab scale`: the service's task count and autoscaling bounds, through the stack.

The count (DesiredCount) and the bounds (MinCapacity, MaxCapacity) are stack parameters:
a stack update sets them, so no later update undoes them (every deploy keeps the deployed
values). The scalable target is then registered with the same bounds, which is what the
stack does on AWS and makes it so where the stack's autoscaling is not run (the sandbox).
Application Auto Scaling keeps moving the count within the bounds when an alarm fires: a
count outside them is refused, and a count that an alarm in ALARM would move is said.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecslab.aws.autoscaling import resource_id, scaling_names
from ecslab.core.errors import UsageError
from ecslab.core.naming import deployed
from ecslab.lab.context import Context
from ecslab.lab.deploy import deploy
from ecslab.lab.rollback import IMAGE_PARAMETER, deployed_stack
from ecslab.lab.stack_inputs import full_stack

DEFAULTS = {"DesiredCount": 2, "MinCapacity": 2, "MaxCapacity": 10}


@dataclass(frozen=True)
class Scale:
    desired: int
    min_capacity: int
    max_capacity: int

    def parameters(self) -> dict[str, str]:
        return {
            "DesiredCount": str(self.desired),
            "MinCapacity": str(self.min_capacity),
            "MaxCapacity": str(self.max_capacity),
        }


def wanted_scale(
    current: dict[str, int], count: int | None, low: int | None, high: int | None
) -> Scale:
    """The new values; a UsageError when the count is outside the bounds."""
    if count is None and low is None and high is None:
        raise UsageError("say what to change", "`ecslab scale 3` or `ecslab scale --min 2 --max 6`")
    new_min = current["MinCapacity"] if low is None else low
    new_max = current["MaxCapacity"] if high is None else high
    if new_min > new_max:
        raise UsageError(f"--min {new_min} is above --max {new_max}")
    desired = current["DesiredCount"] if count is None else count
    if count is None:
        desired = min(max(desired, new_min), new_max)
    if not new_min <= desired <= new_max:
        raise UsageError(
            f"{desired} tasks is outside the autoscaling range [{new_min}, {new_max}]: "
            "Application Auto Scaling would move the count back into it",
            f"widen the range too: `ecslab scale {desired} --min {min(desired, new_min)} "
            f"--max {max(desired, new_max)}`",
        )
    return Scale(desired, new_min, new_max)


def current_scale(parameters: dict[str, str]) -> dict[str, int]:
    return {k: int(parameters.get(k) or v) for k, v in DEFAULTS.items()}


def scale(app: Context, count: int | None, low: int | None, high: int | None) -> Scale:
    """Update the stack's scaling parameters, then the scalable target's bounds."""
    stack = deployed_stack(app)
    target = wanted_scale(current_scale(stack.parameters), count, low, high)
    resume = app.command_line(
        f"scale {target.desired} --min {target.min_capacity} --max {target.max_capacity}"
    )
    desired = full_stack(app, stack, stack.parameters[IMAGE_PARAMETER], target.parameters(), resume)
    result = deploy(app, desired)
    where = deployed(app.config.names, result.stack.outputs or stack.outputs)
    rid = resource_id(where.cluster, where.service)
    app.aws.autoscaling.register_scalable_target(rid, target.min_capacity, target.max_capacity)
    _warn_alarms(app, target, where.cluster, where.service)
    return target


def _warn_alarms(app: Context, target: Scale, cluster: str, service: str) -> None:
    """Say which alarm in ALARM would move the count next, and through which policy."""
    names = scaling_names(app.config.names)
    alarms = {
        a.name: a for a in app.aws.autoscaling.alarms([names["high_alarm"], names["low_alarm"]])
    }
    low, high = alarms.get(names["low_alarm"]), alarms.get(names["high_alarm"])
    if low is not None and low.state == "ALARM" and target.desired > target.min_capacity:
        app.ui.warning(
            f"alarm {low.name} is in ALARM: policy {names['scale_down']} will remove tasks "
            f"one at a time (after each cooldown) down to {target.min_capacity}; to hold "
            f"{target.desired}, raise the minimum: `ecslab scale {target.desired} --min "
            f"{target.desired}`"
        )
    if high is not None and high.state == "ALARM" and target.desired < target.max_capacity:
        app.ui.warning(
            f"alarm {high.name} is in ALARM: policy {names['scale_up']} will add tasks up "
            f"to {target.max_capacity}"
        )
