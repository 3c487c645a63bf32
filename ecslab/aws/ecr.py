"""ECR: repositories, the images they hold, and the registry login.

`Ecr` is the one way ecslab talks to ECR's API. The registry credentials from
`get_authorization_token` stay in memory (`RegistryLogin` masks its password in `repr`);
they are never printed or written to disk.

`describe_images` is the single source of truth for "which image does this tag name":
push-image skips a push when ECR already holds the tag with the same digest, and
deploy-service deploys the digest it finds. When a local registry stands in for ECR's
(tests, the sandbox), push-image registers each pushed manifest with `put_manifest`, so the
same question gets the same answer in both worlds.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from ecslab.aws.errors import (
    IMAGE_ALREADY_EXISTS,
    IMAGE_NOT_FOUND,
    REPOSITORY_NOT_FOUND,
    error_code,
)
from ecslab.aws.session import aws_errors
from ecslab.core.errors import AwsError

if TYPE_CHECKING:
    from ecslab.aws.session import Aws

_BATCH_DELETE_LIMIT = 100
SINGLE_MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
# Multi-platform images: a list of manifests, one per platform.
INDEX_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
DEPLOY_ECR_HINT = "run `ecslab step deploy-ecr` first"


@dataclass(frozen=True)
class ImageDetail:
    """One image in a repository: its manifest digest and the tags pointing at it."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime | None
    size: int | None


class RegistryLogin(NamedTuple):
    """ECR's registry credentials; the password is never shown."""

    username: str
    password: str
    proxy_endpoint: str

    def __repr__(self) -> str:
        return (
            f"RegistryLogin(username={self.username!r}, password='********', "
            f"proxy_endpoint={self.proxy_endpoint!r})"
        )

    @property
    def registry(self) -> str:
        """host[:port] of the registry, as image references spell it."""
        return self.proxy_endpoint.split("://", 1)[-1].rstrip("/")


class Ecr:
    """Typed calls to ECR; botocore errors become ecslab errors.

    One instance serves a run (`Aws.ecr`) and remembers which repositories and tagged
    images it found, until a write through it (or `forget()`, after a Docker push that
    ECR learns of outside this object) makes it ask again.
    """

    def __init__(self, aws: Aws) -> None:
        self._aws = aws
        self._uris: dict[str, str | None] = {}
        self._images: dict[tuple[str, str], ImageDetail | None] = {}

    def forget(self) -> None:
        """Drop what was read (after anything changed the repository)."""
        self._uris.clear()
        self._images.clear()

    @property
    def _client(self) -> Any:
        return self._aws.client("ecr")

    def repository_uri(self, name: str) -> str | None:
        """The repository's URI, or None when there is no such repository."""
        if name not in self._uris:
            self._uris[name] = self._read_repository_uri(name)
        return self._uris[name]

    def _read_repository_uri(self, name: str) -> str | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"read ECR repository {name}"):
            try:
                answer = self._client.describe_repositories(repositoryNames=[name])
            except ClientError as exc:
                if error_code(exc) == REPOSITORY_NOT_FOUND:
                    return None
                raise
        return str(answer["repositories"][0]["repositoryUri"])

    def find_image(self, repository: str, tag: str, *, fresh: bool = False) -> ImageDetail | None:
        """The image tagged `tag`, or None. A missing repository is an error with a hint."""
        if fresh or (repository, tag) not in self._images:
            self._images[(repository, tag)] = self._read_image(repository, tag)
        return self._images[(repository, tag)]

    def _read_image(self, repository: str, tag: str) -> ImageDetail | None:
        from botocore.exceptions import ClientError

        with aws_errors(f"read image {repository}:{tag}"):
            try:
                answer = self._client.describe_images(
                    repositoryName=repository, imageIds=[{"imageTag": tag}]
                )
            except ClientError as exc:
                if error_code(exc) == IMAGE_NOT_FOUND:
                    return None
                if error_code(exc) == REPOSITORY_NOT_FOUND:
                    raise _missing_repository(repository) from exc
                raise
        details = answer.get("imageDetails", [])
        return _detail(details[0]) if details else None

    def latest_image(self, repository: str) -> ImageDetail | None:
        """The most recently pushed tagged image, or None when the repository has none."""
        newest: ImageDetail | None = None
        for raw in self._describe_all(repository, {"tagStatus": "TAGGED"}) or []:
            image = _detail(raw)
            if newest is None or _pushed_key(image) > _pushed_key(newest):
                newest = image
        return newest

    def authorization(self) -> RegistryLogin:
        """Registry user, password and endpoint from get_authorization_token (memory only)."""
        with aws_errors("get an ECR login token (ecr:GetAuthorizationToken)"):
            answer = self._client.get_authorization_token()
        data = answer["authorizationData"][0]
        decoded = base64.b64decode(data["authorizationToken"]).decode()
        username, _, password = decoded.partition(":")
        if not password:
            raise AwsError("ECR returned an authorization token without a password")
        return RegistryLogin(username, password, str(data["proxyEndpoint"]))

    def put_manifest(
        self, repository: str, manifest: str, media_type: str, tag: str, digest: str
    ) -> ImageDetail:
        """Register `manifest` under `tag` (as a push does); already there is fine.

        `digest` (sha256 of the manifest bytes) is passed explicitly: AWS checks it, and
        moto would otherwise derive a different digest from the layer digests.
        """
        self.forget()
        from botocore.exceptions import ClientError

        with aws_errors(f"register image {repository}:{tag} with ECR"):
            try:
                self._client.put_image(
                    repositoryName=repository,
                    imageManifest=manifest,
                    imageManifestMediaType=media_type,
                    imageTag=tag,
                    imageDigest=digest,
                )
            except ClientError as exc:
                if error_code(exc) == REPOSITORY_NOT_FOUND:
                    raise _missing_repository(repository) from exc
                if error_code(exc) != IMAGE_ALREADY_EXISTS:
                    raise
        found = self.find_image(repository, tag)
        if found is None or found.digest != digest:
            raise AwsError(f"ECR did not record {repository}:{tag} as {digest}")
        return found

    def image_manifest(
        self, repository: str, digest: str, media_types: tuple[str, ...] = SINGLE_MANIFEST_TYPES
    ) -> str | None:
        """The manifest ECR holds for `digest` (one of `media_types`), or None."""
        with aws_errors(f"read the manifest of {repository}@{digest}"):
            answer = self._client.batch_get_image(
                repositoryName=repository,
                imageIds=[{"imageDigest": digest}],
                acceptedMediaTypes=list(media_types),
            )
        images = answer.get("images", [])
        return str(images[0]["imageManifest"]) if images else None

    def delete_all_images(self, repository: str) -> int:
        """Delete every image (tagged and untagged); the number deleted. 0 if no repository."""
        self.forget()
        images = self._describe_all(repository, {}, missing_ok=True)
        if images is None:
            return 0
        digests = sorted({raw["imageDigest"] for raw in images})
        for start in range(0, len(digests), _BATCH_DELETE_LIMIT):
            chunk = digests[start : start + _BATCH_DELETE_LIMIT]
            with aws_errors(f"delete images from {repository}"):
                answer = self._client.batch_delete_image(
                    repositoryName=repository, imageIds=[{"imageDigest": d} for d in chunk]
                )
            # BatchDeleteImage reports per-image failures in its answer instead of raising.
            failures = answer.get("failures", [])
            if failures:
                first = failures[0]
                raise AwsError(
                    f"ECR did not delete {len(failures)} image(s) from {repository}: "
                    f"{first.get('failureCode')}: {first.get('failureReason')}"
                )
        return len(digests)

    def delete_repository(self, repository: str) -> bool:
        """Delete the repository and any images left in it; False when it did not exist."""
        self.forget()
        from botocore.exceptions import ClientError

        with aws_errors(f"delete ECR repository {repository}"):
            try:
                self._client.delete_repository(repositoryName=repository, force=True)
            except ClientError as exc:
                if _is_missing_repo(exc):
                    return False
                raise
        return True

    def _describe_all(
        self, repository: str, filters: dict[str, str], *, missing_ok: bool = False
    ) -> list[dict[str, Any]] | None:
        """Every image detail; a missing repository is None if `missing_ok`, else an error."""
        from botocore.exceptions import ClientError

        found: list[dict[str, Any]] = []
        with aws_errors(f"list images in {repository}"):
            try:
                pages = self._client.get_paginator("describe_images").paginate(
                    repositoryName=repository, **({"filter": filters} if filters else {})
                )
                for page in pages:
                    found.extend(page.get("imageDetails", []))
            except ClientError as exc:
                if not _is_missing_repo(exc):
                    raise
                if missing_ok:
                    return None
                raise _missing_repository(repository) from exc
        return found


def _is_missing_repo(exc: Exception) -> bool:
    return error_code(exc) == REPOSITORY_NOT_FOUND


def _missing_repository(repository: str) -> AwsError:
    return AwsError(f"the ECR repository {repository} does not exist", DEPLOY_ECR_HINT)


def _detail(raw: dict[str, Any]) -> ImageDetail:
    return ImageDetail(
        repository=str(raw["repositoryName"]),
        digest=str(raw["imageDigest"]),
        tags=tuple(raw.get("imageTags", ())),
        pushed_at=raw.get("imagePushedAt"),
        size=raw.get("imageSizeInBytes"),
    )


def _pushed_key(image: ImageDetail) -> float:
    return image.pushed_at.timestamp() if image.pushed_at else 0.0
