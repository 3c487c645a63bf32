"""How Application Auto Scaling runs a step scaling policy: pure arithmetic, no moto.

`decide()` takes the policy, the scalable target, the current desired count, the alarm's
aggregated breach value and threshold, the cooldowns in force and the time, and says what
to do: set a new desired count, record a "not scaled" activity, or nothing.

- The step: bounds are relative to the threshold (delta = value - threshold). Above the
  threshold a step's lower bound is inclusive and its upper exclusive; below it, the
  reverse; a missing bound is infinite. At delta 0 both sides hold.
- The change: ChangeInCapacity adds, ExactCapacity sets, PercentChangeInCapacity adds a
  share of the current count (a fraction under 1 becomes 1, others are truncated, as EC2
  Auto Scaling rounds; then MinAdjustmentMagnitude), then [MinCapacity, MaxCapacity].
- Cooldown (seconds on the sandbox's clock, `scale` per real second): during a scale-out's
  cooldown the capacity it added counts toward the next scale-out (+2 then +3 adds 1);
  scale-ins wait until the cooldown ends; a scale-out during a scale-in cooldown happens at
  once and ends it. That a scale-in also waits for a scale-out's cooldown is our reading
  of the documentation (unverified): it is what makes the lab settle after a scale-out.
- Suspension: a suspended direction does nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    lower: float | None
    upper: float | None
    adjustment: int

    def holds(self, delta: float) -> bool:
        above_lower = self.lower is None or delta > self.lower or (delta == self.lower >= 0)
        below_upper = self.upper is None or delta < self.upper or (delta == self.upper <= 0)
        return above_lower and below_upper


@dataclass(frozen=True)
class StepPolicy:
    name: str
    adjustment_type: str
    steps: tuple[Step, ...]
    cooldown: int = 300  # AWS's default
    aggregation: str = "Average"
    min_adjustment_magnitude: int | None = None

    @classmethod
    def from_configuration(cls, name: str, config: dict[str, Any]) -> StepPolicy:
        """From a StepScalingPolicyConfiguration as the API spells it."""
        steps = tuple(
            Step(
                _bound(raw.get("MetricIntervalLowerBound")),
                _bound(raw.get("MetricIntervalUpperBound")),
                int(raw["ScalingAdjustment"]),
            )
            for raw in config.get("StepAdjustments", [])
        )
        magnitude = config.get("MinAdjustmentMagnitude")
        return cls(
            name=name,
            adjustment_type=str(config.get("AdjustmentType", "ChangeInCapacity")),
            steps=steps,
            cooldown=int(config.get("Cooldown", 300)),
            aggregation=str(config.get("MetricAggregationType") or "Average"),
            min_adjustment_magnitude=int(magnitude) if magnitude is not None else None,
        )


@dataclass(frozen=True)
class ScalableTargetState:
    """What a step policy needs of its scalable target: the bounds and the suspensions."""

    min_capacity: int
    max_capacity: int
    scale_in_suspended: bool = False
    scale_out_suspended: bool = False


@dataclass
class Cooldowns:
    """The cooldowns in force on one scalable target, in real seconds (time.time())."""

    out_until: float = 0.0
    out_base: int = 0  # desired count before the scale-out that started the cooldown
    in_until: float = 0.0


@dataclass(frozen=True)
class Decision:
    """`action`: "scale" (to `capacity`), "not-scaled" (`reason` says why) or "none"."""

    action: str
    capacity: int
    reason: str = ""
    why: str = ""  # for "none": a sentence for logs


def choose_step(steps: Sequence[Step], delta: float) -> Step | None:
    return next((s for s in steps if s.holds(delta)), None)


def aggregate(values: Sequence[float], how: str) -> float | None:
    if not values:
        return None
    if how == "Minimum":
        return min(values)
    if how == "Maximum":
        return max(values)
    return sum(values) / len(values)


def adjusted(policy: StepPolicy, step: Step, current: int) -> int:
    """The desired count the step asks for, before the target's min and max."""
    if policy.adjustment_type == "ExactCapacity":
        return step.adjustment
    if policy.adjustment_type == "PercentChangeInCapacity":
        change = current * step.adjustment / 100
        whole = int(math.copysign(1, change)) if 0 < abs(change) < 1 else math.trunc(change)
        magnitude = policy.min_adjustment_magnitude or 0
        if whole and abs(whole) < magnitude:
            whole = int(math.copysign(magnitude, whole))
        return current + whole
    return current + step.adjustment


def decide(
    policy: StepPolicy,
    target: ScalableTargetState,
    current: int,
    delta: float,
    cooldowns: Cooldowns,
    now: float,
) -> Decision:
    """What one run of the policy does (see the module docstring)."""
    step = choose_step(policy.steps, delta)
    if step is None:
        return Decision("none", current, why=f"no step adjustment holds a breach of {delta:+g}")
    wanted = adjusted(policy, step, current)
    if wanted == current:
        return Decision("none", current, why="the step does not change the desired count")
    scale_out = wanted > current
    if scale_out and target.scale_out_suspended:
        return Decision("none", current, why="dynamic scale-out is suspended")
    if not scale_out and target.scale_in_suspended:
        return Decision("none", current, why="dynamic scale-in is suspended")
    if scale_out and now < cooldowns.out_until:
        wanted = max(current, adjusted(policy, step, cooldowns.out_base))
        if wanted == current:
            return Decision("none", current, why="within the scale-out cooldown")
    if not scale_out and now < max(cooldowns.in_until, cooldowns.out_until):
        return Decision("none", current, why="within the cooldown")
    return _clamped(target, current, wanted)


def _clamped(target: ScalableTargetState, current: int, wanted: int) -> Decision:
    capacity = min(max(wanted, target.min_capacity), target.max_capacity)
    if capacity != current:
        return Decision("scale", capacity)
    if wanted > current:
        return Decision("not-scaled", capacity, reason="AlreadyAtMaxCapacity")
    return Decision("not-scaled", capacity, reason="AlreadyAtMinCapacity")


def start_cooldown(
    cooldowns: Cooldowns, before: int, after: int, cooldown_s: float, now: float
) -> None:
    """Record a scaling activity's cooldown (`cooldown_s` already in real seconds)."""
    if after > before:
        if now >= cooldowns.out_until:
            cooldowns.out_base = before
        cooldowns.out_until = now + cooldown_s
        cooldowns.in_until = 0.0  # a scale-out ends a scale-in cooldown
    else:
        cooldowns.in_until = now + cooldown_s


def _bound(value: Any) -> float | None:
    return None if value is None else float(value)
