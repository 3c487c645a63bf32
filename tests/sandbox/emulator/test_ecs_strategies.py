"""The traffic-shifting arithmetic: weights for a production share, and the steps a canary
and a linear deployment take (pure functions; the whole behaviour under load is in
tests/sandbox/test_deployment_strategies.py)."""

from __future__ import annotations

import pytest

from ecslab.sandbox.emulator.ecs_strategies import ServiceDeployment, _shift, split


def _share(weights: dict[str, int], side: list[str]) -> float:
    return 100.0 * sum(weights[a] for a in side) / sum(weights.values())


@pytest.mark.parametrize(
    ("green", "blue", "percent"),
    [(2, 2, 20.0), (1, 3, 10.0), (3, 2, 50.0), (2, 10, 3.0), (10, 2, 97.0)],
)
def test_weights_give_each_side_its_share(green: int, blue: int, percent: float) -> None:
    greens = [f"g{n}" for n in range(green)]
    blues = [f"b{n}" for n in range(blue)]

    weights = split(greens, blues, percent)

    assert max(weights.values()) <= 256
    assert _share(weights, greens) == pytest.approx(percent, abs=0.5)


def test_all_or_nothing_leaves_the_other_side_at_weight_zero() -> None:
    assert split(["g"], ["b1", "b2"], 0.0) == {"g": 0, "b1": 256, "b2": 256}
    assert split(["g1", "g2"], ["b"], 100.0) == {"g1": 256, "g2": 256, "b": 0}
    assert split([], [], 50.0) == {}


def _record(strategy: str, **configuration: object) -> ServiceDeployment:
    return ServiceDeployment(
        "arn", "service", "cluster", "ecs-svc/1", "td:2", ["td:1"], dict(configuration),
        strategy, 0.0, shifting=True,
    )  # fmt: skip


def _steps(record: ServiceDeployment, minutes: float, until: float) -> list[tuple[float, float]]:
    """(time, percent) each time the share moves, polling every second of real time."""
    moves: list[tuple[float, float]] = []
    now = since = 0.0
    while now <= until and not _shift(record, now - since, minutes, now):
        if not moves or moves[-1][1] != record.percent:
            moves.append((now, record.percent))
            since = now
        now += 1.0
    return [*moves, (now, record.percent)]


def test_a_canary_holds_its_share_for_its_bake_then_takes_all() -> None:
    record = _record(
        "CANARY", canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 2}
    )

    assert _steps(record, minutes=6.0, until=60) == [(0.0, 10.0), (12.0, 100.0)]


def test_linear_adds_its_step_every_interval() -> None:
    record = _record(
        "LINEAR", linearConfiguration={"stepPercent": 30.0, "stepBakeTimeInMinutes": 1}
    )

    assert _steps(record, minutes=5.0, until=60) == [
        (0.0, 30.0),
        (5.0, 60.0),
        (10.0, 90.0),
        (15.0, 100.0),
    ]


def test_blue_green_moves_everything_at_once() -> None:
    assert _steps(_record("BLUE_GREEN"), minutes=5.0, until=60)[-1] == (0.0, 100.0)
