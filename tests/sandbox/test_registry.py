"""Registry: docker-registry on loopback; with htpasswd it rejects bad credentials."""

from __future__ import annotations

import base64
from collections.abc import Callable

import docker
import pytest

from ecslab.sandbox.ports import http_status
from ecslab.sandbox.process import pid_alive
from ecslab.sandbox.registry import Registry


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_registry_without_auth_answers(registry: Registry) -> None:
    assert registry.address.startswith("127.0.0.1:")
    assert http_status(f"{registry.url}/v2/") == 200


def test_htpasswd_registry_checks_credentials(
    registry_factory: Callable[..., Registry],
) -> None:
    private = registry_factory(users={"learner": "s3cret"})
    url = f"{private.url}/v2/"
    assert http_status(url) == 401
    assert http_status(url, headers=_basic("learner", "wrong")) == 401
    assert http_status(url, headers=_basic("learner", "s3cret")) == 200


def test_push_with_login(
    registry_factory: Callable[..., Registry],
    docker_client: docker.DockerClient,
    base_image: str,
) -> None:
    private = registry_factory(users={"learner": "s3cret"})
    with pytest.raises(docker.errors.APIError):
        docker_client.login("learner", "wrong", registry=private.address, reauth=True)
    reference = f"{private.address}/ecslab/base"
    docker_client.images.get(base_image).tag(reference, "test")
    try:
        events = docker_client.images.push(
            reference,
            "test",
            stream=True,
            decode=True,
            auth_config={"username": "learner", "password": "s3cret"},
        )
        errors = [e["error"] for e in events if "error" in e]
    finally:
        docker_client.images.remove(f"{reference}:test")
    assert errors == []
    assert (
        http_status(f"{private.url}/v2/ecslab/base/tags/list", headers=_basic("learner", "s3cret"))
        == 200
    )


def test_stop_ends_the_process(registry_factory: Callable[..., Registry]) -> None:
    private = registry_factory()
    pid = private.pid
    assert pid is not None
    private.stop()
    assert not pid_alive(pid)
    assert http_status(f"{private.url}/v2/", timeout=1) is None
