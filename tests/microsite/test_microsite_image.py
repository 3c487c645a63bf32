"""The image: builds on a local base, runs as non-root, serves GET / on the host network,
stops promptly on SIGTERM, and a code change rebuilds only the last layer."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ecslab.sandbox import PostgresServer

from .helpers import MICROSITE_DIR, request

docker = pytest.importorskip("docker")


def build(client: Any, context: Path, tag: str, base_image: str) -> list[tuple[str, bool]]:
    """Build; return each step's instruction and whether it came from the cache."""
    steps: list[tuple[str, bool]] = []
    for item in client.api.build(
        path=str(context),
        tag=tag,
        rm=True,
        forcerm=True,
        network_mode="host",
        buildargs={"BASE_IMAGE": base_image},
        decode=True,
    ):
        if "error" in item:
            raise AssertionError(f"build failed: {item['error']}")
        text = item.get("stream", "")
        if text.startswith("Step "):
            steps.append((text.split(" : ", 1)[-1].strip(), False))
        elif "Using cache" in text and steps:
            steps[-1] = (steps[-1][0], True)
    return steps


@pytest.fixture(scope="module")
def image(docker_client: Any, base_image: str) -> Iterator[str]:
    tag = f"microsite-test:{uuid.uuid4().hex[:8]}"
    build(docker_client, MICROSITE_DIR, tag, base_image)
    yield tag
    docker_client.images.remove(tag, force=True)


def test_image_serves_root_from_a_container(
    docker_client: Any,
    image: str,
    postgres: PostgresServer,
    fresh_database: str,
    free_port: Callable[[], int],
) -> None:
    port = free_port()
    container = docker_client.containers.run(
        image,
        detach=True,
        network_mode="host",
        environment={
            "PORT": str(port),
            "ENVIRONMENT": "container",
            "HOST": "127.0.0.1",
            "USER": postgres.user,
            "PASSWORD": postgres.password,
            "DB_NAME": fresh_database,
            "DB_PORT": str(postgres.port),
        },
    )
    try:
        data = _wait_for_root(port, container)
        assert data["environment"] == "container"
        assert data["database"]["version"].startswith("PostgreSQL")
        assert len(data["items"]) == 3
        assert container.exec_run("id -u").output.strip() == b"10001"
        began = time.monotonic()
        container.stop(timeout=20)  # SIGTERM first: PID 1 must handle it
        assert time.monotonic() - began < 5
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0
        logs = container.logs(stdout=True, stderr=True).decode()
        events = [json.loads(line)["event"] for line in logs.splitlines()]
        assert events[0] == "started" and events[-1] == "stopped"
        assert postgres.password not in logs
    finally:
        container.remove(force=True)


def test_image_metadata(docker_client: Any, image: str) -> None:
    config = docker_client.images.get(image).attrs["Config"]
    assert config["User"] == "10001:10001"
    assert "8080/tcp" in config["ExposedPorts"]
    assert not config.get("Healthcheck")
    assert config["Cmd"] == ["python", "-m", "microsite"]


def test_code_change_rebuilds_only_the_last_layer(
    docker_client: Any, image: str, base_image: str, tmp_path: Path
) -> None:
    context = tmp_path / "microsite"
    shutil.copytree(MICROSITE_DIR, context, ignore=shutil.ignore_patterns("__pycache__"))
    init = context / "microsite" / "__init__.py"
    init.write_text(init.read_text() + "\n# changed\n")
    tag = f"microsite-test:{uuid.uuid4().hex[:8]}"
    try:
        steps = build(docker_client, context, tag, base_image)
        rebuilt = [
            step for step, cached in steps if not cached and not step.startswith(("FROM", "ARG"))
        ]
        assert rebuilt == ["COPY microsite /app/microsite"]
        assert steps[-1][0] == "COPY microsite /app/microsite"
    finally:
        docker_client.images.remove(tag, force=True)


def _wait_for_root(port: int, container: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reply = request(port, "GET", "/", timeout=2)
            if reply.status == 200:
                return reply.json()
        except OSError:
            pass
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.2)
    raise AssertionError(f"container not serving: {container.logs().decode()[-2000:]}")
