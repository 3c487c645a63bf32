"""The newest image's platform against the tasks': read from a real registry and moto's ECR.

Images are written to the registry blob by blob over its HTTP API (no engine, so any
architecture can be made), then registered with ECR's put_image as push-image does.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request

import boto3
import pytest

from ecslab.core.errors import ExitCode, UsageError
from ecslab.lab.stack_inputs import resolve_image
from ecslab.sandbox.registry import Registry
from ecslab.steps import deploy_ecr
from tests.helpers import MANIFEST_TYPE, all_text, make_app, run_step

REPOSITORY = "ecslab-dev-microservice"
INDEX_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _send(method: str, url: str, body: bytes, content_type: str) -> str:
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers.get("Location", ""))


def _upload_blob(registry: Registry, body: bytes) -> dict[str, object]:
    location = _send("POST", f"{registry.url}/v2/{REPOSITORY}/blobs/uploads/", b"", "text/plain")
    if location.startswith("/"):
        location = registry.url + location
    joiner = "&" if "?" in location else "?"
    _send("PUT", f"{location}{joiner}digest={_digest(body)}", body, "application/octet-stream")
    return {"size": len(body), "digest": _digest(body)}


def _push(session: boto3.Session, registry: Registry, tag: str, arch: str) -> str:
    """An image for linux/`arch` under `tag`, in the registry and in ECR; its digest."""
    layer = _upload_blob(registry, f"layer for {arch}".encode())
    config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers"}})
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                **_upload_blob(registry, config.encode()),
            },
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", **layer}],
        }
    )
    url = f"{registry.url}/v2/{REPOSITORY}/manifests/{tag}"
    _send("PUT", url, manifest.encode(), MANIFEST_TYPE)
    digest = _digest(manifest.encode())
    session.client("ecr").put_image(
        repositoryName=REPOSITORY,
        imageManifest=manifest,
        imageManifestMediaType=MANIFEST_TYPE,
        imageTag=tag,
        imageDigest=digest,
    )
    return digest


@pytest.fixture
def repository(aws: boto3.Session, moto_server: str) -> boto3.Session:
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    return aws


def test_newest_image_for_another_architecture_is_refused(
    repository: boto3.Session, moto_server: str, registry: Registry
) -> None:
    digest = _push(repository, registry, "built-on-a-mac", "arm64")
    app = make_app(repository, moto_server, image_tag=None, registry=registry.address)

    with pytest.raises(UsageError) as error:
        resolve_image(app)

    assert error.value.exit_code == ExitCode.USAGE
    assert (
        f"the newest image in ECR repository {REPOSITORY} (built-on-a-mac, {digest}) is "
        "built for linux/arm64, but the tasks run linux/amd64" in error.value.message
    )
    assert "--image-tag" in (error.value.hint or "")
    arm = make_app(
        repository, moto_server, image_tag=None, registry=registry.address, platform="linux/arm64"
    )
    found = resolve_image(arm)
    assert found is not None and found.reference.endswith(digest)


def test_newest_image_for_the_tasks_architecture_is_deployed(
    repository: boto3.Session, moto_server: str, registry: Registry
) -> None:
    digest = _push(repository, registry, "built-on-ci", "amd64")
    app = make_app(repository, moto_server, image_tag=None, registry=registry.address)

    found = resolve_image(app)

    assert found is not None and found.reference.endswith(f"@{digest}")
    assert found.source == "newest in ECR" and "could not read" not in all_text(app)


def test_a_multi_platform_image_is_judged_by_its_manifest_list(
    repository: boto3.Session, moto_server: str
) -> None:
    entry = {"mediaType": MANIFEST_TYPE, "size": 1, "digest": "sha256:" + "1" * 64}
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": INDEX_TYPE,
            "manifests": [
                {**entry, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {**entry, "platform": {"os": "unknown", "architecture": "unknown"}},
            ],
        }
    )
    repository.client("ecr").put_image(
        repositoryName=REPOSITORY,
        imageManifest=index,
        imageManifestMediaType=INDEX_TYPE,
        imageTag="multi",
        imageDigest=_digest(index.encode()),
    )
    with pytest.raises(UsageError, match="is built for linux/arm64, but the tasks run linux/amd64"):
        resolve_image(make_app(repository, moto_server, image_tag=None))
    arm = make_app(repository, moto_server, image_tag=None, platform="linux/arm64")
    assert resolve_image(arm) is not None
