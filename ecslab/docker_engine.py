"""The Docker engine: connecting, building and pushing images, with ecslab's errors.

Connects through the standard environment (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
`DOCKER_CERT_PATH`), as the docker CLI does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.errors import ImageError

if TYPE_CHECKING:
    import docker


def connect() -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (or the default socket), checked alive."""
    import os

    import docker
    from docker.errors import DockerException

    where = os.environ.get("DOCKER_HOST", "the default socket (/var/run/docker.sock)")
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        raise ImageError(
            f"cannot reach the Docker engine at {where}",
            "start Docker (Docker Desktop, or `sudo systemctl start docker`), "
            "or point DOCKER_HOST at a running engine",
        ) from exc
    return client
