"""Which platform an image in ECR was built for, checked against the tasks' architecture.

deploy-service may fall back to the newest image in the repository (no image_tag, and the
tag this checkout derives is not in ECR). That image may have been pushed from another
machine, for another architecture; Fargate would then fail every task with "exec format
error". So its platform is read: from the manifest list when the image has one (one entry
per platform), else from the image config blob the manifest names, fetched from the
registry as a pull would. An image whose platforms leave out the tasks' is refused before
anything changes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ecslab.core.errors import AwsError, ImageError, UsageError

if TYPE_CHECKING:
    from ecslab.lab.context import Context

# Entries of a manifest list that are not images (build attestations) say unknown/unknown.
_NOT_A_PLATFORM = "unknown/unknown"


def image_platforms(
    app: Context, repository: str, repository_uri: str, digest: str
) -> frozenset[str]:
    """`os/arch` values the image `digest` runs on; ImageError or AwsError if unreadable."""
    from ecslab.aws.ecr import INDEX_TYPES, SINGLE_MANIFEST_TYPES

    ecr = app.aws.ecr
    text = ecr.image_manifest(repository, digest, INDEX_TYPES + SINGLE_MANIFEST_TYPES)
    if text is None:
        raise ImageError(f"ECR has no manifest for {repository}@{digest}")
    manifest = _json(text, f"the manifest of {repository}@{digest}")
    if "manifests" in manifest:
        return frozenset(
            platform
            for entry in manifest["manifests"]
            if (platform := _platform(entry.get("platform", {}))) != _NOT_A_PLATFORM
        )
    config_digest = str(manifest.get("config", {}).get("digest", ""))
    config = _json(_config_blob(app, repository, repository_uri, config_digest), "image config")
    return frozenset({_platform(config)})


def check_platform(
    app: Context, repository: str, repository_uri: str, digest: str, tag: str
) -> None:
    """Refuse (UsageError, exit 2) an image not built for the configured platform.

    Exit 2, not 6: nothing was built or pushed; the configuration (platform, image_tag)
    and what ECR holds disagree, and a setting or a push fixes it. An image whose platform
    cannot be read is deployed with a warning: ECR's data plane is missing in emulators.
    """
    wanted = app.config.platform
    try:
        platforms = image_platforms(app, repository, repository_uri, digest)
    except (ImageError, AwsError) as exc:
        app.ui.warning(f"could not read the platform of image {tag}: {exc.message}; deploying it")
        return
    if wanted in platforms:
        return
    built = ", ".join(sorted(platforms)) or "no platform"
    raise UsageError(
        f"the newest image in ECR repository {repository} ({tag}, {digest}) is built for "
        f"{built}, but the tasks run {wanted} (platform, from "
        f"{app.config.source_of('platform')}): Fargate could not start it",
        f"push an image for {wanted} (`ecslab step push-image` in the microsite's checkout), "
        f"name a suitable one with --image-tag, or set platform to match the image",
    )


def _config_blob(app: Context, repository: str, repository_uri: str, digest: str) -> bytes:
    from ecslab.engine.registry import fetch_blob
    from ecslab.lab.images import push_repository

    if not digest:
        raise ImageError(f"the manifest of {repository} names no image config")
    registry, path = push_repository(app.config, repository_uri, repository).split("/", 1)
    login = app.aws.ecr.authorization()
    app.ui.register_secret(login.password)
    return fetch_blob(registry, path, digest, (login.username, login.password))


def _json(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise ImageError(f"{what} is not JSON") from exc
    if not isinstance(parsed, dict):
        raise ImageError(f"{what} is not a JSON object")
    return dict(parsed)


def _platform(raw: object) -> str:
    found = raw if isinstance(raw, dict) else {}
    platform = f"{found.get('os', 'unknown')}/{found.get('architecture', 'unknown')}"
    variant = found.get("variant")
    # linux/arm64/v8 is linux/arm64: the variant only matters for 32-bit arm.
    return f"{platform}/{variant}" if variant and found.get("architecture") == "arm" else platform
