"""What the root command hands its subcommands: raw flags, then one built App.

Config is resolved when a command runs, so command-level setting flags (e.g. `--cpu`)
join the root flags in the one precedence order of `ecslab.core.config.resolve`.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from ecslab.cli.options import LAB_SETTINGS
from ecslab.compose.app import App
from ecslab.core.config import SETTINGS_BY_KEY, Config, resolve
from ecslab.core.environment import Environment
from ecslab.core.ui import UI

F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """Carried in ctx.obj."""

    def __init__(self, environment: Environment | None = None) -> None:
        self.environment = environment or Environment.of_process()
        self.env: Mapping[str, str] = self.environment.env
        self.config_path: str | None = None
        self.root_flags: dict[str, object] = {}
        self.flag_names: dict[str, str] = {}
        self.app: App | None = None
        # `ecslab sandbox ...` manages the sandbox itself: no auto-start, no overlay
        self.overlay_sandbox = True
        # the command line as typed (for `--version -o json`, which click parses early)
        self.argv: tuple[str, ...] = ()

    def set_root_flags(self, config_path: str | None, flags: Mapping[str, object]) -> None:
        self.config_path = config_path
        self.root_flags = dict(flags)

    def note_flag_names(self, command: click.Command) -> None:
        """Remember which option spelling sets which config key, for messages."""
        for param in command.params:
            if isinstance(param, click.Option) and param.name in SETTINGS_BY_KEY:
                longest = max(param.opts, key=len)
                self.flag_names[param.name] = longest

    def build_app(self, command_flags: Mapping[str, object]) -> App:
        flags = {**self.root_flags, **{k: v for k, v in command_flags.items() if v is not None}}
        config = resolve(flags, self.env, self.config_path, flag_names=self.flag_names)
        ui = self._ui(config.output, no_color=config.no_color, debug=config.debug, yes=config.yes)
        given = self._given_flags(command_flags)
        self.app = App(
            config=config,
            ui=ui,
            clock=self.environment.clock,
            cwd=self.environment.cwd,
            versions=self.environment.versions,
            given_flags=given,
        )
        if config.sandbox and self.overlay_sandbox:
            self.app = self._sandbox_app(flags, self.app)
            config = self.app.config
        if config.db_password is not None:
            ui.register_secret(config.db_password.reveal())
        return self.app

    def _given_flags(
        self, command_flags: Mapping[str, object]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The setting flags typed before and after the command, ready to repeat."""
        before = ["--config", shlex.quote(self.config_path)] if self.config_path else []
        for key, value in self.root_flags.items():
            before += _flag_tokens(SETTINGS_BY_KEY[key].flag, value)
        after: list[str] = []
        for key, value in command_flags.items():
            if key in _RESUMABLE:
                after += _flag_tokens(self.flag_names.get(key, SETTINGS_BY_KEY[key].flag), value)
        return tuple(before), tuple(after)

    def _sandbox_app(self, flags: Mapping[str, object], app: App) -> App:
        """The App for `--sandbox`: see ecslab/compose/sandbox_mode.py."""
        from ecslab.compose.sandbox_mode import enter_sandbox

        def reresolve(defaults: Mapping[str, tuple[object, str]]) -> Config:
            return resolve(
                flags, self.env, self.config_path, flag_names=self.flag_names, defaults=defaults
            )

        mode = enter_sandbox(
            app.config, app.ui, self.env, app.cwd, reresolve, versions=app.versions
        )
        return App(
            config=mode.config,
            ui=app.ui,
            clock=app.clock,
            cwd=app.cwd,
            versions=app.versions,
            aws_factory=mode.aws_factory,
            docker_factory=mode.docker_factory,
            shell_factory=mode.shell_factory,
            given_flags=app.given_flags,
            sandbox=mode.hooks,
        )

    def fallback_ui(self) -> UI:
        """The app's UI, or one built from raw flags when config itself failed."""
        if self.app is not None:
            return self.app.ui
        output = self.root_flags.get("output") or self.env.get("ECSLAB_OUTPUT") or "text"
        ui = self._ui(str(output), no_color=True)
        # Config failed before the password was known: mask the one in the environment.
        ui.register_secret(self.env.get("ECSLAB_DB_PASSWORD"))
        return ui

    def _ui(self, output: str, *, no_color: bool, debug: bool = False, yes: bool = False) -> UI:
        environment = self.environment
        return UI.create(
            output=output,
            no_color=no_color,
            debug=debug,
            assume_yes=yes,
            out=environment.stdout,
            err=environment.stderr,
            stdin=environment.stdin,
            env=environment.env,
        )

    def debug_requested(self) -> bool:
        if self.app is not None:
            return self.app.config.debug
        return bool(self.root_flags.get("debug"))


# Command flags the deploy steps (`run-all`, `step NAME`) accept, so a resume hint may
# repeat them; `--verify-url` belongs to `verify` alone.
_RESUMABLE = frozenset((*LAB_SETTINGS, "timeout"))


def _flag_tokens(flag: str, value: object) -> list[str]:
    if value is None or value is False:
        return []
    if value is True:
        return [flag]
    return [flag, shlex.quote(str(value))]


def with_app(func: F) -> F:
    """Decorate a command: setting flags among its params go into config; it gets the App.

    The command's first parameter is the App; its other parameters are passed through.
    """

    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, /, **kwargs: Any) -> Any:
        setting_flags = {k: kwargs.pop(k) for k in list(kwargs) if k in SETTINGS_BY_KEY}
        state = ctx.find_object(CliState)
        if state is None:  # invoked outside `ecslab` (tests calling a command directly)
            state = ctx.ensure_object(CliState)
        for each in (ctx.find_root(), ctx):
            state.note_flag_names(each.command)
        app = state.build_app(setting_flags)
        return func(app, **kwargs)

    return wrapper  # type: ignore[return-value]
