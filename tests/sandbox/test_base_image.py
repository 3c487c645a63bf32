"""The local base image: Debian python3 with venv, trusting the host's extra CAs."""

from __future__ import annotations

import docker


def test_base_image_has_python3_and_venv(
    docker_client: docker.DockerClient, base_image: str
) -> None:
    script = "python3 -m venv /tmp/v && /tmp/v/bin/python -c 'import sys; print(sys.prefix)'"
    output = docker_client.containers.run(
        base_image, ["sh", "-c", script], network_mode="host", remove=True
    )
    assert output.decode().strip() == "/tmp/v"


def test_base_image_points_pip_at_the_ca_bundle(
    docker_client: docker.DockerClient, base_image: str
) -> None:
    env = docker_client.images.get(base_image).attrs["Config"]["Env"]
    assert "PIP_CERT=/etc/ssl/certs/ca-certificates.crt" in env
