"""Runs lab steps in order: check, then plan (dry run) or run, reporting each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.steps import StepInfo, load_step
from ecslab.steps.base import Outcome, StepResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ecslab.app import App


def run_steps(app: App, steps: Sequence[StepInfo], *, dry_run: bool = False) -> list[StepResult]:
    """Run `steps` in order. A step whose postcondition holds is reported and skipped."""
    results: list[StepResult] = []
    for number, info in enumerate(steps, start=1):
        ui = app.ui
        ui.step(info.name, "started", f"{info.summary} ({info.lab_ref})", index=number)
        step = load_step(info, app)
        check = step.check()
        if check.done:
            result = StepResult(Outcome.ALREADY_DONE, f"already done: {check.reason}")
        elif dry_run:
            changes = step.plan()
            for line in changes:
                ui.detail(f"  would {line}", step=info.name)
            result = StepResult(
                Outcome.PLANNED, f"{len(changes)} change(s) planned", {"changes": changes}
            )
        else:
            result = step.run()
        ui.step(info.name, str(result.outcome), result.message, **dict(result.data))
        results.append(result)
    return results
