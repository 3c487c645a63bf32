"""Shared service fixtures: real local peers (PostgreSQL, moto, dockerd, registry) for tests.

Session-scoped services start once, on first use, and are stopped by PID at the end.
Services that CI started already are reused: `ECSLAB_TEST_DOCKER_HOST` (a dockerd socket URL)
and `ECSLAB_TEST_BASE_IMAGE` (the local Python base image tag in it).

A missing program skips the tests that need it, naming the apt package to install; under CI
(`CI` set) it fails them instead, so nothing is silently skipped there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import pytest

from ecslab.sandbox import (
    DEFAULT_BASE_IMAGE,
    MissingDependencyError,
    MotoServer,
    NeedsRootError,
    PostgresServer,
    PrivateDockerd,
    Registry,
    SandboxError,
    build_base_image,
    ports,
)
from ecslab.sandbox.local_service import LocalService

if TYPE_CHECKING:
    import boto3
    import docker

    from tests.awscli_support import AwsCli


S = TypeVar("S", bound=LocalService)


def _unavailable(exc: SandboxError) -> NoReturn:
    """Skip locally, fail under CI: a missing service is an error where it is expected."""
    if os.environ.get("CI"):
        pytest.fail(f"required local service unavailable under CI: {exc}", pytrace=False)
    pytest.skip(str(exc))


def _start(service: LocalService) -> None:
    try:
        service.start()
    except (MissingDependencyError, NeedsRootError) as exc:
        _unavailable(exc)


@contextmanager
def _running(service: S) -> Iterator[S]:
    """`service` started (or the test skipped/failed as _unavailable says), then removed."""
    try:
        _start(service)
        yield service
    finally:
        service.remove()


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A running PostgreSQL 15 cluster shared by the session (password auth, 127.0.0.1).

    Use `.host`, `.port`, `.user`, `.password`, `.dsn(dbname)`, `.execute(sql, dbname)`.
    """
    with _running(PostgresServer()) as server:
        yield server


@pytest.fixture
def fresh_database(postgres: PostgresServer) -> Iterator[str]:
    """Name of a new, empty database in the session cluster; dropped after the test."""
    name = postgres.create_database(f"test_{uuid.uuid4().hex[:12]}")
    yield name
    with suppress(SandboxError):
        postgres.drop_database(name)


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A started PostgreSQL cluster of this test's own (to stop, restart or break freely)."""
    with _running(PostgresServer()) as server:
        yield server


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function returning a TCP port free on 127.0.0.1."""
    return ports.free_port


# -- AWS (moto) ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _moto_service() -> Iterator[MotoServer]:
    with _running(MotoServer()) as server:
        yield server


@pytest.fixture(scope="session")
def moto_server(_moto_service: MotoServer) -> str:
    """Endpoint URL (http://127.0.0.1:PORT) of a moto server in this process, per session."""
    return _moto_service.endpoint_url


@pytest.fixture
def aws(
    _moto_service: MotoServer, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> boto3.Session:
    """A boto3 Session against a freshly reset moto; the environment points every client there.

    Sets AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY=testing, AWS_DEFAULT_REGION=us-east-1 and
    AWS_ENDPOINT_URL; unsets AWS_PROFILE and hides ~/.aws files.
    """
    import boto3

    _moto_service.reset()
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    # A developer's ~/.aws files must not add profiles, regions or endpoints to the tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return boto3.Session(region_name="us-east-1")


# -- Docker engine, base image, registry --------------------------------------------------


@pytest.fixture(scope="session")
def dockerd() -> Iterator[PrivateDockerd]:
    """The Docker engine for tests: CI's (ECSLAB_TEST_DOCKER_HOST) or one started here.

    It has no bridge network: run containers with network_mode="host".
    """
    external = os.environ.get("ECSLAB_TEST_DOCKER_HOST")
    with _running(PrivateDockerd.attached(external) if external else PrivateDockerd()) as engine:
        yield engine


@pytest.fixture(scope="session")
def docker_client(dockerd: PrivateDockerd) -> Iterator[docker.DockerClient]:
    """A docker.DockerClient connected to the test engine."""
    client = dockerd.client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """Tag of the local Debian python3 base image (ECSLAB_TEST_BASE_IMAGE, else built once)."""
    tag = os.environ.get("ECSLAB_TEST_BASE_IMAGE") or DEFAULT_BASE_IMAGE
    try:
        build_base_image(docker_client, tag)
    except (MissingDependencyError, NeedsRootError) as exc:
        _unavailable(exc)
    return tag


def _new_registry(made: list[Registry], users: Mapping[str, str] | None) -> Registry:
    registry = Registry(users=users)
    made.append(registry)
    _start(registry)
    return registry


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """A running image registry without auth at `registry.address` (127.0.0.1:PORT)."""
    made: list[Registry] = []
    try:
        yield _new_registry(made, None)
    finally:
        for started in made:
            started.remove()


@pytest.fixture
def registry_factory() -> Iterator[Callable[..., Registry]]:
    """Make more started registries: `registry_factory(users={"name": "password"})` turns on
    htpasswd auth. Each is stopped and removed when the test ends (or may be stopped sooner).
    """
    made: list[Registry] = []

    def make(users: Mapping[str, str] | None = None) -> Registry:
        return _new_registry(made, users)

    try:
        yield make
    finally:
        for started in made:
            started.remove()


# -- the AWS CLI ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def awscli_program() -> Path:
    """The `aws` program (AWS CLI v1) in a venv of its own, installed once per machine."""
    from tests.awscli_support import AwsCliUnavailable, ensure_awscli

    try:
        return ensure_awscli()
    except AwsCliUnavailable as exc:
        _unavailable(SandboxError(f"the AWS CLI could not be installed: {exc}"))


@pytest.fixture(scope="session")
def awscli(awscli_program: Path) -> Callable[[str], AwsCli]:
    """`awscli(endpoint_url)`: the AWS CLI against that endpoint, with fake keys."""
    from tests.awscli_support import AwsCli

    def make(endpoint_url: str) -> AwsCli:
        return AwsCli(awscli_program, endpoint_url)

    return make
