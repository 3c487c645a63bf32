"""`ecslab step push-image` end to end: real engine, real registry, ECR in moto.

The registry stands in for ECR's data plane (`registry` setting); the repository and its
outputs come from the phase-1 stack created in moto from the real template. The microsite
is built from a copy of its build context (not a git checkout: tags are content hashes), on
the local Debian base image (`base_image` setting).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import docker
import pytest

from ecslab.aws.ecr import Ecr
from ecslab.compose.app import App
from ecslab.core.errors import AwsError, ExitCode, ImageError
from ecslab.engine.docker_engine import BuildFailed
from ecslab.engine.registry import fetch_manifest
from ecslab.sandbox.registry import Registry
from ecslab.steps import push_image
from ecslab.steps.base import Outcome
from tests.helpers import run_step
from tests.image_support import (
    change_one_line,
    copy_microsite,
    deploy_ecr_stack,
    events,
    make_app,
)

AppFactory = Callable[..., App]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return copy_microsite(tmp_path / "site")


@pytest.fixture
def repository(aws: boto3.Session, moto_server: str) -> str:
    return deploy_ecr_stack(aws, moto_server)


@pytest.fixture
def app_for(
    aws: boto3.Session,
    moto_server: str,
    docker_client: docker.DockerClient,
    base_image: str,
    site: Path,
) -> AppFactory:
    """An App pushing `site` to `registry` (a stand-in for ECR's) through the test engine."""

    def make(registry: Registry, **settings: Any) -> App:
        return make_app(
            aws,
            moto_server,
            docker_factory=lambda: docker_client,
            registry=registry.address,
            base_image=base_image,
            microsite_dir=str(site),
            **settings,
        )

    return make


def _ecr_digest(app: App, repository: str, tag: str) -> str | None:
    found = Ecr(app.aws).find_image(repository, tag)
    return found.digest if found else None


def _storage_bytes(registry: Registry) -> int:
    return sum(p.stat().st_size for p in registry.storage_dir.rglob("*") if p.is_file())


def _pushing(app: App) -> list[dict[str, Any]]:
    return [e for e in events(app) if "pushing" in str(e.get("message", ""))]


@pytest.fixture
def container_runner(docker_client: docker.DockerClient) -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def run(image: str, env: dict[str, str]) -> Any:
        container = docker_client.containers.run(
            image, detach=True, network_mode="host", environment=env
        )
        started.append(container)
        return container

    yield run
    for container in started:
        container.remove(force=True)


def _get(url: str, deadline: float) -> int:
    """Status of GET url, retried until it answers or the deadline passes (bounded)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# -- the happy path ---------------------------------------------------------------------


def test_push_registers_the_digest_and_the_image_pulls_back_and_runs(
    app_for: AppFactory,
    repository: str,
    registry_factory: Callable[..., Registry],
    docker_client: docker.DockerClient,
    container_runner: Callable[..., Any],
    free_port: Callable[[], int],
) -> None:
    registry = registry_factory()
    app = app_for(registry)
    step = push_image.build(app)
    assert not step.assess().done

    result = run_step(step)

    assert result.outcome == Outcome.DONE
    tag, digest = result.data["tag"], result.data["digest"]
    assert tag.startswith("ctx-") and result.data["tags"] == [tag, "latest"]
    # ECR (moto) and the registry agree on the digest: sha256 of the served manifest.
    served = fetch_manifest(registry.address, repository, tag)
    assert served.digest == digest == _ecr_digest(app, repository, tag)
    assert _ecr_digest(app, repository, "latest") == digest
    assert result.data["image"].endswith(f"/{repository}@{digest}")
    assert result.data["layers_pushed"] == result.data["layers_total"] >= 2
    assert 0 < result.data["bytes_pushed"] <= result.data["image_bytes"]
    messages = [str(e.get("message")) for e in events(app)]
    assert any(m.startswith("Step ") and "COPY microsite" in m for m in messages)
    assert _pushing(app)  # per-layer progress was reported
    assert push_image.build(app_for(registry)).assess().done

    # Pull it back by digest (the local copy removed first) and run it.
    reference = f"{registry.address}/{repository}@{digest}"
    for name in (tag, "latest"):  # noprune: keep the build cache for the other tests
        docker_client.images.remove(f"{registry.address}/{repository}:{name}", noprune=True)
    pulled = docker_client.images.pull(reference)
    port = free_port()
    env = {
        "PORT": str(port),
        "ENVIRONMENT": "test",
        "HOST": "127.0.0.1",
        "DB_PORT": str(free_port()),
        "USER": "nobody",
        "PASSWORD": "unused",
    }
    container_runner(pulled.id, env)
    assert _get(f"http://127.0.0.1:{port}/health", time.monotonic() + 30) == 200


def test_unchanged_image_is_not_pushed_again(
    app_for: AppFactory, repository: str, registry_factory: Callable[..., Registry]
) -> None:
    registry = registry_factory()
    # A configured tag says nothing about the content: check() cannot know, run() compares.
    first_app = app_for(registry, image_tag="v1")
    first = run_step(push_image.build(first_app))
    assert first.outcome == Outcome.DONE
    stored = _storage_bytes(registry)

    again_app = app_for(registry, image_tag="v1")
    step = push_image.build(again_app)
    assert not step.assess().done
    again = run_step(step)

    assert again.outcome == Outcome.ALREADY_DONE
    assert "push skipped" in again.message and again.data["digest"] == first.data["digest"]
    assert again.data["layers_pushed"] == 0 and again.data["bytes_pushed"] == 0
    assert _pushing(again_app) == []
    assert _storage_bytes(registry) == stored


def test_one_line_change_sends_only_the_code_layer(
    app_for: AppFactory,
    repository: str,
    registry_factory: Callable[..., Registry],
    site: Path,
) -> None:
    registry = registry_factory()
    first = run_step(push_image.build(app_for(registry)))
    stored = _storage_bytes(registry)

    change_one_line(site)
    app = app_for(registry)
    second = run_step(push_image.build(app))

    assert second.outcome == Outcome.DONE
    assert second.data["tag"] != first.data["tag"]
    assert second.data["digest"] != first.data["digest"]
    assert _ecr_digest(app, repository, "latest") == second.data["digest"]
    assert second.data["layers_pushed"] == 1
    assert second.data["bytes_pushed"] < 0.05 * second.data["image_bytes"]
    growth = _storage_bytes(registry) - stored
    assert 0 < growth < 0.05 * stored


# -- failures ---------------------------------------------------------------------------


def test_registry_refusing_the_login_fails_before_building(
    app_for: AppFactory, repository: str, registry_factory: Callable[..., Registry]
) -> None:
    guarded = registry_factory(users={"alice": "not-the-ecr-token"})
    app = app_for(guarded)
    password = Ecr(app.aws).authorization().password

    with pytest.raises(ImageError) as caught:
        run_step(push_image.build(app))

    assert "refused the login" in caught.value.message
    assert caught.value.exit_code == ExitCode.IMAGE_FAILED
    shown = app.ui.out.getvalue() + caught.value.message + str(caught.value.hint)  # type: ignore[attr-defined]
    assert password not in shown
    assert not any(str(e.get("message", "")).startswith("Step ") for e in events(app))
    assert app.clock.sleeps == []  # type: ignore[attr-defined]


def test_stopped_registry_is_retried_with_backoff_then_reported(
    app_for: AppFactory, repository: str, registry_factory: Callable[..., Registry]
) -> None:
    stopped = registry_factory()
    stopped.stop()
    app = app_for(stopped)

    with pytest.raises(ImageError) as caught:
        run_step(push_image.build(app))

    assert "cannot reach registry" in caught.value.message
    assert caught.value.hint and "registry is running" in caught.value.hint
    assert app.clock.sleeps == [2.0, 4.0, 8.0]  # type: ignore[attr-defined]
    warnings = [e for e in events(app) if e["event"] == "warning"]
    assert [w["message"].split("retrying in ")[1] for w in warnings] == [
        "2s (attempt 2 of 4)",
        "4s (attempt 3 of 4)",
        "8s (attempt 4 of 4)",
    ]


def test_broken_dockerfile_reports_the_instruction_and_pushes_nothing(
    app_for: AppFactory, repository: str, registry: Registry, site: Path
) -> None:
    dockerfile = site / "Dockerfile"
    lines = dockerfile.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FROM ")) + 1
    lines.insert(at, "RUN echo about-to-fail && exit 7")
    dockerfile.write_text("\n".join(lines) + "\n")
    app = app_for(registry)

    with pytest.raises(BuildFailed) as caught:
        run_step(push_image.build(app))

    assert "RUN echo about-to-fail && exit 7" in caught.value.message
    assert "non-zero code: 7" in caught.value.message
    assert "about-to-fail" in caught.value.output
    assert Ecr(app.aws).latest_image(repository) is None


def test_platform_is_explicit(app_for: AppFactory, repository: str, registry: Registry) -> None:
    # The local base exists for amd64 only. dockerd 20.10's builder then quietly builds
    # amd64 anyway; ecslab checks the result and refuses to push it.
    app = app_for(registry, platform="linux/arm64")
    assert push_image.build(app).assess().changes[0].endswith("-arm64 (content of site/)")
    with pytest.raises(ImageError) as caught:
        run_step(push_image.build(app))
    assert "linux/arm64" in caught.value.message
    assert Ecr(app.aws).latest_image(repository) is None


def test_missing_stack_says_run_deploy_ecr(app_for: AppFactory, registry: Registry) -> None:
    app = app_for(registry)
    step = push_image.build(app)

    check = step.assess()
    assert not check.done and "deploy-ecr" in check.reason
    with pytest.raises(AwsError) as caught:
        run_step(step)
    assert caught.value.hint and "deploy-ecr" in caught.value.hint


def test_plan_names_the_build_and_the_push(
    app_for: AppFactory, repository: str, registry: Registry
) -> None:
    build_line, push_line = list(push_image.build(app_for(registry)).assess().changes)
    assert f"{registry.address}/{repository}:ctx-" in build_line and "linux/amd64" in build_line
    assert push_line.startswith("push ctx-") and push_line.endswith(
        f", latest to {registry.address}"
    )


def test_docker_host_pointing_nowhere_exits_6_with_a_hint(
    aws: boto3.Session,
    moto_server: str,
    repository: str,
    registry: Registry,
    site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ecslab.cli import run

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nowhere.sock")
    monkeypatch.setenv("ECSLAB_REGISTRY", registry.address)
    monkeypatch.setenv("ECSLAB_MICROSITE_DIR", str(site))
    monkeypatch.chdir(tmp_path)

    code = run(["--output", "json", "step", "push-image"])

    assert code == ExitCode.IMAGE_FAILED
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    summary = lines[-1]
    assert summary["status"] == "error" and "nowhere.sock" in summary["message"]
    assert "DOCKER_HOST" in summary["hint"]
