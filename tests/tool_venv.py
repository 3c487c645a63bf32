"""Clients nobody here wrote (the AWS CLI, ecs-deploy), each in a virtualenv of its own.

A tool's venv keeps its pins from moving the project's boto3. It is made once per machine
and reused: an environment variable may name a program CI prepared, else the venv lives
in the user's cache folder (`$XDG_CACHE_HOME/ecslab-tests/NAME`), made under a lock so
parallel runs build it once.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT = 600.0


def tool_env(**extra: str) -> dict[str, str]:
    """A tool's environment: this process's PATH, home, locale and temp folder only, no user
    AWS configuration (AWS_CONFIG_FILE and the credentials file are /dev/null), then `extra`."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, **extra)
    return env


class ToolUnavailable(Exception):
    """The tool could not be installed (no package index, for one)."""


@dataclass(frozen=True)
class VenvTool:
    name: str  # the venv's folder name
    requirement: str  # what pip installs
    program: str  # the command in the venv's bin/
    env_program: str  # a variable that may name a ready program instead

    def cache_dir(self) -> Path:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "ecslab-tests" / self.name

    def ensure(self, venv: Path | None = None) -> Path:
        """The program: the variable's, or the cached venv's (installed if missing)."""
        given = os.environ.get(self.env_program)
        if given:
            return Path(given)
        venv = venv or self.cache_dir()
        program = venv / "bin" / self.program
        ready = venv / ".installed"
        venv.parent.mkdir(parents=True, exist_ok=True)
        with open(venv.parent / f"{self.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time; the others reuse it
            if not (ready.exists() and ready.read_text() == self.requirement + "\n"):
                self._install(venv)
                ready.write_text(self.requirement + "\n")
        if not program.exists():
            raise ToolUnavailable(f"{self.requirement} installed no {self.program} program")
        return program

    def _install(self, venv: Path) -> None:
        steps = (
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", self.requirement],
        )
        for argv in steps:
            try:
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise ToolUnavailable(f"{' '.join(argv)} took over {INSTALL_TIMEOUT} s") from exc
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise ToolUnavailable(f"{' '.join(argv)} failed: {' / '.join(tail)}")
