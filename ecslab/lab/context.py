"""What the lab's domain code receives: one invocation's config, UI, clocks and clients.

`Context` is a Protocol so that the domain (lab/, steps/, views/) never imports the
composition root that builds it (`ecslab.compose.app.App`), and tests can pass any object
with these members. The clients are built on first use and then shared for the run.

The domain never imports the sandbox either: what only the local sandbox adds to a run
(its compressed clock, the autoscaling its moto leaves out of a deployed stack) reaches it
as `Context.sandbox`, a `SandboxHooks` that compose fills in with `--sandbox` and leaves
None on AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    import docker

    from ecslab.aws.session import Aws
    from ecslab.core.clock import Clock
    from ecslab.core.config import Config
    from ecslab.core.ui import UI
    from ecslab.lab.task_shell import TaskShell

T = TypeVar("T")


class SandboxHooks(Protocol):
    """What the local sandbox adds to a run; `Context.sandbox` is None on AWS."""

    @property
    def time_scale(self) -> float:
        """Sandbox seconds per real second: CloudWatch periods and cooldowns are divided by it."""
        ...

    def after_deploy(self, aws: Aws, stack: str, *, apply: bool) -> tuple[str, ...]:
        """What the sandbox adds to the deployed `stack` that its moto's CloudFormation
        leaves out (the template's autoscaling): the changes, made only when `apply`."""
        ...


class Context(Protocol):
    """One run of ecslab, as the domain code sees it."""

    @property
    def config(self) -> Config: ...

    @property
    def ui(self) -> UI: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def cwd(self) -> Path: ...

    @property
    def aws(self) -> Aws:
        """The AWS wrappers for this run (built once, on first use)."""
        ...

    @property
    def docker(self) -> docker.DockerClient:
        """The Docker engine client for this run (built once, on first use)."""
        ...

    def db_password(self) -> str:
        """The database password: from the environment, the config file or a prompt."""
        ...

    def template_path(self) -> Path: ...

    @property
    def sandbox(self) -> SandboxHooks | None:
        """The local sandbox's hooks with `--sandbox`, else None."""
        ...

    def command_line(self, command: str) -> str:
        """`ecslab ... COMMAND ...` with the flags the user typed (for resume hints)."""
        ...

    def remember(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()`'s value, computed once per run under `key` (a fact that cannot
        change while ecslab runs: the loaded template, the derived image tag)."""
        ...

    def microsite_path(self) -> Path: ...

    @property
    def task_shell(self) -> TaskShell:
        """How a command gets into a task's container: ECS Exec on AWS, `docker exec` in
        the sandbox (the composition root decides)."""
        ...
