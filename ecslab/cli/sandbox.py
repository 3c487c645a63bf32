"""`ecslab sandbox up | status | down`: the local sandbox the `--sandbox` switch runs in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ecslab.cli.state import CliState, with_app
from ecslab.compose.app import App
from ecslab.core.errors import NothingToDo, UsageError

if TYPE_CHECKING:
    from ecslab.sandbox.control import ServiceStatus


@click.group("sandbox")
@click.pass_context
def sandbox_group(ctx: click.Context) -> None:
    """The local sandbox: rehearse the whole lab on this machine, without an AWS bill.

    moto plays the AWS API, a Docker engine runs the tasks (Fargate's part), a local
    registry stands in for ECR and a local PostgreSQL is the database; a small load
    balancer on 127.0.0.1 forwards to the healthy tasks. Everything listens on loopback
    only. `ecslab --sandbox COMMAND` starts it when needed; these commands manage it.

    \b
    Examples:
      ecslab sandbox up                  # start it (idempotent)
      ecslab --sandbox run-all           # run the lab in it
      ecslab sandbox status
      ecslab sandbox down                # stop everything it started
    """
    ctx.ensure_object(CliState).overlay_sandbox = False


@sandbox_group.command("up")
@click.option(
    "--docker-host",
    metavar="URL",
    envvar="DOCKER_HOST",
    help="Use this Docker engine (unix://... socket) instead of starting a private, "
    "bridge-less dockerd (which needs root). Env: DOCKER_HOST.",
)
@with_app
def up(app: App, docker_host: str | None) -> None:
    """Start the sandbox's services; those already running are left alone."""
    from ecslab.sandbox.control import status, up
    from ecslab.sandbox.state import sandbox_root

    root = sandbox_root(app.config, app.cwd)
    state = up(
        root,
        app.ui,
        docker_host=docker_host,
        base_image=app.config.base_image,
        versions=app.versions,
    )
    _show(app, status(state))
    app.ui.summary(
        "ok",
        f"sandbox up in {root}: run `ecslab --sandbox run-all`",
        endpoint_url=state.endpoint_url,
        load_balancer_url=state.lb_url,
    )


@sandbox_group.command("status")
@with_app
def status(app: App) -> None:
    """Show whether each sandbox service is up, and where it listens."""
    from ecslab.sandbox.control import status
    from ecslab.sandbox.state import load_state, sandbox_root

    root = sandbox_root(app.config, app.cwd)
    state = load_state(root)
    if state is None:
        raise UsageError(f"no sandbox in {root}", "start one with `ecslab sandbox up`")
    services = status(state)
    _show(app, services)
    down = [s.name for s in services if not s.up]
    message = "every service is up" if not down else f"down: {', '.join(down)}"
    app.ui.summary("ok", message, down=down)


@sandbox_group.command("down")
@click.option(
    "--purge", is_flag=True, help="Also delete the private Docker engine's images (the base)."
)
@with_app
def down(app: App, purge: bool) -> None:
    """Stop everything the sandbox started (task containers too), by PID; remove its state."""
    from ecslab.sandbox.control import down
    from ecslab.sandbox.state import sandbox_root

    root = sandbox_root(app.config, app.cwd)
    stopped = down(root, purge=purge)
    if not stopped and not root.exists():
        app.ui.summary("ok", f"no sandbox in {root}", stopped=[])
        raise NothingToDo(f"no sandbox in {root}")
    shown = ", ".join(stopped) or "nothing was running"
    app.ui.summary("ok", f"sandbox down: {shown}", stopped=stopped)


def _show(app: App, services: list[ServiceStatus]) -> None:
    rows = [(s.name, "up" if s.up else "down", s.where) for s in services]
    app.ui.table("Sandbox", ("Service", "State", "Where"), rows)
