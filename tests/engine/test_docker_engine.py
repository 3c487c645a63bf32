"""ecslab.engine.docker_engine against the real test engine and real registries on loopback."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from ecslab.core.clock import FakeClock
from ecslab.core.errors import ExitCode, ImageError
from ecslab.engine import docker_engine as engine
from ecslab.engine.docker_engine import BuildFailed, PushFailed
from ecslab.sandbox.dockerd import PrivateDockerd
from ecslab.sandbox.registry import Registry


class Bars:
    """Records what push_image reports, shaped like ecslab.core.ui.Progress."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, int, int | None]] = []
        self.finished: dict[str, str] = {}

    def update(self, item: str, description: str, done: int, total: int | None) -> None:
        self.updates.append((item, done, total))

    def finish(self, item: str, description: str) -> None:
        self.finished[item] = description


@pytest.fixture(scope="module")
def tiny_image(docker_client: docker.DockerClient) -> str:
    """A one-file image (no shell): fast to push."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = f"tiny {uuid.uuid4()}\n".encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    docker_client.api.import_image_from_data(
        buffer.getvalue(), repository="ecslab-test-tiny", tag="1"
    )
    return "ecslab-test-tiny:1"


def _context(tmp_path: Path, dockerfile: str) -> Path:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "note.txt").write_text(f"{uuid.uuid4()}\n")
    return tmp_path


def _tagged(client: docker.DockerClient, image: str, registry: Registry, name: str) -> str:
    repository = f"{registry.address}/{name}"
    engine.tag_image(client, image, repository, "v1")
    return repository


# -- connect --------------------------------------------------------------------------


def test_connect_to_nowhere_says_how_to_start_docker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(ImageError) as caught:
        engine.connect()
    assert f"unix://{tmp_path}/no-such.sock" in caught.value.message
    assert caught.value.hint and "DOCKER_HOST" in caught.value.hint
    assert caught.value.exit_code == ExitCode.IMAGE_FAILED


def test_connect_follows_docker_host(
    monkeypatch: pytest.MonkeyPatch, dockerd: PrivateDockerd
) -> None:
    monkeypatch.setenv("DOCKER_HOST", dockerd.docker_host)
    client = engine.connect()
    try:
        assert client.ping()
    finally:
        client.close()


# -- build ----------------------------------------------------------------------------


def test_build_streams_steps_and_output(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    context = _context(
        tmp_path, "ARG BASE_IMAGE=none\nFROM ${BASE_IMAGE}\nCOPY note.txt /\nRUN echo built-ok\n"
    )
    steps: list[str] = []
    lines: list[str] = []
    image_id = engine.build_image(
        docker_client,
        context,
        f"ecslab-test-build:{uuid.uuid4().hex[:8]}",
        platform="linux/amd64",
        buildargs={"BASE_IMAGE": base_image},
        on_step=steps.append,
        on_line=lines.append,
    )
    assert image_id.startswith("sha256:")
    assert [s.split(" : ", 1)[1] for s in steps] == [
        "ARG BASE_IMAGE=none",
        "FROM ${BASE_IMAGE}",
        "COPY note.txt /",
        "RUN echo built-ok",
    ]
    assert "built-ok" in lines
    assert engine.image_architecture(docker_client, image_id) == "linux/amd64"


def test_broken_dockerfile_names_the_instruction_and_shows_the_last_lines(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    context = _context(
        tmp_path,
        f"FROM {base_image}\nRUN echo first-line && echo second-line && exit 3\nRUN echo never\n",
    )
    with pytest.raises(BuildFailed) as caught:
        engine.build_image(docker_client, context, "ecslab-test-broken:1", platform="linux/amd64")
    error = caught.value
    assert error.step.endswith("RUN echo first-line && echo second-line && exit 3")
    assert "non-zero code: 3" in error.message
    assert "first-line" in error.output and "second-line" in error.output
    assert "never" not in error.message
    assert error.exit_code == ExitCode.IMAGE_FAILED


def test_unknown_instruction_is_a_build_failure(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    context = _context(tmp_path, f"FROM {base_image}\nRUNN echo typo\n")
    with pytest.raises(BuildFailed) as caught:
        engine.build_image(docker_client, context, "ecslab-test-typo:1", platform="linux/amd64")
    assert "runn" in caught.value.message.lower()


# -- push -----------------------------------------------------------------------------


def test_push_reports_layers_and_the_digest_then_skips_existing_layers(
    docker_client: docker.DockerClient, tiny_image: str, registry: Registry
) -> None:
    repository = _tagged(docker_client, tiny_image, registry, f"t/{uuid.uuid4().hex[:8]}")
    bars = Bars()
    first = engine.push_image(docker_client, repository, "v1", {}, bars)

    assert first.digest.startswith("sha256:") and first.size > 0
    assert first.pushed == list(first.layers)  # every layer went over the wire
    assert bars.updates and all(item in first.layers for item, _, _ in bars.updates)
    assert set(bars.finished) == set(first.layers)

    again = engine.push_image(docker_client, repository, "v1", {}, Bars())
    assert again.digest == first.digest
    assert again.pushed == [] and set(again.layers.values()) == {"Layer already exists"}
    assert first.digest in engine.repo_digests(docker_client, tiny_image, repository)


def test_wrong_credentials_are_refused_not_retried(
    docker_client: docker.DockerClient,
    tiny_image: str,
    registry_factory: Callable[..., Registry],
) -> None:
    guarded = registry_factory(users={"alice": "right-password"})
    with pytest.raises(PushFailed) as caught:
        engine.login(docker_client, guarded.address, "alice", "wrong-password")
    assert "refused the login" in caught.value.message and not caught.value.transient

    repository = _tagged(docker_client, tiny_image, guarded, "t/auth")
    clock = FakeClock()
    with pytest.raises(PushFailed) as pushed:
        engine.with_retries(
            lambda: engine.push_image(
                docker_client,
                repository,
                "v1",
                {"username": "alice", "password": "wrong-password"},
                Bars(),
            ),
            clock,
        )
    assert "refused the login" in pushed.value.message
    assert "wrong-password" not in pushed.value.message
    assert clock.sleeps == []


def test_right_credentials_push(
    docker_client: docker.DockerClient,
    tiny_image: str,
    registry_factory: Callable[..., Registry],
) -> None:
    guarded = registry_factory(users={"alice": "right-password"})
    engine.login(docker_client, guarded.address, "alice", "right-password")
    repository = _tagged(docker_client, tiny_image, guarded, "t/auth-ok")
    auth = {"username": "alice", "password": "right-password"}
    assert engine.push_image(docker_client, repository, "v1", auth, Bars()).digest


def test_stopped_registry_is_retried_with_backoff_then_fails(
    docker_client: docker.DockerClient,
    tiny_image: str,
    registry_factory: Callable[..., Registry],
) -> None:
    stopped = registry_factory()
    repository = _tagged(docker_client, tiny_image, stopped, "t/stopped")
    stopped.stop()
    clock = FakeClock()
    retries: list[int] = []
    with pytest.raises(PushFailed) as caught:
        engine.with_retries(
            lambda: engine.push_image(docker_client, repository, "v1", {}, Bars()),
            clock,
            on_retry=lambda number, delay, error: retries.append(number),
        )
    assert caught.value.transient
    assert "cannot reach registry" in caught.value.message
    assert f"gave up after {engine.PUSH_ATTEMPTS} attempts" in caught.value.message
    assert clock.sleeps == [2.0, 4.0, 8.0] and retries == [1, 2, 3]


class RestartingClock(FakeClock):
    """Brings the registry back during the first backoff: a network blip mid-push."""

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self.registry = registry

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.registry.start()


def test_push_succeeds_when_the_registry_comes_back(
    docker_client: docker.DockerClient,
    tiny_image: str,
    registry_factory: Callable[..., Registry],
) -> None:
    flaky = registry_factory()
    repository = _tagged(docker_client, tiny_image, flaky, "t/flaky")
    flaky.stop()
    clock = RestartingClock(flaky)
    result = engine.with_retries(
        lambda: engine.push_image(docker_client, repository, "v1", {}, Bars()), clock
    )
    assert result.digest.startswith("sha256:")
    assert clock.sleeps == [2.0]
    assert flaky.address in repository  # same port: the same registry came back


# -- reading the streams ----------------------------------------------------------------


def test_an_error_item_after_progress_fails_the_push() -> None:
    stream: Iterator[dict[str, Any]] = iter(
        [
            {"status": "Preparing", "progressDetail": {}, "id": "aaaaaaaaaaaa"},
            {
                "status": "Pushing",
                "progressDetail": {"current": 512, "total": 900},
                "id": "aaaaaaaaaaaa",
            },
            {
                "errorDetail": {"message": "Patch http://127.0.0.1:1/v2/x/blobs/uploads/u: EOF"},
                "error": "Patch http://127.0.0.1:1/v2/x/blobs/uploads/u: EOF",
            },
            {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": "sha256:00", "Size": 1}},
        ]
    )
    bars = Bars()
    with pytest.raises(PushFailed) as caught:
        engine._follow_push(stream, "127.0.0.1:1", bars)
    assert caught.value.transient and "EOF" in caught.value.message
    assert bars.updates == [("aaaaaaaaaaaa", 512, 900)]


@pytest.mark.parametrize(
    ("message", "transient", "words"),
    [
        ("unauthorized: authentication required", False, "refused the login"),
        (
            "denied: Your authorization token has expired. Reauthenticate and try again.",
            False,
            "refused the login",
        ),
        (
            "name unknown: The repository with name 'x' does not exist in the registry with id '1'",
            False,
            "no such repository",
        ),
        (
            'Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
            True,
            "cannot reach",
        ),
        ("received unexpected HTTP status: 503 Service Unavailable", True, "cannot reach"),
        ("manifest invalid: manifest invalid", False, "failed at registry"),
        (
            'Get "https://1.dkr.ecr.us-east-1.amazonaws.com/v2/": dial tcp: lookup '
            "1.dkr.ecr.us-east-1.amazonaws.com: no such host",
            False,
            "has no address",
        ),
    ],
)
def test_classify(message: str, transient: bool, words: str) -> None:
    error = engine.classify("127.0.0.1:9", "push", message)
    assert error.transient is transient
    assert words in error.message and message in error.message
