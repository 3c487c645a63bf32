"""What every lab step is: validate its inputs, assess the world once, then run.

`assess()` reads what the step needs to know (AWS, Docker, files) exactly once and returns
an `Assessment`: whether the postcondition already holds, why, and what `run` would
change. `plan` and `--dry-run` show `changes`; `run(assessment)` acts on the same reading,
so a step never asks AWS the same question twice in one run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    DONE = "done"
    ALREADY_DONE = "already-done"
    PLANNED = "planned"
    FAILED = "failed"


@dataclass(frozen=True)
class Assessment:
    """One reading of the world for one step.

    `done`: the postcondition holds (nothing to do), with `reason`. `changes`: what `run`
    would change, one line each, for `plan`. `facts`: what the step read, for its run.
    """

    done: bool
    reason: str
    changes: tuple[str, ...] = ()
    facts: Any = None


@dataclass(frozen=True)
class StepResult:
    outcome: Outcome
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


class Step(Protocol):
    """A lab step. `validate` and `assess` change nothing; `run` makes the postcondition
    true, starting from what `assess` read."""

    name: str

    def validate(self) -> None:
        """Check the step's inputs without calling AWS (raises UsageError)."""
        ...

    def assess(self) -> Assessment: ...

    def run(self, assessment: Assessment) -> StepResult: ...
