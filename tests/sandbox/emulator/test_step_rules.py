"""Application Auto Scaling's step arithmetic, on a fixed clock: no moto."""

from __future__ import annotations

import pytest

from ecslab.sandbox.emulator.step_rules import (
    Cooldowns,
    ScalableTargetState,
    Step,
    StepPolicy,
    adjusted,
    choose_step,
    decide,
    start_cooldown,
)

# The lab's policies, as the template writes them.
UP = StepPolicy.from_configuration(
    "up",
    {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Average",
        "Cooldown": 60,
        "StepAdjustments": [
            {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 15, "ScalingAdjustment": 1},
            {
                "MetricIntervalLowerBound": 15,
                "MetricIntervalUpperBound": 25,
                "ScalingAdjustment": 2,
            },
            {"MetricIntervalLowerBound": 25, "ScalingAdjustment": 3},
        ],
    },
)
DOWN = StepPolicy.from_configuration(
    "down",
    {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": 60,
        "StepAdjustments": [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}],
    },
)
LAB = ScalableTargetState(2, 10)


@pytest.mark.parametrize(
    ("value", "adjustment"),
    [(70.0, 1), (84.9, 1), (85.0, 2), (94.9, 2), (95.0, 3), (100.0, 3), (69.9, None)],
)
def test_the_lab_scale_up_steps_relative_to_the_70_percent_threshold(
    value: float, adjustment: int | None
) -> None:
    step = choose_step(UP.steps, value - 70.0)
    assert (step.adjustment if step else None) == adjustment


def test_below_the_threshold_the_upper_bound_is_inclusive() -> None:
    assert choose_step(DOWN.steps, 20.0 - 20.0) is not None  # exactly at the <= 20 threshold
    assert choose_step(DOWN.steps, 7.0 - 20.0) is not None
    assert choose_step(DOWN.steps, 0.1) is None
    bounded = (Step(-10, 0, -1), Step(None, -10, -2))
    chosen = choose_step(bounded, -10.0)
    assert chosen is not None and chosen.adjustment == -2  # lower exclusive below it


def test_scale_out_adds_the_step_and_starts_a_cooldown() -> None:
    cooldowns = Cooldowns()
    decision = decide(UP, LAB, 2, 88.0 - 70.0, cooldowns, now=1000.0)
    assert (decision.action, decision.capacity) == ("scale", 4)
    start_cooldown(cooldowns, 2, 4, 60, 1000.0)
    # +3 inside the cooldown: the +2 already added counts, so it adds 1
    again = decide(UP, LAB, 4, 96.0 - 70.0, cooldowns, now=1030.0)
    assert (again.action, again.capacity) == ("scale", 5)
    # the same +2 inside the cooldown adds nothing
    same = decide(UP, LAB, 4, 88.0 - 70.0, cooldowns, now=1030.0)
    assert same.action == "none"
    after = decide(UP, LAB, 4, 88.0 - 70.0, cooldowns, now=1061.0)
    assert (after.action, after.capacity) == ("scale", 6)


def test_scale_in_waits_for_the_cooldown() -> None:
    cooldowns = Cooldowns()
    start_cooldown(cooldowns, 2, 3, 60, 1000.0)
    assert decide(DOWN, LAB, 3, -13.0, cooldowns, now=1059.0).action == "none"
    decision = decide(DOWN, LAB, 3, -13.0, cooldowns, now=1060.0)
    assert (decision.action, decision.capacity) == ("scale", 2)
    start_cooldown(cooldowns, 3, 2, 60, 1060.0)
    assert cooldowns.in_until == 1120.0
    # a scale-out during a scale-in cooldown happens at once and ends it
    out = decide(UP, LAB, 2, 1.0, cooldowns, now=1070.0)
    assert (out.action, out.capacity) == ("scale", 3)
    start_cooldown(cooldowns, 2, 3, 60, 1070.0)
    assert cooldowns.in_until == 0.0


def test_min_and_max_clamp_and_say_why() -> None:
    at_min = decide(DOWN, LAB, 2, -13.0, Cooldowns(), now=0.0)
    assert (at_min.action, at_min.reason, at_min.capacity) == (
        "not-scaled",
        "AlreadyAtMinCapacity",
        2,
    )
    at_max = decide(UP, LAB, 10, 30.0, Cooldowns(), now=0.0)
    assert (at_max.action, at_max.reason) == ("not-scaled", "AlreadyAtMaxCapacity")
    near_max = decide(UP, LAB, 9, 30.0, Cooldowns(), now=0.0)
    assert (near_max.action, near_max.capacity) == ("scale", 10)


def test_a_suspended_direction_does_nothing() -> None:
    suspended = ScalableTargetState(2, 10, scale_out_suspended=True)
    assert decide(UP, suspended, 2, 1.0, Cooldowns(), now=0.0).action == "none"
    assert (
        decide(
            DOWN, ScalableTargetState(2, 10, scale_in_suspended=True), 3, -1.0, Cooldowns(), 0.0
        ).action
        == "none"
    )


def test_adjustment_types() -> None:
    exact = StepPolicy("e", "ExactCapacity", (Step(0, None, 5),))
    assert adjusted(exact, exact.steps[0], 2) == 5
    percent = StepPolicy("p", "PercentChangeInCapacity", (Step(0, None, 25),))
    assert adjusted(percent, percent.steps[0], 4) == 5  # 25 % of 4 = 1
    assert adjusted(percent, percent.steps[0], 2) == 3  # 0.5 becomes 1
    assert adjusted(percent, percent.steps[0], 10) == 12  # 2.5 truncated to 2
    magnitude = StepPolicy(
        "m", "PercentChangeInCapacity", (Step(0, None, 25),), min_adjustment_magnitude=2
    )
    assert adjusted(magnitude, magnitude.steps[0], 4) == 6
