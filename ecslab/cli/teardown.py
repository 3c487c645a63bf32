"""`ecslab destroy`: remove everything the lab created."""

from __future__ import annotations

import click

from ecslab.cli.options import timeout_option, yes_option
from ecslab.cli.state import with_app
from ecslab.compose.app import App


@click.command("destroy")
@timeout_option
@yes_option
@with_app
def destroy(app: App) -> None:
    """Delete the stack, then empty and delete the retained ECR repository.

    Asks first unless --yes. Reports anything it could not remove.

    \b
    Example:
      ecslab --yes destroy
    """
    from ecslab.lab.destroy import destroy_all

    destroy_all(app)
