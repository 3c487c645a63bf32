"""Runs lab steps in order: validate all, then assess each and plan (dry run) or run it.

Every step's inputs are validated before the first step acts, so a bad template or
setting for a late step fails before an early step changes anything. Each step then reads
the world once (`assess`); a step whose postcondition holds is reported and skipped, a
dry run shows the assessment's changes, and a run acts on the same assessment. A step
that raises is shown as failed (text and JSON) before the error reaches the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.core.errors import EcslabError
from ecslab.lab.stack_lock import stack_lock
from ecslab.steps import StepInfo, load_step
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ecslab.compose.app import App
    from ecslab.steps.base import Step


def run_steps(app: App, steps: Sequence[StepInfo], *, dry_run: bool = False) -> list[StepResult]:
    """Run `steps` in order; see the module docstring."""
    loaded = [(info, load_step(info, app)) for info in steps]
    for _, step in loaded:
        step.validate()
    if dry_run or all(info.read_only for info in steps):
        return _run_all(app, loaded, dry_run=dry_run)
    # A run that may change the stack holds its lock from the first assessment on.
    command = "run-all" if len(steps) > 1 else f"step {steps[0].name}"
    with stack_lock(app, app.config.names.stack, app.command_line(command)):
        return _run_all(app, loaded, dry_run=dry_run)


def _run_all(
    app: App, loaded: Sequence[tuple[StepInfo, Step]], *, dry_run: bool
) -> list[StepResult]:
    return [
        _run_one(app, number, info, step, dry_run=dry_run)
        for number, (info, step) in enumerate(loaded, start=1)
    ]


def _run_one(app: App, number: int, info: StepInfo, step: Step, *, dry_run: bool) -> StepResult:
    ui = app.ui
    ui.step(info.name, "started", f"{info.summary} ({info.lab_ref})", index=number)
    try:
        result = _outcome(app, info, step, dry_run=dry_run)
    except EcslabError as exc:
        ui.step(info.name, str(Outcome.FAILED), exc.message, index=number)
        raise
    ui.step(info.name, str(result.outcome), result.message, index=number, data=dict(result.data))
    return result


def _outcome(app: App, info: StepInfo, step: Step, *, dry_run: bool) -> StepResult:
    assessment = step.assess()
    if assessment.done:
        return StepResult(Outcome.ALREADY_DONE, f"already done: {assessment.reason}")
    if dry_run:
        return _planned(app, info, assessment)
    return step.run(assessment)


def _planned(app: App, info: StepInfo, assessment: Assessment) -> StepResult:
    """A dry run's result: what would change (a read-only step would only look)."""
    changes = list(assessment.changes)
    for line in changes:
        app.ui.detail(f"  would {line}", step=info.name)
    if info.read_only:
        return StepResult(Outcome.PLANNED, "changes nothing", {"changes": [], "checks": changes})
    return StepResult(Outcome.PLANNED, f"{len(changes)} change(s) planned", {"changes": changes})
