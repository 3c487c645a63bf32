"""A throwaway PostgreSQL cluster in a directory, for tests and the local sandbox.

The cluster listens only on 127.0.0.1 (its Unix socket lives in its own directory) and
accepts only scram-sha-256 password logins. PostgreSQL refuses to run as root, so when we
are root the directory is handed to the `postgres` OS user and every server command runs
through `runuser -u postgres --`. Durability is traded for speed (fsync off): the data is
meant to be thrown away, though a clean stop and start keeps it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from ecslab.sandbox.errors import MissingBinaryError, SandboxError, ServiceStartError
from ecslab.sandbox.local_service import LocalService
from ecslab.sandbox.ports import LOOPBACK, free_port
from ecslab.sandbox.process import find_binary, pid_alive, run, stop_pid

APT_PACKAGE = "postgresql"
OS_USER = "postgres"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PORT_ATTEMPTS = 3


def postgres_bindir() -> Path:
    """The directory holding initdb, pg_ctl and psql, newest installed version first."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(SandboxError):
            candidates.append(Path(run([pg_config, "--bindir"], "pg_config", timeout=10).strip()))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: _version_key(p.parent.name), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise MissingBinaryError("initdb", APT_PACKAGE)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier (letters, digits, _)")
    return name


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PostgresServer(LocalService):
    """One PostgreSQL cluster: `start()`, `stop()`, `restart()`, `dsn()`, `create_database()`.

    With no `root`, a temporary directory is made and removed again by `remove()` (and on
    leaving the `with` block). With no `port`, a free one is picked, and a new one is tried
    if another process takes it first.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        port: int | None = None,
        user: str = "ecslab",
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self.user = _check_identifier(user)
        self.password = password if password is not None else secrets.token_hex(16)
        self.timeout = timeout
        self._fixed_port = port is not None
        self._owns_root = root is None
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="ecslab-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self._bindir: Path | None = None
        self.start_seconds: float | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Create the cluster if it does not exist yet and start the server (waits for it)."""
        if self.is_running():
            return
        began = time.monotonic()
        self._prepare_root()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        for attempt in range(_PORT_ATTEMPTS):
            try:
                self._pg_ctl_start()
                break
            except ServiceStartError:
                if self._fixed_port or attempt == _PORT_ATTEMPTS - 1:
                    raise
                self.port = free_port()
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Fast shutdown (`pg_ctl stop -m fast`) of the server recorded in postmaster.pid."""
        pid = self.pid
        if pid is None:
            return
        try:
            self._pg_ctl("stop", "-m", "fast")
        except SandboxError:
            # pg_ctl could not stop it in time: fall back to signals on the recorded PID.
            stop_pid(pid, term_timeout=self.timeout)

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    @property
    def pid(self) -> int | None:
        """PID of the running postmaster, or None when it is not running."""
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        pid = int(first_line) if first_line.strip().isdigit() else None
        return pid if pid is not None and pid_alive(pid) else None

    def is_running(self) -> bool:
        return self.pid is not None

    # -- using it --------------------------------------------------------------------

    def dsn(self, dbname: str | None = None) -> str:
        """A postgresql:// URL with user and password for `dbname` (default: postgres)."""
        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(dbname or 'postgres', safe='')}"
        )

    def execute(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with psql as the superuser; return the unaligned, tuples-only output."""
        conninfo = (
            f"host={self.host} port={self.port} user={self.user} dbname={dbname} sslmode=disable"
        )
        argv = [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        env = self._clean_env() | {"PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"}
        return run([*argv, "-d", conninfo, "-c", sql], "psql", timeout=self.timeout, env=env)

    def create_database(self, name: str, owner: str | None = None) -> str:
        """Create an empty database and return its name."""
        owner_clause = f' OWNER "{_check_identifier(owner)}"' if owner else ""
        self.execute(f'CREATE DATABASE "{_check_identifier(name)}"{owner_clause}')
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{_check_identifier(name)}" WITH (FORCE)')

    def create_role(self, name: str, password: str) -> str:
        """Create a login role (not a superuser) with a password; return its name."""
        self.execute(
            f'CREATE ROLE "{_check_identifier(name)}" LOGIN PASSWORD {_sql_literal(password)}'
        )
        return name

    # -- internals -------------------------------------------------------------------

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = postgres_bindir()
        return self._bindir

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return [find_binary("runuser", "util-linux"), "-u", OS_USER, "--", *argv]

    def _clean_env(self) -> dict[str, str]:
        # A developer's PGDATA/PGPORT/PGHOST must not redirect our commands to their cluster.
        return {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        try:
            owner = pwd.getpwnam(OS_USER)
        except KeyError:
            raise MissingBinaryError(f"the {OS_USER} OS user", APT_PACKAGE) from None
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.root.chmod(0o700)
        try:
            run(self._as_owner(["test", "-w", str(self.root)]), "access check", cwd=self.root)
        except ServiceStartError:
            raise SandboxError(
                f"the {OS_USER} user cannot reach {self.root}: a parent directory is not "
                "searchable by it; use a directory under /tmp"
            ) from None

    def _initdb(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(pwfile, OS_USER)
        argv = [
            str(self.bindir / "initdb"),
            "-D", str(self.data_dir),
            "-U", self.user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]  # fmt: skip
        try:
            run(self._as_owner(argv), "initdb", timeout=120, env=self._clean_env(), cwd=self.root)
        finally:
            pwfile.unlink(missing_ok=True)

    def _pg_ctl_start(self) -> None:
        options = [
            "-c", f"listen_addresses={self.host}",
            "-p", str(self.port),
            "-k", str(self.root),
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
        ]  # fmt: skip
        try:
            self._pg_ctl("start", "-l", str(self.log_path), "-o", shlex.join(options))
        except ServiceStartError as exc:
            raise ServiceStartError(f"{exc}\n{self._log_tail()}") from None

    def _pg_ctl(self, action: str, *args: str) -> None:
        argv = [
            str(self.bindir / "pg_ctl"),
            "-D", str(self.data_dir),
            "-w", "-t", str(int(self.timeout)),
            *args,
            action,
        ]  # fmt: skip
        run(
            self._as_owner(argv),
            f"pg_ctl {action}",
            timeout=self.timeout + 10,
            env=self._clean_env(),
            cwd=self.root,
        )

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])
        return ""


__all__ = ["PostgresServer", "postgres_bindir"]
