"""Everything ecslab takes from the process it runs in, injected as one object.

`Environment.of_process()` is the real one: `os.environ`, the standard streams, the
current folder and the system clocks. Tests build their own (a dict for the environment,
StringIO streams, a FakeClock) and pass it to `ecslab.cli.run(argv, environment)`, as
httpie's `main(args, env)` takes its Environment: no test needs to patch a module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ecslab.core.clock import Clock, SystemClock


@dataclass(frozen=True)
class Environment:
    """The process's environment variables, streams, folder and clocks."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    cwd: Path = field(default_factory=Path.cwd)
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def of_process(cls) -> Environment:
        return cls()
