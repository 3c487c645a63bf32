"""`sandbox up` that fails part-way stops what it started, by PID, and says what to run."""

from __future__ import annotations

import io
import shutil
import socket
from pathlib import Path

import pytest

from ecslab.core.ui import UI
from ecslab.sandbox import PrivateDockerd, control
from ecslab.sandbox.errors import SandboxError
from ecslab.sandbox.ports import LOOPBACK
from ecslab.sandbox.process import pid_alive
from ecslab.sandbox.state import SandboxState, load_state


def _state_with_taken_lb_port(root: Path, holder: socket.socket) -> SandboxState:
    """A saved sandbox state whose load balancer port another program holds."""
    root.mkdir(parents=True)
    root.chmod(0o711)
    state = control._new_state(root)
    state.lb_port = holder.getsockname()[1]
    state.save()
    return state


def test_a_start_failing_part_way_stops_what_it_started(
    dockerd: PrivateDockerd, tmp_path: Path
) -> None:
    root = tmp_path / "sandbox"
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        holder.listen()
        made = _state_with_taken_lb_port(root, holder)
        ui = UI(mode="plain", out=io.StringIO(), err=io.StringIO(), interactive=False)
        try:
            with pytest.raises(SandboxError) as caught:
                control.up(root, ui, docker_host=dockerd.docker_host, base_image="unused:tag")
            state = load_state(root)
        finally:
            left = control.down(root)  # nothing left to stop if the code under test is right
            shutil.rmtree(made.postgres_root, ignore_errors=True)

    error = caught.value
    assert "is taken" in error.message
    # PostgreSQL, the registry and moto had started before the load balancer failed.
    for name in ("moto (AWS API)", "registry (ECR)", "PostgreSQL"):
        assert name in error.message
    assert "ecslab sandbox up" in (error.hint or "")
    assert "docker engine" not in error.message  # the test's engine is not the sandbox's
    assert left == []
    assert state is not None
    assert state.moto_pid is None and state.registry_pid is None and state.lb_pid is None
    assert not control._postgres(state).is_running()
    assert dockerd.ping()


def test_a_start_that_succeeds_leaves_nothing_to_undo_and_down_stops_all(
    dockerd: PrivateDockerd, tmp_path: Path
) -> None:
    root = tmp_path / "sandbox"
    ui = UI(mode="plain", out=io.StringIO(), err=io.StringIO(), interactive=False)
    state = control.up(root, ui, docker_host=dockerd.docker_host, base_image="unused:tag")
    pids = [state.moto_pid, state.registry_pid, state.lb_pid]
    try:
        assert all(pid is not None and pid_alive(pid) for pid in pids)
    finally:
        stopped = control.down(root)
    assert {"moto and its ECS scheduler", "registry", "HAProxy", "PostgreSQL"} <= set(stopped)
    assert not any(pid_alive(pid) for pid in pids if pid is not None)
