"""A registry's HTTP API (OCI distribution v2), only as far as ecslab needs it.

When a local registry stands in for ECR's, push-image reads back the manifest the registry
serves for the pushed tag and registers it with ECR's API, so that `describe_images` knows
the tag and digest as it would after a real push. The digest is the sha256 of the exact
manifest bytes, which is how registries (ECR included) name a manifest.

Credentials go in an Authorization header built in memory (Basic auth, which is what
htpasswd-protected registries speak). Only plain HTTP for loopback addresses; https
otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from ecslab.core.errors import ImageError

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
_TIMEOUT_SECONDS = 30
CONFIG_BLOB_LIMIT = 1 << 20  # an image config is a few kB; refuse to read more than 1 MiB


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry serves it: exact text, media type and digest."""

    text: str
    media_type: str
    digest: str

    def layer_sizes(self) -> list[int]:
        """Compressed sizes of the layers, in the image's layer order."""
        return [int(layer["size"]) for layer in json.loads(self.text).get("layers", [])]

    def config_size(self) -> int:
        return int(json.loads(self.text).get("config", {}).get("size", 0))

    def config_digest(self) -> str:
        return str(json.loads(self.text).get("config", {}).get("digest", ""))


def base_url(registry: str) -> str:
    """http:// for loopback registries (dockerd treats them as insecure), else https://."""
    from ecslab.core.netaddr import is_loopback_host

    if registry.startswith("["):
        host = registry[: registry.find("]") + 1]
    else:
        host = registry.split(":", 1)[0]
    return f"{'http' if is_loopback_host(host) else 'https'}://{registry}"


def fetch_manifest(
    registry: str, repository: str, reference: str, auth: tuple[str, str] | None = None
) -> Manifest:
    """GET /v2/<repository>/manifests/<reference> and check its digest."""
    url = f"{base_url(registry)}/v2/{repository}/manifests/{reference}"
    request = urllib.request.Request(url, headers={"Accept": ", ".join(MANIFEST_TYPES)})
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        # Unredirected: urllib copies ordinary headers onto a redirect, to any host; the
        # token must reach only the registry it was issued for.
        request.add_unredirected_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
            body: bytes = response.read()
            media_type = response.headers.get_content_type()
            served = response.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as exc:
        raise ImageError(
            f"registry {registry} answered {exc.code} {exc.reason} for the manifest of "
            f"{repository}:{reference}"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ImageError(f"cannot read the manifest of {repository}:{reference}: {exc}") from exc
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if served and served != digest:
        raise ImageError(f"registry {registry} served a manifest whose digest is not {served}")
    return Manifest(body.decode(), media_type, digest)


def fetch_blob(
    registry: str,
    repository: str,
    digest: str,
    auth: tuple[str, str] | None = None,
    limit: int = CONFIG_BLOB_LIMIT,
) -> bytes:
    """GET /v2/<repository>/blobs/<digest> (at most `limit` bytes) and check its digest.

    ECR answers with a redirect to a pre-signed storage URL; the credentials go to the
    registry only (an unredirected header), never to where it redirects.
    """
    url = f"{base_url(registry)}/v2/{repository}/blobs/{digest}"
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
            body: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise ImageError(
            f"registry {registry} answered {exc.code} {exc.reason} for blob {digest} of "
            f"{repository}"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ImageError(f"cannot read blob {digest} of {repository}: {exc}") from exc
    if len(body) > limit:
        raise ImageError(f"blob {digest} of {repository} is larger than {limit} bytes")
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise ImageError(f"registry {registry} served blob {digest} with another digest")
    return body
