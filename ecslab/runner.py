"""Runs lab steps in order: validate all, then check and plan (dry run) or run each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.steps import StepInfo, load_step
from ecslab.steps.base import Outcome, StepResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ecslab.app import App
    from ecslab.steps.base import Step


def run_steps(app: App, steps: Sequence[StepInfo], *, dry_run: bool = False) -> list[StepResult]:
    """Run `steps` in order. A step whose postcondition holds is reported and skipped.

    Every step's inputs are validated before the first step acts, so a bad template or
    setting for a late step fails before an early step changes anything.
    """
    loaded = [(info, load_step(info, app)) for info in steps]
    for _, step in loaded:
        validate = getattr(step, "validate", None)
        if validate is not None:
            validate()
    return [
        _run_one(app, number, info, step, dry_run=dry_run)
        for number, (info, step) in enumerate(loaded, start=1)
    ]


def _run_one(app: App, number: int, info: StepInfo, step: Step, *, dry_run: bool) -> StepResult:
    ui = app.ui
    ui.step(info.name, "started", f"{info.summary} ({info.lab_ref})", index=number)
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
    ui.step(info.name, str(result.outcome), result.message, index=number, data=dict(result.data))
    return result
