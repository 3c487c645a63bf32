"""Everything ecslab takes from the process it runs in, injected as one object.

`Environment.of_process()` is the real one: `os.environ`, the standard streams, the
current folder, the system clocks and the installed Python packages' versions. Tests build
their own (a dict for the environment, StringIO streams, a FakeClock, a moto release) and
pass it to `ecslab.cli.run(argv, environment)`, as httpie's `main(args, env)` takes its
Environment: no test needs to patch a module.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ecslab.core.clock import Clock, SystemClock


def installed_version(distribution: str) -> str | None:
    """The version of an installed Python distribution (`moto`), None when absent."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Environment:
    """The process's environment variables, streams, folder and clocks."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    cwd: Path = field(default_factory=Path.cwd)
    clock: Clock = field(default_factory=SystemClock)
    versions: Callable[[str], str | None] = installed_version  # of installed packages

    @classmethod
    def of_process(cls) -> Environment:
        return cls()
