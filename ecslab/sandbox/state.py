"""The sandbox's state file: which local services run where, and under which PIDs.

`state.json` in the sandbox directory records ports, PIDs, URLs and paths, never a secret:
the database password lives in its own file (mode 0600) that the state names. `up` writes
it, `down` reads it to stop everything by PID, `status` reads it to report.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from ecslab.core.errors import UsageError
from ecslab.sandbox.errors import SandboxError
from ecslab.sandbox.ports import LOOPBACK

if TYPE_CHECKING:
    from ecslab.core.config import Config

STATE_FILE = "state.json"
DB_PASSWORD_FILE = "db-password"
PG_PASSWORD_FILE = "postgres-password"
DB_USER = "microsite"
DB_NAME = "microsite"
SANDBOX_REGION = "us-east-1"
# Sandbox seconds per real second for the emulated CloudWatch and Auto Scaling: a 60 s
# alarm period lasts 6 s, a 60 s cooldown 6 s, so scaling can be watched in a minute.
SANDBOX_TIME_SCALE = 10.0


@dataclass
class SandboxState:
    """Where each sandbox service runs. PIDs are None when not started by the sandbox."""

    root: str
    moto_port: int
    registry_port: int
    postgres_port: int
    postgres_root: str
    lb_port: int
    docker_host: str = ""
    dockerd_root: str | None = None  # set only when the sandbox runs its own dockerd
    moto_pid: int | None = None
    registry_pid: int | None = None
    lb_pid: int | None = None
    base_image: str | None = None
    time_scale: float = SANDBOX_TIME_SCALE

    @property
    def path(self) -> Path:
        return Path(self.root)

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.moto_port}"

    @property
    def registry(self) -> str:
        return f"{LOOPBACK}:{self.registry_port}"

    @property
    def lb_url(self) -> str:
        return f"http://{LOOPBACK}:{self.lb_port}/"

    @property
    def db_password_file(self) -> Path:
        return self.path / DB_PASSWORD_FILE

    @property
    def pg_password_file(self) -> Path:
        return self.path / PG_PASSWORD_FILE

    def db_password(self) -> str:
        return read_secret(self.db_password_file)

    def save(self) -> None:
        target = self.path / STATE_FILE
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(target)


def load_state(root: Path) -> SandboxState | None:
    """The state in `root`, or None when there is no sandbox there."""
    path = root / STATE_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SandboxError(
            f"cannot read the sandbox state {path}: {exc}",
            "run `ecslab sandbox down` to clean up, then `ecslab sandbox up`",
        ) from exc
    known = {f.name for f in fields(SandboxState)}
    return SandboxState(**{k: v for k, v in raw.items() if k in known})


def ensure_secret(path: Path) -> str:
    """The secret in `path`, made (random, mode 0600, created atomically) if missing."""
    if path.exists():
        return read_secret(path)
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def read_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise SandboxError(
            f"cannot read {path}: {exc.strerror}",
            "run `ecslab sandbox down`, then `ecslab sandbox up` to make a new one",
        ) from exc


def sandbox_root(config: Config, cwd: Path) -> Path:
    root = Path(config.sandbox_dir).expanduser()
    return (root if root.is_absolute() else cwd / root).resolve()


def require_state(config: Config, cwd: Path) -> SandboxState:
    state = load_state(sandbox_root(config, cwd))
    if state is None:
        raise UsageError("the sandbox is not running", "start it with `ecslab sandbox up`")
    return state
