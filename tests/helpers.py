"""Shared test helpers: an App against moto (or a stubbed session), and fake ECR images.

`make_app(session, ...)` builds an App the way the CLI would, but with a FakeClock (so
waiting never sleeps), JSON output captured in memory (`output(app)` reads it back as
events) and `--yes`. `put_fake_image` records an image manifest in (moto's) ECR, as
push-image does when a local registry stands in for ECR.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import Aws
from ecslab.compose.app import App
from ecslab.core.clock import FakeClock
from ecslab.core.config import Config, Secret
from ecslab.core.ui import UI
from ecslab.sandbox import moto_seam
from ecslab.sandbox.moto_seam import PatchSet

if TYPE_CHECKING:
    import boto3

    from ecslab.steps.base import Step, StepResult

DB_PASSWORD = "pw-Never-Shown-7319"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def make_app(
    session: boto3.Session,
    endpoint_url: str | None = None,
    *,
    clock: FakeClock | None = None,
    yes: bool = True,
    interactive: bool = False,
    stdin: str = "",
    aws_factory: Callable[[Config], Aws] | None = None,
    **settings: Any,
) -> App:
    """An App against `session` (moto over HTTP, or a stubbed one without endpoint).

    The one App builder of the tests: `stdin` is what the user answers at prompts,
    `aws_factory` replaces the AWS side (e.g. Stubber-wrapped clients).
    """
    values: dict[str, Any] = {
        "region": "us-east-1",
        "endpoint_url": endpoint_url,
        "yes": yes,
        "output": "json",
        "db_host": "db.example.internal",
        "db_password": Secret(DB_PASSWORD),
        "image_tag": "v1",
    }
    values.update(settings)
    config = Config(**values)
    ui = UI(
        mode="json",
        out=io.StringIO(),
        err=io.StringIO(),
        assume_yes=yes,
        interactive=interactive,
        stdin=io.StringIO(stdin),  # what the user types at a confirmation
    )
    if config.db_password is not None:
        ui.register_secret(config.db_password.reveal())
    return App(
        config=config,
        ui=ui,
        clock=clock or FakeClock(),
        # Without an endpoint the clients are stubbed: no STS preflight to answer.
        aws_factory=aws_factory or (lambda c: Aws(c, session, preflight=endpoint_url is not None)),
    )


def _captured(stream: object) -> str:
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def output(app: App) -> list[dict[str, Any]]:
    """The JSON events the app's UI printed so far."""
    text = _captured(app.ui.out)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def all_text(app: App) -> str:
    """Everything the app's UI wrote, stdout and stderr."""
    return _captured(app.ui.out) + _captured(app.ui.err)


def fake_manifest(seed: str) -> str:
    layer = hashlib.sha256(f"layer-{seed}".encode()).hexdigest()
    config = hashlib.sha256(f"config-{seed}".encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1234,
                "digest": f"sha256:{config}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 5678,
                    "digest": f"sha256:{layer}",
                }
            ],
        }
    )


def put_fake_image(session: boto3.Session, repository: str, tag: str | None, seed: str = "") -> str:
    """Record an image under `tag` (None: untagged) in ECR; its digest (sha256 of manifest)."""
    manifest = fake_manifest(seed or tag or "untagged")
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    session.client("ecr").put_image(
        repositoryName=repository,
        imageManifest=manifest,
        imageManifestMediaType=MANIFEST_TYPE,
        imageDigest=digest,
        **({"imageTag": tag} if tag else {}),
    )
    return digest


def put_fake_images(session: boto3.Session, repository: str, tags: list[str], seed: str) -> str:
    """One image under several tags (e.g. the derived tag and latest); its digest."""
    digest = ""
    for tag in tags:
        digest = put_fake_image(session, repository, tag, seed)
    return digest


@contextmanager
def moto_fixes(*fixes: Callable[[PatchSet], None]) -> Iterator[None]:
    """Some of the sandbox's fixes (ecslab.sandbox.moto_patch) in this process's moto, for
    one test: the moto server runs in this process, so the patches reach it."""
    undo = moto_seam.install("test-fixes", lambda patches: [fix(patches) for fix in fixes])
    try:
        yield
    finally:
        undo()


def run_step(step: Step) -> StepResult:
    """Assess a step, then run it on that assessment, as the runner does (not done or not)."""
    return step.run(step.assess())
