"""`ecslab sandbox up | status | down`: the sandbox's long-running local services.

`up` starts, each only if it is not already running, into the sandbox directory: a Docker
engine (the one at DOCKER_HOST / --docker-host, else a private bridge-less dockerd),
PostgreSQL with a `microsite` role and database, an image registry (ECR's data plane), a
moto server (the AWS API, with the ECS scheduler that runs the tasks on that engine) and
HAProxy (the load balancer, driven by the scheduler). Every process is detached, so it
outlives the command, and is recorded by PID in state.json; `down` stops them by those
PIDs (the scheduler removes the task containers as it stops; leftovers are removed by
label) and removes what `up` made.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ecslab.core.environment import installed_version
from ecslab.sandbox.base_image import DEFAULT_TAG, build_base_image
from ecslab.sandbox.dockerd import PrivateDockerd
from ecslab.sandbox.errors import MissingDependencyError, NeedsRootError, SandboxError
from ecslab.sandbox.moto_seam import check_version
from ecslab.sandbox.ports import LOOPBACK, free_port, http_status, port_is_free
from ecslab.sandbox.postgres import PostgresServer
from ecslab.sandbox.process import pid_alive, spawn, stop_pid, stop_process, wait_for
from ecslab.sandbox.registry import Registry
from ecslab.sandbox.state import (
    DB_NAME,
    DB_USER,
    STATE_FILE,
    SandboxState,
    ensure_secret,
    load_state,
)

if TYPE_CHECKING:
    from ecslab.core.ui import UI

START_TIMEOUT = 30.0
# How the sandbox's Python packages get installed (the README's install.sh does this).
SANDBOX_INSTALL = "pip install -e '.[sandbox]'  (in the ecslab checkout)"
# A unix socket path must fit in 108 bytes; deep folders fall back to a short one in /tmp.
MAX_SOCKET_DIR = 80


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    up: bool
    where: str


# -- up ---------------------------------------------------------------------------------


def up(
    root: Path,
    ui: UI,
    *,
    docker_host: str | None,
    base_image: str | None,
    versions: Callable[[str], str | None] = installed_version,
) -> SandboxState:
    """Start whatever is not running yet; return the (saved) state. `versions` tells the
    installed packages' versions: a moto the sandbox is not tested with is refused (exit
    2) before any service starts."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o711)  # others may pass through (the postgres user), not list
    state = load_state(root) or _new_state(root)
    running_before = {s.name for s in status(state) if s.up}
    if not _pid_up(state.moto_pid):
        _require_moto(versions("moto"))
    try:
        _ensure_docker(state, docker_host)
        _ensure_postgres(state, ui)
        _ensure_registry(state)
        _ensure_moto(state)
        _ensure_lb(state)
        _ensure_base_image(state, ui, base_image)
    except BaseException as exc:
        stopped = _stop_started(state, running_before)
        state.save()
        if isinstance(exc, SandboxError):
            raise _start_failed(exc, stopped) from exc
        raise
    state.save()
    return state


def _start_failed(exc: SandboxError, stopped: list[str]) -> SandboxError:
    """The start's error, saying what was stopped again and what to run next."""
    undone = f" (stopped again what this start had started: {', '.join(stopped)})"
    return SandboxError(
        f"the sandbox did not start: {exc.message}{undone if stopped else ''}",
        f"{exc.hint or 'fix what the message names'}; then run `ecslab sandbox up` again",
    )


def _stop_started(state: SandboxState, running_before: set[str]) -> list[str]:
    """Stop, by PID and newest first, each service up now that was not up before `up`."""
    stopped: list[str] = []
    for service in reversed(status(state)):
        if service.up and service.name not in running_before:
            stopper = _STOPPERS.get(service.name)
            if stopper is not None and stopper(state):
                stopped.append(service.name)
    return stopped


def _stop_pid_of(attribute: str) -> Callable[[SandboxState], bool]:
    def stop(state: SandboxState) -> bool:
        pid = getattr(state, attribute)
        setattr(state, attribute, None)
        if not _pid_up(pid):
            return False
        stop_pid(pid, term_timeout=10)
        return True

    return stop


def _stop_postgres(state: SandboxState) -> bool:
    _postgres(state).stop()
    return True


def _stop_own_dockerd(state: SandboxState) -> bool:
    if not state.dockerd_root:
        return False  # an engine someone else runs: not ours to stop
    PrivateDockerd(Path(state.dockerd_root)).stop()
    state.docker_host = ""
    return True


def _new_state(root: Path) -> SandboxState:
    return SandboxState(
        root=str(root),
        moto_port=free_port(),
        registry_port=free_port(),
        postgres_port=free_port(),
        postgres_root=str(_postgres_root(root)),
        lb_port=free_port(),
    )


def _postgres_root(root: Path) -> Path:
    """root/postgres when the postgres OS user can reach it, else a short folder in /tmp."""
    if len(str(root)) < MAX_SOCKET_DIR and (os.geteuid() != 0 or _others_can_enter(root)):
        return root / "postgres"
    import tempfile

    return Path(tempfile.mkdtemp(prefix="ecslab-sandbox-pg-"))


def _others_can_enter(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in path.parents)


def _ensure_docker(state: SandboxState, docker_host: str | None) -> None:
    if state.docker_host and PrivateDockerd.attached(state.docker_host).ping():
        return
    if docker_host:
        engine = PrivateDockerd.attached(docker_host)
    else:
        engine = PrivateDockerd(_docker_root(state))
        state.dockerd_root = str(engine.root)
    try:
        engine.start(die_with_parent=False)
    except NeedsRootError as exc:
        raise NeedsRootError(
            f"{exc.message}: the sandbox starts its own bridge-less dockerd, which needs root",
            "run as root (sudo), or point DOCKER_HOST (or `ecslab sandbox up --docker-host`) "
            "at a running Docker engine",
        ) from exc
    state.docker_host = engine.docker_host


def _docker_root(state: SandboxState) -> Path:
    if state.dockerd_root:
        return Path(state.dockerd_root)
    if len(state.root) < MAX_SOCKET_DIR:
        return state.path / "docker"
    import tempfile

    return Path(tempfile.mkdtemp(prefix="ecslab-sandbox-docker-"))


def _postgres(state: SandboxState) -> PostgresServer:
    return PostgresServer(
        Path(state.postgres_root),
        port=state.postgres_port,
        password=ensure_secret(state.path / "postgres-password"),
        timeout=START_TIMEOUT,
    )


def _ensure_postgres(state: SandboxState, ui: UI) -> None:
    server = _postgres(state)
    if server.is_running():
        return
    with ui.status("starting PostgreSQL"):
        server.start()
    db_password = ensure_secret(state.db_password_file)
    found = server.execute(f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_USER}'").strip()
    if not found:
        server.create_role(DB_USER, db_password)
        server.create_database(DB_NAME, owner=DB_USER)


def _ensure_registry(state: SandboxState) -> None:
    if state.registry_pid is not None and pid_alive(state.registry_pid):
        return
    fixed = state.registry_port if port_is_free(state.registry_port) else None
    registry = Registry(state.path / "registry", port=fixed, detached=True)
    registry.start()
    state.registry_port = registry.port
    state.registry_pid = registry.pid


def _ensure_moto(state: SandboxState) -> None:
    if state.moto_pid is not None and pid_alive(state.moto_pid):
        return
    # The scheduler area runs the ECS tasks on the sandbox's engine, labels them with the
    # state folder and drives HAProxy through the socket in it (`up` checked its moto).
    extra = ["--state-dir", str(state.path), "--time-scale", f"{state.time_scale:g}"]
    extra += ["--docker-host", state.docker_host] if state.docker_host else []
    state.moto_pid = _serve(state, "moto", state.moto_port, "serve-moto", extra)


def _require_moto(version: str | None) -> None:
    """moto with its server extra, in the Python that runs ecslab (the serve-moto child),
    at a release the sandbox is tested with (`version` is the installed one)."""
    if any(importlib.util.find_spec(module) is None for module in ("moto", "flask")):
        raise MissingDependencyError(
            f"moto with its server extra (for {sys.executable})", SANDBOX_INSTALL
        )
    check_version(version)


def _ensure_lb(state: SandboxState) -> None:
    from ecslab.sandbox import haproxy

    if state.lb_pid is not None and pid_alive(state.lb_pid):
        return
    _require_free(state.lb_port, "load balancer")
    state.lb_pid = haproxy.start(state.path, state.lb_port)


def _require_free(port: int, name: str) -> None:
    if not port_is_free(port):
        raise SandboxError(
            f"port {port} on {LOOPBACK}, recorded for the sandbox's {name}, is taken",
            "run `ecslab sandbox down`, then `ecslab sandbox up` to pick new ports",
        )


def _serve(
    state: SandboxState, name: str, port: int, command: str, extra: list[str] | None = None
) -> int:
    """Start `python -m ecslab.sandbox COMMAND --port PORT`, detached; wait until it answers."""
    _require_free(port, name)
    argv = [sys.executable, "-m", "ecslab.sandbox", command, "--port", str(port), *(extra or [])]
    log = state.path / f"{name}.log"
    process = spawn(argv, log, die_with_parent=False)
    url = f"http://{LOOPBACK}:{port}/"
    try:
        wait_for(
            lambda: http_status(url, timeout=1) is not None,
            START_TIMEOUT,
            f"the sandbox's {name} server",
            alive=lambda: process.poll() is None,
            log_path=log,
        )
    except BaseException:
        stop_process(process, term_timeout=10)  # it may be alive but not answering
        raise
    return process.pid


def _ensure_base_image(state: SandboxState, ui: UI, configured: str | None) -> None:
    """Build the local Debian python3 base once, unless base_image is set or mmdebstrap is
    missing (then the Dockerfile's own base is pulled by the engine)."""
    if configured or state.base_image or shutil.which("mmdebstrap") is None:
        return
    client = PrivateDockerd.attached(state.docker_host).client()
    try:
        message = "building the local base image with mmdebstrap (about 30-60 s, once)"
        with ui.status(message):
            built = build_base_image(client, DEFAULT_TAG)
    finally:
        client.close()
    if built.built:
        ui.info(f"built base image {built.tag} in {built.seconds:.0f} s")
    state.base_image = built.tag


# -- status -----------------------------------------------------------------------------


def status(state: SandboxState) -> list[ServiceStatus]:
    """Whether each service answers, and where."""
    docker = PrivateDockerd.attached(state.docker_host) if state.docker_host else None
    return [
        ServiceStatus("moto (AWS API)", _pid_up(state.moto_pid), state.endpoint_url),
        ServiceStatus("registry (ECR)", _pid_up(state.registry_pid), state.registry),
        ServiceStatus(
            "PostgreSQL",
            _postgres(state).is_running(),
            f"{LOOPBACK}:{state.postgres_port}/{DB_NAME}",
        ),
        ServiceStatus("docker engine", docker is not None and docker.ping(), state.docker_host),
        ServiceStatus("load balancer (HAProxy)", _pid_up(state.lb_pid), state.lb_url),
    ]


def all_up(state: SandboxState) -> bool:
    return all(s.up for s in status(state))


def _pid_up(pid: int | None) -> bool:
    return pid is not None and pid_alive(pid)


# What `_stop_started` calls for each service of `status()`, by its name there.
_STOPPERS: dict[str, Callable[[SandboxState], bool]] = {
    "moto (AWS API)": _stop_pid_of("moto_pid"),
    "registry (ECR)": _stop_pid_of("registry_pid"),
    "PostgreSQL": _stop_postgres,
    "docker engine": _stop_own_dockerd,
    "load balancer (HAProxy)": _stop_pid_of("lb_pid"),
}


# -- down -------------------------------------------------------------------------------


def down(root: Path, *, purge: bool = False) -> list[str]:
    """Stop every process the sandbox started, by PID; remove its files. What was stopped."""
    root = root.resolve()
    state = load_state(root)
    if state is None:
        if purge and (root / "docker").is_dir():
            PrivateDockerd(root / "docker").stop()
            shutil.rmtree(root, ignore_errors=True)
        return []
    stopped = []
    for name, pid in (("moto and its ECS scheduler", state.moto_pid), ("HAProxy", state.lb_pid)):
        if _pid_up(pid):
            stop_pid(pid, term_timeout=10)  # type: ignore[arg-type]
            stopped.append(name)
    stopped += _stop_tasks(state)
    if _pid_up(state.registry_pid):
        stop_pid(state.registry_pid, term_timeout=10)  # type: ignore[arg-type]
        stopped.append("registry")
    server = _postgres(state)
    if server.is_running():
        server.stop()
        stopped.append("PostgreSQL")
    if state.dockerd_root:
        PrivateDockerd(Path(state.dockerd_root)).stop()
        stopped.append("dockerd")
    _remove_files(state, purge=purge)
    return stopped


def _stop_tasks(state: SandboxState) -> list[str]:
    from ecslab.sandbox.emulator.ecs_containers import remove_all

    if not state.docker_host or not PrivateDockerd.attached(state.docker_host).ping():
        return []
    client = PrivateDockerd.attached(state.docker_host).client()
    try:
        count = remove_all(client, state.path)
    finally:
        client.close()
    return [f"{count} task container(s)"] if count else []


def _remove_files(state: SandboxState, *, purge: bool) -> None:
    """Everything but the private engine's images (kept so `up` need not rebuild the base)."""
    keep = {"docker"} if not purge else set()
    for child in state.path.iterdir():
        if child.name in keep or child.name == STATE_FILE:
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    if Path(state.postgres_root).parent != state.path:
        shutil.rmtree(state.postgres_root, ignore_errors=True)
    if state.dockerd_root and Path(state.dockerd_root).parent != state.path:
        shutil.rmtree(state.dockerd_root, ignore_errors=True)  # a /tmp stand-in: not reusable
    (state.path / STATE_FILE).unlink(missing_ok=True)
    if purge and not any(state.path.iterdir()):
        state.path.rmdir()
