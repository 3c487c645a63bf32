"""A local image registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1.

We write its configuration ourselves because Debian's default listens on every interface.
Registries on 127.0.0.0/8 count as insecure by default in dockerd, so pushing over plain
HTTP needs no daemon configuration. Optional htpasswd auth: distribution accepts only bcrypt
there, which we hash in-process with the `bcrypt` package at cost 4 (fast enough for tests;
no apache2-utils needed, and passwords never appear on a command line).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from ecslab.sandbox.errors import MissingPythonPackageError, ServiceStartError
from ecslab.sandbox.local_service import LocalService
from ecslab.sandbox.ports import LOOPBACK, free_port, http_status
from ecslab.sandbox.process import find_binary, spawn, stop_process, wait_for

APT_PACKAGE = "docker-registry"
BCRYPT_COST = 4
_PORT_ATTEMPTS = 3


def htpasswd_line(user: str, password: str, cost: int = BCRYPT_COST) -> str:
    """One `user:bcrypt-hash` line for the registry's htpasswd file."""
    try:
        import bcrypt
    except ImportError:
        raise MissingPythonPackageError("bcrypt") from None
    if ":" in user:
        raise ValueError(f"user name {user!r} must not contain ':'")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()
    return f"{user}:{hashed}"


class Registry(LocalService):
    """docker-registry under `root`: `start()`, `stop()`, `remove()`, `address`.

    `users` maps user names to passwords and turns on htpasswd auth. With no `root` a
    temporary directory is made and removed by `remove()`.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        port: int | None = None,
        users: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        detached: bool = False,
    ) -> None:
        self._owns_root = root is None
        self._detached = detached  # outlives this process (the sandbox stops it by PID)
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="ecslab-registry-"))
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self._fixed_port = port is not None
        self.users = dict(users or {})
        self.timeout = timeout
        self.config_path = self.root / "config.yml"
        self.htpasswd_path = self.root / "htpasswd"
        self.storage_dir = self.root / "storage"
        self.log_path = self.root / "registry.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None

    @property
    def address(self) -> str:
        """host:port, the prefix of image references pushed here."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def pid(self) -> int | None:
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def start(self) -> None:
        """Write the config, start the registry and wait until GET /v2/ answers."""
        if self.pid is not None:
            return
        binary = find_binary("docker-registry", APT_PACKAGE)
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(exist_ok=True)
        if self.users:
            lines = (htpasswd_line(user, pw) for user, pw in self.users.items())
            self.htpasswd_path.write_text("\n".join(lines) + "\n")
        began = time.monotonic()
        for attempt in range(_PORT_ATTEMPTS):
            try:
                self._start_once(binary)
                break
            except ServiceStartError:
                self.stop()
                if self._fixed_port or attempt == _PORT_ATTEMPTS - 1:
                    raise
                self.port = free_port()
        self.start_seconds = time.monotonic() - began

    def _start_once(self, binary: str) -> None:
        self.config_path.write_text(json.dumps(self.config(), indent=2) + "\n")
        argv = [binary, "serve", str(self.config_path)]
        process = spawn(argv, self.log_path, die_with_parent=not self._detached)
        self._process = process
        wait_for(
            self.ready,
            self.timeout,
            f"docker-registry on {self.address}",
            alive=lambda: process.poll() is None,
            log_path=self.log_path,
        )

    def ready(self) -> bool:
        # /v2/ answers 200 without auth and 401 with it; either means it serves requests.
        return http_status(f"{self.url}/v2/", timeout=1) in (200, 401)

    def config(self) -> dict[str, object]:
        """The registry configuration (JSON is valid YAML, which the registry reads)."""
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.address},
        }
        if self.users:
            config["auth"] = {"htpasswd": {"realm": "ecslab", "path": str(self.htpasswd_path)}}
        return config

    def stop(self) -> None:
        """Stop the registry process by its PID (SIGTERM, bounded wait, SIGKILL)."""
        if self._process is not None:
            stop_process(self._process, term_timeout=10)
            self._process = None


__all__ = ["Registry", "htpasswd_line"]
