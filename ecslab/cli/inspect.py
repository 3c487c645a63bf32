"""Commands that look without changing: status, wait, logs, explain."""

from __future__ import annotations

import click

from ecslab.cli.state import with_app
from ecslab.compose.app import App


@click.command("status")
@click.option(
    "--watch",
    "-w",
    is_flag=True,
    help="Refresh a live view (tasks, targets, alarms with their metric, scaling activities) "
    "until Ctrl-C.",
)
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.5, 300),
    help="Seconds between refreshes, with --watch.",
)
@click.option(
    "--count", type=click.IntRange(1), default=None, help="Stop after this many refreshes."
)
@with_app
def status(app: App, watch: bool, interval: float, count: int | None) -> None:
    """Show the stack, service rollout, target health, image and autoscaling state.

    With --watch, a live view of the service while it scales: its tasks (state, health,
    age), the load balancer's targets, each alarm's metric over its last 20 periods as a
    sparkline against the threshold, the alarm states and the newest scaling activities.
    Without a terminal it prints each changed view as plain lines. In the sandbox,
    CloudWatch runs on a compressed clock (a 60 s period lasts 6 s); the view says so.

    \b
    Examples:
      ecslab status
      ecslab --output json status | jq .
      ecslab --sandbox status --watch
    """
    if watch:
        from ecslab.views.watch import sandbox_time_scale
        from ecslab.views.watch import watch as watch_view

        watch_view(app, interval, count, sandbox_time_scale(app))
        return
    from ecslab.views.status import show_status

    show_status(app)


@click.command("wait")
@click.option(
    "--until",
    "target",
    default="deployed",
    show_default=True,
    metavar="deployed|stable|STAGE",
    help="deployed: the newest deployment succeeded; stable: that, and the service runs "
    "its desired count in one deployment; STAGE: a lifecycle stage (bake_time, "
    "production_traffic_shift, ...) of a blue/green, canary or linear deployment.",
)
@with_app
def wait(app: App, target: str) -> None:
    """Wait for the service's newest deployment, showing its stage and traffic split.

    Exits 0 once there, 5 when the deployment fails or is rolled back (naming the alarm
    that rolled it back), and 5 after the `timeout` setting (default 30m) without getting
    there.

    \b
    Examples:
      ecslab wait
      ecslab wait --until bake_time
      ecslab --sandbox wait --until stable
    """
    from ecslab.lab.deployment_progress import describe, wait_until

    deployment = wait_until(app, target, lambda line: app.ui.info(line))
    app.ui.success(f"{target}: {describe(deployment)}")


@click.command("logs")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.option(
    "--since",
    default="10m",
    show_default=True,
    metavar="DURATION",
    help="How far back to start, e.g. 90s, 10m, 2h.",
)
@click.option("--task", metavar="ID", help="Only this task's lines (its id, or the start of it).")
@click.option(
    "--previous",
    is_flag=True,
    help="The last lines of the most recently stopped task, and why it stopped.",
)
@click.option(
    "--lines",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="With --previous.",
)
@with_app
def logs(app: App, follow: bool, since: str, task: str | None, previous: bool, lines: int) -> None:
    """Print the service's CloudWatch log events (each line: time, task id, message).

    Follow mode never prints an event twice and still shows events that CloudWatch
    receives late (up to two minutes after newer ones).

    \b
    Examples:
      ecslab logs --since 1h
      ecslab logs --follow
      ecslab logs --task 0f1e2d3c --since 2h
      ecslab logs --previous --lines 20
    """
    from ecslab.core.config import parse_duration
    from ecslab.core.errors import UsageError
    from ecslab.views.service_logs import show_logs, show_previous

    if previous:
        show_previous(app, lines)
        return
    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise UsageError(f"--since '{since}': {exc}") from exc
    show_logs(app, since_seconds=seconds, follow=follow, task=task)


@click.command("explain")
@click.argument("resource", required=False)
@with_app
def explain(app: App, resource: str | None) -> None:
    """Explain each resource of the template, the autoscaling, and the lab's fixes.

    Give a logical id (e.g. ScaleUpPolicy) to explain just that resource.

    \b
    Examples:
      ecslab explain
      ecslab explain HighMemoryUsageAlarm
    """
    from ecslab.views.explain_view import show_explanation

    show_explanation(app, resource)
