"""How ECS rolls a new task definition in: the `deployment_strategy` setting, parsed once.

Spelled `rolling` (ECS's default: tasks replaced within maximumPercent /
minimumHealthyPercent), `blue-green` (a full new set of tasks, then all production traffic
at once), `canary:PERCENT:MINUTES` (PERCENT of the traffic to the new tasks for MINUTES,
then the rest) or `linear:PERCENT:MINUTES` (PERCENT more every MINUTES). The three that
shift traffic end with the bake time (`deployment_bake_minutes`), during which an alarm
in ALARM rolls the deployment back. The bounds are CloudFormation's for AWS::ECS::Service
(CanaryPercent 0.1-100, StepPercent 3-100, bake times 0-1440 minutes).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("rolling", "blue-green", "canary", "linear")
# The API's DeploymentConfiguration.strategy for each kind.
API_NAMES = {
    "rolling": "ROLLING",
    "blue-green": "BLUE_GREEN",
    "canary": "CANARY",
    "linear": "LINEAR",
}
MAX_MINUTES = 1440
MIN_PERCENT = {"canary": 0.1, "linear": 3.0}
SPELLING = "rolling, blue-green, canary:PERCENT:MINUTES or linear:PERCENT:MINUTES"


@dataclass(frozen=True)
class Strategy:
    """A parsed deployment strategy; percent and minutes only for canary and linear."""

    kind: str = "rolling"
    percent: float = 0.0
    minutes: int = 0

    @property
    def api_name(self) -> str:
        return API_NAMES[self.kind]

    @property
    def shifts_traffic(self) -> bool:
        return self.kind != "rolling"

    def __str__(self) -> str:
        if self.kind in ("canary", "linear"):
            return f"{self.kind}:{self.percent:g}:{self.minutes}"
        return self.kind


def parse(text: str) -> Strategy:
    """`text` as a Strategy; ValueError saying what is allowed otherwise."""
    kind, *rest = text.strip().lower().split(":")
    if kind not in KINDS:
        raise ValueError(f"is not a deployment strategy: use {SPELLING}")
    if kind in ("rolling", "blue-green"):
        if rest:
            raise ValueError(f"{kind} takes no percent or minutes")
        return Strategy(kind)
    if len(rest) != 2:
        raise ValueError(f"{kind} needs a percent and minutes, as in {kind}:10:5")
    try:
        percent, minutes = round(float(rest[0]), 1), int(rest[1])
    except ValueError:
        raise ValueError(f"{kind}:PERCENT:MINUTES takes numbers, as in {kind}:10:5") from None
    if not MIN_PERCENT[kind] <= percent <= 100:
        raise ValueError(f"{kind}'s percent must be {MIN_PERCENT[kind]:g} to 100")
    if not 0 <= minutes <= MAX_MINUTES:
        raise ValueError(f"{kind}'s minutes must be 0 to {MAX_MINUTES}")
    return Strategy(kind, percent, minutes)
