"""The application object every command receives: config, UI, clock and client factories.

Nothing here creates an AWS or Docker client at import time; tests build an `App` with
a session pointed at a moto server and a Docker client pointed at a test engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ecslab.core.clock import Clock, SystemClock
from ecslab.core.environment import installed_version
from ecslab.core.errors import UsageError
from ecslab.core.facts import CHECKOUT, DB_PASSWORD_ENV, MICROSITE_RELPATH, TEMPLATE_RELPATH

if TYPE_CHECKING:
    import docker

    from ecslab.aws.session import Aws
    from ecslab.core.config import Config
    from ecslab.core.ui import UI
    from ecslab.lab.context import SandboxHooks
    from ecslab.lab.task_shell import TaskShell

T = TypeVar("T")


def _default_aws(config: Config) -> Aws:
    from ecslab.aws.session import Aws

    return Aws(config)


def _ecs_exec(app: App) -> TaskShell:
    from ecslab.lab.task_shell import EcsExecShell

    return EcsExecShell(app)


def _default_docker() -> docker.DockerClient:
    from ecslab.engine.docker_engine import connect

    return connect()


@dataclass
class App:
    """One invocation of ecslab."""

    config: Config
    ui: UI
    clock: Clock = field(default_factory=SystemClock)
    aws_factory: Callable[[Config], Aws] = _default_aws
    docker_factory: Callable[[], docker.DockerClient] = _default_docker
    cwd: Path = field(default_factory=Path.cwd)
    versions: Callable[[str], str | None] = installed_version  # of installed packages
    # How `ecslab exec` reaches a task's container: ECS Exec, or the sandbox's docker exec.
    shell_factory: Callable[[App], TaskShell] = _ecs_exec
    # The flags the user typed, as (before the command, after it): hints that name a
    # command to run again repeat them, so it acts on the same stack with the same values.
    given_flags: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    # With --sandbox, what the sandbox adds to the run (compose/sandbox_mode.py); else None.
    sandbox: SandboxHooks | None = None
    _aws: Aws | None = None
    _docker: docker.DockerClient | None = None
    _db_password: str | None = None
    _remembered: dict[str, Any] = field(default_factory=dict)

    @property
    def aws(self) -> Aws:
        if self._aws is None:
            self._aws = self.aws_factory(self.config)
        return self._aws

    @property
    def docker(self) -> docker.DockerClient:
        if self._docker is None:
            self._docker = self.docker_factory()
        return self._docker

    @property
    def task_shell(self) -> TaskShell:
        return self.shell_factory(self)

    def db_password(self) -> str:
        """From ECSLAB_DB_PASSWORD or the config file, else a hidden prompt."""
        if self._db_password is None:
            secret = self.config.db_password
            value = (
                secret.reveal()
                if secret
                else self.ui.prompt_secret("Database password", DB_PASSWORD_ENV)
            )
            if not value:
                raise UsageError("the database password is empty", f"set {DB_PASSWORD_ENV}")
            from ecslab.core.config import password_problem

            problem = password_problem(value, self.config)
            if problem:
                raise UsageError(f"the database password {problem}", f"set {DB_PASSWORD_ENV}")
            self.ui.register_secret(value)
            self._db_password = value
        return self._db_password

    def remember(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self._remembered:
            self._remembered[key] = compute()
        value: T = self._remembered[key]
        return value

    def command_line(self, command: str) -> str:
        """`ecslab ... COMMAND ...` with the user's own flags, for "run this to resume"."""
        before, after = self.given_flags
        return " ".join(("ecslab", *before, command, *after))

    def template_path(self) -> Path:
        return self._project_file(self.config.template, TEMPLATE_RELPATH, "template")

    def microsite_path(self) -> Path:
        return self._project_file(self.config.microsite_dir, MICROSITE_RELPATH, "microsite_dir")

    def _project_file(self, configured: str | None, relpath: Path, key: str) -> Path:
        """A configured path, else the one in the current folder, else the checkout's."""
        if configured:
            from ecslab.core.inputs import shown

            path = Path(os.path.expanduser(configured))
            path = path if path.is_absolute() else self.cwd / path
            try:
                exists = path.exists()
            except OSError as exc:  # a name too long, a loop of links
                raise UsageError(
                    f"{key} {shown(str(path))} (from {self.config.source_of(key)}) cannot be "
                    f"used: {exc.strerror}"
                ) from None
            if not exists:
                raise UsageError(
                    f"{key} {shown(str(path))} (from {self.config.source_of(key)}) does not exist"
                )
            return path
        for base in (self.cwd, CHECKOUT):
            if (base / relpath).exists():
                return base / relpath
        raise UsageError(
            f"cannot find {relpath}",
            f"run ecslab from the project folder, or set {key} in ecslab.yaml",
        )
