"""`ecslab config`: every setting, its value and where the value came from."""

from __future__ import annotations

import click

from ecslab.cli.options import lab_options
from ecslab.cli.state import with_app
from ecslab.compose.app import App
from ecslab.core.config import SETTINGS_BY_KEY


@click.command("config")
@lab_options
@with_app
def config(app: App) -> None:
    """Show the resolved settings and where each came from (flag, env, file, default).

    Precedence: flags > ECSLAB_* environment > ecslab.yaml (or --config) > defaults.
    Secrets are never shown.

    \b
    Example:
      ECSLAB_ENVIRONMENT=prod ecslab config
    """
    json_mode = app.ui.mode == "json"
    rows = [
        (
            key,
            _shown(value, SETTINGS_BY_KEY[key].unset, json_mode),
            source,
            SETTINGS_BY_KEY[key].env,
        )
        for key, value, source in app.config.public_items()
    ]
    app.ui.table("Settings", ("setting", "value", "from", "env var"), rows)
    app.ui.summary("ok", f"stack {app.config.names.stack}", stack=app.config.names.stack)


def _shown(value: object, unset: str, json_mode: bool) -> object:
    """An unset value as what it means ("(the profile's)"); null in JSON."""
    if value is None or value == "":
        return None if json_mode else f"({unset or 'not set'})"
    return value
