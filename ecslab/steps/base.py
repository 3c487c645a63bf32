"""What every lab step is: a postcondition check, a plan, and a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    DONE = "done"
    ALREADY_DONE = "already-done"
    PLANNED = "planned"


@dataclass(frozen=True)
class Check:
    """Whether a step's postcondition already holds in the real world, and why."""

    done: bool
    reason: str


@dataclass(frozen=True)
class StepResult:
    outcome: Outcome
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


class Step(Protocol):
    """A lab step. `check` and `plan` change nothing; `run` makes the postcondition true."""

    name: str

    def check(self) -> Check: ...

    def plan(self) -> list[str]:
        """What `run` would change, one line each (used by `plan` and `--dry-run`)."""
        ...

    def run(self) -> StepResult: ...
