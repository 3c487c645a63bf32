"""The Docker engine: connecting, building and pushing images, with ecslab's errors.

Connects through the standard environment (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
`DOCKER_CERT_PATH`), as the docker CLI does.

Build and push are streams. Both report through small callbacks so the caller decides how
to show them (spinner, plain lines, JSON events), and both check every item of the stream:
the engine does not raise on a failed build or push, it sends an `{"error": ...}` item.
Registry credentials travel only as the push's `auth_config` (memory, then the engine's
X-Registry-Auth header); nothing is written to disk.

Builds always use host networking: an engine without a bridge (CI, the sandbox) has no
other way out for `RUN pip install`, and on ordinary engines a build container on the host
network is harmless (it publishes nothing and lives only for its RUN instruction).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ecslab.core.errors import ImageError

if TYPE_CHECKING:
    import docker

    from ecslab.core.clock import Clock

T = TypeVar("T")
BUILD_TIMEOUT_SECONDS = 1800
LAST_LINES = 15
PUSH_ATTEMPTS = 4
FIRST_RETRY_DELAY = 2.0
_STEP_RE = re.compile(r"^Step \d+/\d+ : ")
# Failures a later attempt may not meet: the registry or the network between us was down.
_TRANSIENT = (
    "connection refused",
    "connection reset",
    "i/o timeout",
    "tls handshake timeout",
    "timeout exceeded",
    "unexpected eof",
    ": eof",
    "broken pipe",
    "no route to host",
    "502 bad gateway",
    "503 service unavailable",
    "504 gateway",
    "500 internal server error",
    "toomanyrequests",
)
_REFUSED_LOGIN = (
    "unauthorized",
    "authentication required",
    "no basic auth credentials",
    "401 unauthorized",
    "denied",
)
_NO_REPOSITORY = ("name unknown", "repository does not exist", "does not exist in the registry")


def _engine_errors() -> tuple[type[BaseException], ...]:
    """What the SDK raises when the engine misbehaves (requests' errors are not DockerException)."""
    import requests
    from docker.errors import DockerException

    return (DockerException, requests.RequestException, OSError)


def connect() -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (or the default socket), checked alive."""
    import os

    import docker

    where = os.environ.get("DOCKER_HOST", "the default socket (/var/run/docker.sock)")
    try:
        client = docker.from_env()
        client.ping()
    except _engine_errors() as exc:
        raise ImageError(
            f"cannot reach the Docker engine at {where}",
            "start Docker (Docker Desktop, or `sudo systemctl start docker`), "
            "or point DOCKER_HOST at a running engine",
        ) from exc
    return client


# -- build ----------------------------------------------------------------------------


@dataclass
class BuildLog:
    """What a build said so far: the current instruction and the last lines of output."""

    step: str = ""
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))

    def tail(self) -> str:
        return "\n".join(self.lines)


class BuildFailed(ImageError):
    """The build stopped: at which instruction, why, and what it printed last."""

    def __init__(self, reason: str, log: BuildLog) -> None:
        where = f" at `{log.step}`" if log.step else ""
        message = f"docker build failed{where}: {reason}"
        if log.lines:
            message += "\nlast lines of its output:\n" + log.tail()
        hint = "fix the Dockerfile or the code it copies, then run push-image again"
        if "exec format error" in (log.tail() + reason).lower():
            hint = (
                "the engine cannot run binaries of the target platform: build on a machine "
                "of that architecture, or install QEMU emulation (binfmt), or change --platform"
            )
        super().__init__(message, hint)
        self.step = log.step
        self.output = log.tail()


def build_image(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    *,
    platform: str,
    buildargs: Mapping[str, str] | None = None,
    on_step: Callable[[str], None] = lambda step: None,
    on_line: Callable[[str], None] = lambda line: None,
    timeout: int = BUILD_TIMEOUT_SECONDS,
) -> str:
    """Build `context` as `tag` for `platform`, streaming; the image id (sha256:...).

    `timeout` bounds the wait for the next output from the engine, not the whole build.
    """
    log = BuildLog()
    try:
        stream = client.api.build(
            path=str(context),
            tag=tag,
            platform=platform,
            buildargs=dict(buildargs or {}),
            network_mode="host",
            rm=True,
            forcerm=True,
            decode=True,
            timeout=timeout,
        )
        image_id = _follow_build(stream, log, on_step, on_line)
    except _engine_errors() as exc:
        raise BuildFailed(f"the Docker engine failed: {_reason(exc)}", log) from exc
    if image_id is None:
        raise BuildFailed("the engine ended the build without naming an image", log)
    return image_id


def _follow_build(
    stream: Iterable[dict[str, Any]],
    log: BuildLog,
    on_step: Callable[[str], None],
    on_line: Callable[[str], None],
) -> str | None:
    image_id: str | None = None
    for item in stream:
        if "error" in item:
            raise BuildFailed(str(item["error"]).strip(), log)
        if isinstance(item.get("aux"), dict) and "ID" in item["aux"]:
            image_id = str(item["aux"]["ID"])
        for line in str(item.get("stream", "")).splitlines():
            if not line.strip():
                continue
            if _STEP_RE.match(line):
                log.step = line
                on_step(line)
            else:
                log.lines.append(line)
                on_line(line)
    return image_id


def image_architecture(client: docker.DockerClient, image: str) -> str:
    """`os/arch` of a local image, e.g. linux/amd64."""
    try:
        attrs = client.images.get(image).attrs
    except _engine_errors() as exc:
        raise ImageError(f"cannot inspect image {image}: {_reason(exc)}") from exc
    return f"{attrs.get('Os', 'linux')}/{attrs.get('Architecture', '')}"


def tag_image(client: docker.DockerClient, image: str, repository: str, tag: str) -> None:
    try:
        client.api.tag(image, repository, tag, force=True)
    except _engine_errors() as exc:
        raise ImageError(f"cannot tag {image} as {repository}:{tag}: {_reason(exc)}") from exc


def repo_digests(client: docker.DockerClient, image: str, repository: str) -> set[str]:
    """Manifest digests the engine knows `image` by in `repository` (from earlier pushes)."""
    try:
        attrs = client.images.get(image).attrs
    except _engine_errors() as exc:
        raise ImageError(f"cannot inspect image {image}: {_reason(exc)}") from exc
    found: set[str] = set()
    for entry in attrs.get("RepoDigests") or []:
        name, _, digest = str(entry).partition("@")
        if name == repository:
            found.add(digest)
    return found


def layer_ids(client: docker.DockerClient, image: str) -> list[str]:
    """The image's layer diff ids, bottom first (the push stream names layers by them)."""
    try:
        attrs = client.images.get(image).attrs
    except _engine_errors() as exc:
        raise ImageError(f"cannot inspect image {image}: {_reason(exc)}") from exc
    return [str(layer) for layer in attrs.get("RootFS", {}).get("Layers", [])]


# -- registry login and push ----------------------------------------------------------


class LayerProgress(Protocol):
    """Where push progress goes (ecslab.core.ui.Progress has this shape)."""

    def update(self, item: str, description: str, done: int, total: int | None) -> None: ...

    def finish(self, item: str, description: str) -> None: ...


class PushFailed(ImageError):
    """Login or push refused; `transient` when another attempt may succeed."""

    def __init__(self, message: str, hint: str | None = None, *, transient: bool = False) -> None:
        super().__init__(message, hint)
        self.transient = transient


@dataclass(frozen=True)
class PushResult:
    """A finished push: the manifest digest, and what happened to each layer."""

    digest: str
    size: int
    layers: Mapping[str, str]

    @property
    def pushed(self) -> list[str]:
        """Short diff ids of the layers that went over the wire."""
        return [layer for layer, status in self.layers.items() if status == "Pushed"]


@dataclass(frozen=True)
class _Rule:
    """Words a registry error contains -> what ecslab says about it."""

    words: tuple[str, ...]
    says: str
    hint: str
    transient: bool = False


_RULES = (
    _Rule(
        _NO_REPOSITORY,
        "{action} failed: registry {registry} has no such repository",
        "run `ecslab step deploy-ecr` first (it creates the repository)",
    ),
    _Rule(
        _REFUSED_LOGIN,
        "registry {registry} refused the login ({action})",
        "check that the registry belongs to this AWS account and region, and that your "
        "credentials may push to ECR (ecr:GetAuthorizationToken, ecr:*Upload*, ecr:PutImage)",
    ),
    _Rule(
        ("no such host",),
        "{action} failed: registry {registry} has no address",
        "check the region and account; against a local AWS stand-in (moto, the sandbox) "
        "set `registry` (e.g. 127.0.0.1:5000): no registry stands behind its ECR",
    ),
    _Rule(
        _TRANSIENT,
        "{action} failed: cannot reach registry {registry}",
        "check your network (and, with --registry, that the registry is running), "
        "then run push-image again",
        transient=True,
    ),
)


def classify(registry: str, action: str, message: str) -> PushFailed:
    """A registry's complaint as an error with a hint; transient ones may be retried."""
    lowered = message.lower()
    for rule in _RULES:
        if any(word in lowered for word in rule.words):
            says = rule.says.format(action=action, registry=registry)
            return PushFailed(f"{says}: {message}", rule.hint, transient=rule.transient)
    return PushFailed(f"{action} failed at registry {registry}: {message}")


def login(client: docker.DockerClient, registry: str, username: str, password: str) -> None:
    """Have the engine check the credentials with the registry (kept in memory only)."""
    try:
        client.login(username=username, password=password, registry=registry, reauth=True)
    except _engine_errors() as exc:
        raise classify(registry, "login", _reason(exc)) from exc


def push_image(
    client: docker.DockerClient,
    repository: str,
    tag: str,
    auth: Mapping[str, str],
    progress: LayerProgress,
) -> PushResult:
    """Push `repository:tag`, reporting per-layer bytes; every stream item is checked."""
    registry = repository.split("/", 1)[0]
    try:
        stream = client.api.push(
            repository, tag=tag, stream=True, decode=True, auth_config=dict(auth)
        )
        return _follow_push(stream, registry, progress)
    except PushFailed:
        raise
    except _engine_errors() as exc:
        raise classify(registry, "push", _reason(exc)) from exc


def _follow_push(
    stream: Iterator[dict[str, Any]], registry: str, progress: LayerProgress
) -> PushResult:
    layers: dict[str, str] = {}
    digest, size = "", 0
    for item in stream:
        if "error" in item:
            raise classify(registry, "push", str(item["error"]).strip())
        aux = item.get("aux")
        if isinstance(aux, dict) and "Digest" in aux:
            digest, size = str(aux["Digest"]), int(aux.get("Size", 0))
        layer, status = item.get("id"), str(item.get("status", ""))
        if not layer or not status:
            continue
        layers[layer] = status
        detail = item.get("progressDetail") or {}
        if status == "Pushing" and "current" in detail:
            total = detail.get("total")
            progress.update(layer, f"{layer} pushing", int(detail["current"]), total)
        elif status in ("Pushed", "Layer already exists") or status.startswith("Mounted"):
            progress.finish(layer, f"{layer} {status.lower()}")
    if not digest:
        raise PushFailed(f"the push to {registry} ended without a manifest digest")
    return PushResult(digest, size, layers)


def with_retries(
    attempt: Callable[[], T],
    clock: Clock,
    *,
    attempts: int = PUSH_ATTEMPTS,
    first_delay: float = FIRST_RETRY_DELAY,
    on_retry: Callable[[int, float, PushFailed], None] = lambda n, delay, error: None,
) -> T:
    """Run `attempt`; on a transient PushFailed wait (doubling) and try again, then give up."""
    delay = first_delay
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except PushFailed as error:
            if not error.transient or number == attempts:
                if error.transient:
                    error.message += f" (gave up after {attempts} attempts)"
                raise
            on_retry(number, delay, error)
            clock.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def _reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()
