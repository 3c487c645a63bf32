"""PrivateDockerd: a bridge-less dockerd that stops by PID and leaves no process or mount."""

from __future__ import annotations

import io
import os
import tarfile

import docker
import pytest

from ecslab.sandbox import NeedsRootError
from ecslab.sandbox.dockerd import PrivateDockerd, mounts_under
from ecslab.sandbox.process import pid_alive


def test_session_engine_has_no_bridge(docker_client: docker.DockerClient) -> None:
    assert docker_client.version()["ApiVersion"] >= "1.41"
    assert "bridge" not in {n.name for n in docker_client.networks.list()}


def _empty_image_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("empty"), io.BytesIO(b""))
    return buffer.getvalue()


def _leave_a_netns_mount(client: docker.DockerClient) -> None:
    # Even a failed start on the host network makes dockerd mount <exec-root>/netns/default.
    client.api.import_image(src=_empty_image_tar(), repository="ecslab-empty", tag="test")
    with pytest.raises(docker.errors.APIError):
        client.containers.run("ecslab-empty:test", ["/none"], network_mode="host", remove=True)


def test_stop_leaves_no_process_and_no_mount() -> None:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("dockerd needs root")
    engine = PrivateDockerd()
    try:
        engine.start()
    except NeedsRootError as exc:
        pytest.fail(str(exc))
    try:
        pid = engine.pid
        containerd = int((engine.exec_root / "containerd" / "containerd.pid").read_text())
        client = engine.client()
        try:
            _leave_a_netns_mount(client)
        finally:
            client.close()
        assert engine.exec_root / "netns" / "default" in mounts_under(engine.root)
    finally:
        engine.remove()
    assert pid is not None and not pid_alive(pid)
    assert not pid_alive(containerd)
    assert mounts_under(engine.root) == []
    assert not engine.root.exists()


def test_attached_engine_is_left_running(dockerd: PrivateDockerd) -> None:
    attached = PrivateDockerd.attached(dockerd.docker_host)
    attached.start()
    attached.remove()
    assert dockerd.ping()
