"""Lab step 6: build the microsite image and push it to the stack's ECR repository.

assess(): ECR already holds the image: the tag pins the content (clean commit or content
hash) and `describe_images` knows it (and `latest` points at it, when pushed too).
run(): log in with ECR's token (the engine checks it, nothing is written to disk), build
for the configured platform with the build output streamed, then push each tag unless ECR
holds that tag with the very digest the engine knows this image by. The pushed digest is
recorded where deploy-service looks for it: in ECR, via `describe_images`.

Platform: Fargate runs linux/amd64 unless the task definition asks for ARM64, so the
build names its platform explicitly (`platform`, default linux/amd64) and the built
image's architecture is checked before anything is pushed: an Apple Silicon laptop does not
push an image that cannot start. For Graviton tasks set `platform: linux/arm64` (and
`RuntimePlatform.CpuArchitecture: ARM64` in the task definition); the tag then ends in
`-arm64`. Building for a foreign architecture needs QEMU emulation (binfmt) in the engine.

Where ECR's data plane is missing (moto), a registry from the configuration stands in for
it (`registry: 127.0.0.1:5000`, repository path kept). The push is the same; afterwards the
manifest the registry serves is registered with ECR's `put_image`, as a real push does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecslab.aws.ecr import DEPLOY_ECR_HINT, ImageDetail, RegistryLogin
from ecslab.core.errors import AwsError, ImageError
from ecslab.core.naming import deployed
from ecslab.engine import docker_engine as engine
from ecslab.engine.registry import fetch_manifest
from ecslab.lab.images import (
    LATEST,
    ImageTag,
    build_args,
    image_reference,
    image_tag,
    push_repository,
)
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    import docker

    from ecslab.core.ui import UI, StatusLine
    from ecslab.engine.docker_engine import PushResult
    from ecslab.lab.context import Context

NAME = "push-image"


@dataclass(frozen=True)
class PushTarget:
    """Where the image goes: the ECR repository, and the path docker pushes to."""

    repository: str
    repository_uri: str
    push_repository: str

    @property
    def registry(self) -> str:
        return self.push_repository.split("/", 1)[0]


@dataclass(frozen=True)
class Pushed:
    """One tag after run(): its ECR image and, unless skipped, the push that made it."""

    tag: str
    image: ImageDetail
    push: PushResult | None


class BuildOutput:
    """Build output as the UI mode wants it: one spinner line on a terminal (the current
    instruction and its latest output), every line otherwise (CI logs, JSON events)."""

    def __init__(self, ui: UI, status: StatusLine) -> None:
        self._ui = ui
        self._status = status
        self._step = ""

    def step(self, text: str) -> None:
        self._step = _clip(text) if self._ui.mode == "rich" else text
        self._status.update(self._step)

    def line(self, text: str) -> None:
        if self._ui.mode == "rich":
            self._status.update(f"{self._step} | {_clip(text)}")
        else:
            self._ui.detail(text, step=NAME)


class PushImage:
    """Build and push the microsite image."""

    name = NAME

    def __init__(self, app: Context) -> None:
        self.app = app
        self.ecr = app.aws.ecr

    # -- assess -------------------------------------------------------------------------

    def validate(self) -> None:
        """Nothing to validate before AWS: the build context is read when assessing."""

    def assess(self) -> Assessment:
        target = self._find_target()
        tag = image_tag(self.app)
        facts = (target, tag)
        if target is None:
            reason = "the ECR stack is not deployed yet (deploy-ecr creates it)"
            return Assessment(False, reason, self._plan(target, tag), facts)
        if not tag.pinned:
            reason = f"tag {tag.name} ({tag.origin}) needs a build to compare"
            return Assessment(False, reason, self._plan(target, tag), facts)
        found = self.ecr.find_image(target.repository, tag.name)
        if found is None:
            return Assessment(
                False, f"ECR has no image tagged {tag.name}", self._plan(target, tag), facts
            )
        if self.app.config.push_latest and LATEST not in found.tags:
            reason = f"{LATEST} does not point at {tag.name} yet"
            return Assessment(False, reason, self._plan(target, tag), facts)
        return Assessment(True, f"ECR holds {target.repository}:{tag.name} ({found.digest})")

    def _plan(self, target: PushTarget | None, tag: ImageTag) -> tuple[str, ...]:
        where = target.push_repository if target else f"<{self.app.config.names.repository}>"
        return (
            f"build {self.app.microsite_path()} for {self.app.config.platform} "
            f"as {where}:{tag.name} ({tag.origin})",
            f"push {', '.join(self._tags(tag))} to {where.split('/', 1)[0]}",
        )

    # -- run ----------------------------------------------------------------------------

    def run(self, assessment: Assessment) -> StepResult:
        found, tag = assessment.facts
        target = found or self._target()
        login = self.ecr.authorization()
        self.app.ui.register_secret(login.password)
        client = self.app.docker
        self._login(client, target, login)
        image_id, build_seconds = self._build(client, target, tag)
        began = self.app.clock.now()
        results = [
            self._push_tag(client, target, image_id, name, login) for name in self._tags(tag)
        ]
        push_seconds = self.app.clock.now() - began
        return self._result(client, target, image_id, results, build_seconds, push_seconds)

    def _tags(self, tag: ImageTag) -> list[str]:
        extra = [LATEST] if self.app.config.push_latest and tag.name != LATEST else []
        return [tag.name, *extra]

    def _find_target(self) -> PushTarget | None:
        """The repository named by the ECR stack's outputs, or None before deploy-ecr.

        A stack whose outputs are not filled in (moto after a change set) is looked up by
        the repository's name, which the template derives as naming.py does.
        """
        stack = self.app.aws.cloudformation.describe(self.app.config.names.stack)
        if stack is None:
            return None
        where = deployed(self.app.config.names, stack.outputs)
        name, uri = where.repository, where.repository_uri
        if uri is None:
            uri = self.app.aws.ecr.repository_uri(name)
            if uri is None:
                return None
        return PushTarget(name, uri, push_repository(self.app.config, uri, name))

    def _target(self) -> PushTarget:
        target = self._find_target()
        if target is None:
            stack = self.app.config.names.stack
            raise AwsError(f"the stack {stack} has no ECR repository outputs yet", DEPLOY_ECR_HINT)
        return target

    def _login(self, client: docker.DockerClient, target: PushTarget, login: RegistryLogin) -> None:
        ui = self.app.ui
        ui.info(f"logging in to {target.registry} as {login.username}")
        engine.with_retries(
            lambda: engine.login(client, target.registry, login.username, login.password),
            self.app.clock,
            on_retry=self._warn_retry,
        )

    def _warn_retry(self, number: int, delay: float, error: ImageError) -> None:
        self.app.ui.warning(
            f"{error.message}; retrying in {delay:g}s (attempt {number + 1} of "
            f"{engine.PUSH_ATTEMPTS})"
        )

    def _build(
        self, client: docker.DockerClient, target: PushTarget, tag: ImageTag
    ) -> tuple[str, float]:
        """Build with live output; the image id and seconds taken."""
        config, ui = self.app.config, self.app.ui
        context = self.app.microsite_path()
        reference = image_reference(target.push_repository, tag=tag.name)
        began = self.app.clock.now()
        with ui.status(f"building {reference} for {config.platform}") as status:
            shown = BuildOutput(ui, status)
            image_id = engine.build_image(
                client,
                context,
                reference,
                platform=config.platform,
                buildargs=build_args(config),
                on_step=shown.step,
                on_line=shown.line,
                timeout=config.timeout or engine.BUILD_TIMEOUT_SECONDS,
            )
        seconds = self.app.clock.now() - began
        self._check_platform(client, image_id)
        ui.success(f"built {reference} ({image_id[:19]}) in {seconds:.1f}s", image=image_id)
        return image_id, seconds

    def _check_platform(self, client: docker.DockerClient, image_id: str) -> None:
        built = engine.image_architecture(client, image_id)
        wanted = self.app.config.platform
        if built != wanted:
            raise ImageError(
                f"the image was built for {built}, not {wanted}: Fargate would not start it",
                "check the Dockerfile's base image and --platform",
            )

    def _push_tag(
        self,
        client: docker.DockerClient,
        target: PushTarget,
        image_id: str,
        tag: str,
        login: RegistryLogin,
    ) -> Pushed:
        """Push one tag unless ECR already holds it with this image's digest."""
        engine.tag_image(client, image_id, target.push_repository, tag)
        known = engine.repo_digests(client, image_id, target.push_repository)
        existing = self.ecr.find_image(target.repository, tag)
        if existing is not None and existing.digest in known:
            self.app.ui.info(
                f"ECR already holds {target.repository}:{tag} with the same digest "
                f"({existing.digest}): push skipped"
            )
            return Pushed(tag, existing, None)
        auth = {"username": login.username, "password": login.password}
        with self.app.ui.progress() as bars:
            result = engine.with_retries(
                lambda: engine.push_image(client, target.push_repository, tag, auth, bars),
                self.app.clock,
                on_retry=self._warn_retry,
            )
        self.ecr.forget()  # the push changed the repository behind ECR's API
        image = self._record(target, tag, result.digest, login)
        return Pushed(tag, image, result)

    def _record(
        self, target: PushTarget, tag: str, digest: str, login: RegistryLogin
    ) -> ImageDetail:
        """Make sure ECR knows `tag` as `digest` (registering it when a stand-in got the push)."""
        if self.app.config.registry:
            manifest = fetch_manifest(
                target.registry, target.repository, digest, (login.username, login.password)
            )
            return self.ecr.put_manifest(
                target.repository, manifest.text, manifest.media_type, tag, manifest.digest
            )
        found = self.ecr.find_image(target.repository, tag)
        if found is None or found.digest != digest:
            raise ImageError(
                f"pushed {target.repository}:{tag} as {digest}, but ECR lists "
                f"{found.digest if found else 'no such tag'}",
                "run push-image again; if it persists, check the repository in the ECR console",
            )
        return found

    def _result(
        self,
        client: docker.DockerClient,
        target: PushTarget,
        image_id: str,
        results: list[Pushed],
        build_seconds: float,
        push_seconds: float,
    ) -> StepResult:
        main = results[0]
        reference = image_reference(target.repository_uri, digest=main.image.digest)
        traffic = self._traffic(client, target, image_id, main.image.digest, results)
        data = {
            "image": reference,
            "repository": target.repository,
            "tag": main.tag,
            "tags": [r.tag for r in results],
            "digest": main.image.digest,
            "build_seconds": round(build_seconds, 2),
            "push_seconds": round(push_seconds, 2),
            **traffic,
        }
        if all(r.push is None for r in results):
            message = f"ECR already holds {reference} with the same digest: push skipped"
            return StepResult(Outcome.ALREADY_DONE, message, data)
        message = (
            f"pushed {reference}: {traffic['layers_pushed']} of {traffic['layers_total']} "
            f"layers, {_size(traffic['bytes_pushed'])} of {_size(traffic['image_bytes'])}"
        )
        return StepResult(Outcome.DONE, message, data)

    def _traffic(
        self,
        client: docker.DockerClient,
        target: PushTarget,
        image_id: str,
        digest: str,
        results: list[Pushed],
    ) -> dict[str, int]:
        """Layers and compressed bytes that went over the wire, against the whole image."""
        from ecslab.engine.registry import Manifest

        text = self.ecr.image_manifest(target.repository, digest)
        manifest = Manifest(text, "", digest) if text else None
        sizes = manifest.layer_sizes() if manifest else []
        config_size = manifest.config_size() if manifest else 0
        diff_ids = engine.layer_ids(client, image_id)
        pushed = {layer for r in results if r.push for layer in r.push.pushed}
        sent = [i for i, diff in enumerate(diff_ids) if _short(diff) in pushed]
        # A new layer means a new image config blob too (a few kB): counted with the layers.
        layer_bytes = sum(sizes[i] for i in sent if i < len(sizes))
        for i, diff in enumerate(diff_ids):
            if sent and i < len(sizes):  # the same sizes as the summary line, from the manifest
                how = "pushed" if i in sent else "already in the registry"
                self.app.ui.detail(f"  layer {_short(diff)}: {_size(sizes[i])} {how}")
        return {
            "layers_total": len(diff_ids),
            "layers_pushed": len(sent),
            "bytes_pushed": layer_bytes + (config_size if sent else 0),
            "image_bytes": sum(sizes) + config_size,
        }


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(diff_id: str) -> str:
    return diff_id.split(":", 1)[-1][:12]


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"  # pragma: no cover


def build(app: Context) -> PushImage:
    return PushImage(app)
