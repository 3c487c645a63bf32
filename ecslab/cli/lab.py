"""Commands that run the lab: run-all, step NAME, plan, verify."""

from __future__ import annotations

import click

from ecslab.cli.options import (
    dry_run_option,
    lab_options,
    timeout_option,
    verify_url_option,
    yes_option,
)
from ecslab.cli.state import with_app
from ecslab.compose.app import App
from ecslab.core.errors import NothingToDo, UsageError
from ecslab.steps import STEP_NAMES, STEPS, StepInfo, for_mode, step_info, steps_from
from ecslab.steps.base import Outcome


def _run(app: App, steps: tuple[StepInfo, ...], *, dry_run: bool) -> None:
    from ecslab.compose.runner import run_steps

    results = run_steps(app, steps, dry_run=dry_run)
    counts = {o: sum(1 for r in results if r.outcome == o) for o in Outcome}
    if dry_run:
        changing = sum(
            1
            for info, r in zip(steps, results, strict=True)
            if r.outcome == Outcome.PLANNED and not info.read_only
        )
        message = f"plan: {changing} step(s) would change something"
    elif counts[Outcome.DONE] == 0:
        message = "everything was already done; nothing changed"
    else:
        message = (
            f"{counts[Outcome.DONE]} step(s) done, {counts[Outcome.ALREADY_DONE]} already done"
        )
    app.ui.summary(
        "ok",
        message,
        steps=[
            {"step": i.name, "outcome": str(r.outcome)} for i, r in zip(steps, results, strict=True)
        ],
    )


@click.command("run-all")
@click.option(
    "--from",
    "from_step",
    type=click.Choice(STEP_NAMES),
    metavar="STEP",
    help="Start at this step instead of the first.",
)
@lab_options
@timeout_option
@dry_run_option
@yes_option
@with_app
def run_all(app: App, from_step: str | None, dry_run: bool) -> None:
    """Run every lab step in order; steps already done are skipped.

    Safe to run again: each step checks the real state first. After an interruption
    it continues where the real state says it stopped.

    \b
    Examples:
      ecslab run-all
      ecslab run-all --dry-run          # show what would change
      ecslab --yes run-all --cpu 512 --memory 1024
    """
    _run(app, for_mode(steps_from(from_step), app.config.sandbox), dry_run=dry_run)


class StepGroup(click.Group):
    """Lists the steps in lab order, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(STEP_NAMES)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (f"{n}. {info.name}", f"{info.summary} ({info.lab_ref})")
            for n, info in enumerate(STEPS, start=1)
        ]
        with formatter.section("Steps, in lab order"):
            formatter.write_dl(rows)


@click.group("step", cls=StepGroup)
def step_group() -> None:
    """Run one lab step (they are listed in the order the lab runs them).

    \b
    Example:
      ecslab step push-image
    """


def _make_step_command(info: StepInfo) -> click.Command:
    @lab_options
    @timeout_option
    @dry_run_option
    @yes_option
    @with_app
    def command(app: App, dry_run: bool) -> None:
        if info.sandbox_only and not app.config.sandbox:
            raise UsageError(
                f"step {info.name} runs only in the local sandbox (on AWS, Fargate does it)",
                f"run `ecslab --sandbox step {info.name}`",
            )
        _run(app, (step_info(info.name),), dry_run=dry_run)

    command.__doc__ = f"{info.summary} ({info.lab_ref})"
    return click.command(info.name, help=command.__doc__, short_help=info.summary)(command)


for _info in STEPS:
    step_group.add_command(_make_step_command(_info))


@click.command("plan")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 3 when nothing would change (for scripts)."
)
@lab_options
@with_app
def plan(app: App, detailed_exitcode: bool) -> None:
    """Show what every step would change, and change nothing.

    \b
    Example:
      ecslab plan
    """
    from ecslab.compose.runner import run_steps

    steps = for_mode(STEPS, app.config.sandbox)
    results = run_steps(app, steps, dry_run=True)
    planned = [
        info.name
        for info, result in zip(steps, results, strict=True)
        if result.outcome == Outcome.PLANNED and not info.read_only
    ]
    if not planned:
        app.ui.summary("ok", "up to date: no step would change anything", planned=[])
        if detailed_exitcode:
            raise NothingToDo("nothing to do")
        return
    app.ui.summary("ok", f"would change: {', '.join(planned)}", planned=planned)


@click.command("verify", short_help="Check the load balancer answers with data from the database.")
@verify_url_option
@timeout_option
@with_app
def verify(app: App) -> None:
    """Check that the load balancer URL answers with data from the database (lab step 13).

    Polls until the backend is healthy or the timeout passes without progress, showing
    the service's rollout and target health meanwhile; on failure it names the cause.

    \b
    Example:
      ecslab verify --timeout 15m
    """
    _run(app, (step_info("verify"),), dry_run=False)
