"""The `ecslab` command: global options, command registration, and the exit-code boundary.

`main()` is the only place that turns exceptions into exit codes and messages; commands
raise `EcslabError`s and never call `sys.exit` themselves.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from ecslab import __version__
from ecslab.cli.options import root_options
from ecslab.cli.state import CliState
from ecslab.core.environment import Environment
from ecslab.core.errors import EcslabError, ExitCode, NothingToDo, UsageError, exit_code_for
from ecslab.steps import STEPS

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Run the lab", ("run-all", "step", "plan", "verify")),
    ("Look around", ("status", "logs", "explain", "config")),
    ("Operate the service", ("run", "exec", "scale", "rollback", "doctor")),
    ("Clean up", ("destroy",)),
    ("Rehearse locally", ("sandbox",)),
)

EPILOG = "Lab steps, in order (run one with `ecslab step NAME`):\n\n" + "\n".join(
    f"  {n}. {info.name:<20} {info.summary}" + (" (sandbox only)" if info.sandbox_only else "")
    for n, info in enumerate(STEPS, start=1)
)


class LabGroup(click.Group):
    """A group that lists commands by section, in the order the lab uses them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed: set[str] = set()
        for title, names in SECTIONS:
            rows = [
                (name, self.commands[name].get_short_help_str(limit=80))
                for name in names
                if name in self.commands
            ]
            listed.update(names)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [
            (name, cmd.get_short_help_str(limit=80))
            for name, cmd in self.commands.items()
            if name not in listed
        ]
        if rest:
            with formatter.section("Other"):
                formatter.write_dl(rest)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        for line in EPILOG.splitlines():
            formatter.write(line + "\n")


@click.group(
    cls=LabGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default: ./ecslab.yaml when present). Env: ECSLAB_CONFIG.",
)
@root_options
@click.option(
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _param, value: _show_version(ctx, value),
    help="Show the version and exit (a JSON object with -o json).",
)
@click.pass_context
def cli(ctx: click.Context, /, config_path: str | None, **flags: object) -> None:
    """Deploy a containerised backend on AWS ECS Fargate, step by step.

    ecslab runs the ECS lab: a CloudFormation stack with an ECR repository, the
    microsite image built and pushed, then an ECS cluster, a Fargate service behind a
    load balancer, memory-based autoscaling, and a check that the backend answers with
    data from its database. Every step checks the real state first, so running it
    again is safe and continues where it stopped.

    Settings come from flags, then ECSLAB_* environment variables, then ecslab.yaml,
    then defaults (see `ecslab config`).

    \b
    Quick start:
      ecslab run-all            # the whole lab, asking before each change
      ecslab status             # what is deployed and how it is doing
      ecslab destroy            # remove it all
      ecslab --sandbox run-all  # the same, rehearsed locally: no AWS bill
    """
    state = ctx.ensure_object(CliState)
    state.set_root_flags(config_path, flags)


def _show_version(ctx: click.Context, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    state = ctx.find_object(CliState)
    argv = state.argv if state is not None else ()
    env = state.env if state is not None else {}
    if _wants_json(argv, env.get("ECSLAB_OUTPUT", "")):
        click.echo(
            json.dumps(
                {
                    "event": "summary",
                    "status": "ok",
                    "message": f"ecslab {__version__}",
                    "version": __version__,
                }
            )
        )
    else:
        click.echo(f"ecslab, version {__version__}")
    ctx.exit(0)


def _wants_json(argv: Sequence[str], env_output: str) -> bool:
    """The last -o / --output among the arguments (else ECSLAB_OUTPUT) says json."""
    value = env_output
    tokens = iter(argv)
    for token in tokens:
        if token in ("-o", "--output"):
            value = next(tokens, "")
        elif token.startswith("--output="):
            value = token.split("=", 1)[1]
        elif token.startswith("-o") and not token.startswith("--"):
            value = token[2:]
    return value == "json"


def _register() -> None:
    from ecslab.cli import config_cmd, inspect, lab, ops, sandbox, teardown

    for command in (
        lab.run_all,
        lab.step_group,
        lab.plan,
        lab.verify,
        inspect.status,
        inspect.wait,
        inspect.logs,
        inspect.explain,
        config_cmd.config,
        ops.run_task,
        ops.exec_command,
        ops.scale,
        ops.rollback,
        ops.doctor,
        teardown.destroy,
        sandbox.sandbox_group,
    ):
        cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI and exit with the code its outcome maps to."""
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None, environment: Environment | None = None) -> int:
    """Run the CLI and return its exit code.

    `environment` is everything taken from the process (variables, streams, folder,
    clocks); tests pass their own, as httpie's `main(args, env)` takes its Environment.
    SIGTERM (a CI job cancelled, `kill`, a container stopped) is handled like Ctrl-C:
    the same message and resume hint, then exit 143 (128 + 15) instead of 130.
    """
    environment = environment or Environment.of_process()
    state = CliState(environment)
    state.argv = tuple(argv if argv is not None else sys.argv[1:])
    terminated = _on_sigterm()
    try:
        code = _run(state, argv)
    finally:
        terminated.restore()
    return ExitCode.TERMINATED if terminated.fired and code == ExitCode.INTERRUPTED else code


class _SigtermHandler:
    """Turns SIGTERM into KeyboardInterrupt while ecslab runs; remembers that it fired."""

    def __init__(self) -> None:
        self.fired = False
        self._previous: Any = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, _signum: int, _frame: object) -> None:
        self.fired = True
        raise KeyboardInterrupt

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _on_sigterm() -> _SigtermHandler:
    handler = _SigtermHandler()
    handler.install()
    return handler


def _run(state: CliState, argv: Sequence[str] | None) -> int:
    try:
        with _streams(state.environment):
            result = cli.main(
                args=list(argv) if argv is not None else None,
                prog_name="ecslab",
                standalone_mode=False,
                obj=state,
            )
    except click.exceptions.Abort:
        state.fallback_ui().error(UsageError("interrupted"), ExitCode.INTERRUPTED)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        return _click_error(state, exc)
    except NothingToDo as exc:
        return exc.exit_code  # not a failure; the command already said so
    except EcslabError as exc:
        state.fallback_ui().error(exc, exc.exit_code)
        _maybe_traceback(state)
        return exc.exit_code
    except KeyboardInterrupt:
        state.fallback_ui().error(UsageError("interrupted"), ExitCode.INTERRUPTED)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: say so plainly, trace only with --debug
        ui = state.fallback_ui()
        ui.error(
            EcslabError(
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug in ecslab; run again with --debug and report the traceback",
            ),
            exit_code_for(exc),
        )
        _maybe_traceback(state)
        return exit_code_for(exc)
    return int(result) if isinstance(result, int) else ExitCode.OK


@contextmanager
def _streams(environment: Environment) -> Iterator[None]:
    """click writes help, version and usage errors to sys.stdout/stderr: point them at the
    environment's streams for the run (a no-op for the process's own)."""
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = environment.stdin, environment.stdout, environment.stderr
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def _click_error(state: CliState, exc: click.ClickException) -> int:
    ui = state.fallback_ui()
    if ui.mode == "json":
        ui.error(UsageError(exc.format_message()), ExitCode.USAGE)
    else:
        exc.show(file=state.environment.stderr)
    return ExitCode.USAGE


def _maybe_traceback(state: CliState) -> None:
    if state.debug_requested() or state.environment.env.get("ECSLAB_DEBUG") in ("1", "true", "yes"):
        # Through the UI's masking: an exception's text may quote the password.
        state.environment.stderr.write(state.fallback_ui().redact(traceback.format_exc()))
