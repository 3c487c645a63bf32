"""The one error hierarchy of ecslab and the exit code each error maps to.

Every failure a user can meet is an `EcslabError` subclass carrying a message (what
happened, and why) and a hint (what to do next). The CLI maps the class to an exit code
in one place, `exit_code_for`, and prints no traceback unless `--debug` is given.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes, documented in the README; scripts may rely on them."""

    OK = 0
    INTERNAL = 1  # a bug in ecslab: please report it with --debug output
    USAGE = 2  # bad flag, config file, or input value; nothing was changed
    NOTHING_TO_DO = 3  # `plan` found no change; `destroy` found nothing to delete
    AWS = 4  # credentials, endpoint, permissions or an AWS API error
    DEPLOY_FAILED = 5  # a stack ended failed or rolled back
    IMAGE_FAILED = 6  # docker build or push failed
    VERIFY_FAILED = 7  # the backend answered, but not healthy
    VERIFY_TIMEOUT = 8  # no healthy answer before the timeout
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (128 + 15), handled like Ctrl-C


class EcslabError(Exception):
    """Base of every error ecslab reports to the user."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(EcslabError):
    """Bad input from the user: a flag, an env var, the config file, a template path."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A setting that fails validation; names the setting, the value and what is allowed."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        key: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.key = key
        self.source = source


class NothingToDo(EcslabError):
    """Not a failure: the command found nothing to change."""

    exit_code = ExitCode.NOTHING_TO_DO


class AwsError(EcslabError):
    """AWS could not be reached or refused a call."""

    exit_code = ExitCode.AWS


class DeployFailed(EcslabError):
    """A CloudFormation deploy ended in a failed or rolled-back state."""

    exit_code = ExitCode.DEPLOY_FAILED


class ImageError(EcslabError):
    """Building or pushing the container image failed."""

    exit_code = ExitCode.IMAGE_FAILED


class VerifyFailed(EcslabError):
    """The backend is reachable but not healthy."""

    exit_code = ExitCode.VERIFY_FAILED


class VerifyTimeout(EcslabError):
    """The backend gave no healthy answer before the timeout."""

    exit_code = ExitCode.VERIFY_TIMEOUT


class Interrupted(EcslabError):
    """The user pressed Ctrl-C; the message says what continues without us."""

    exit_code = ExitCode.INTERRUPTED


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for any exception reaching the top of the CLI."""
    if isinstance(error, EcslabError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.INTERNAL
