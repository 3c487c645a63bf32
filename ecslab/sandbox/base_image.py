"""A local Debian python3 base image, built without Docker Hub.

Docker Hub cannot be reached from the project's machines, so `FROM python:3.12-slim` cannot
be pulled there. This module builds a stand-in from Debian packages: mmdebstrap minbase
(bookworm) with python3, python3-venv and ca-certificates, imported into the engine. Debian's
python3 has no pip for the system and PEP 668 forbids system installs, so Dockerfiles built
on it install into a venv (`python3 -m venv /opt/venv`), which also works on python:3.12-slim.

Outbound TLS on these machines is re-signed by a local CA whose certificates sit in
/usr/local/share/ca-certificates; they are copied into the image and registered, and
PIP_CERT points pip (inside a venv too) at the resulting bundle.

From a shell: `python -m ecslab.sandbox build-base-image --docker-host unix://...`.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ecslab.sandbox.errors import SandboxError
from ecslab.sandbox.process import find_binary, run

if TYPE_CHECKING:
    import docker

DEFAULT_TAG = "ecslab-base:bookworm"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
# Without the merged-usr hook, bookworm minbase pulls in perl through usrmerge (171 MB more).
MERGED_USR_HOOKS = Path("/usr/share/mmdebstrap/hooks/merged-usr")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    f"ENV PIP_CERT={CA_BUNDLE}",
    'CMD ["python3"]',
)
# Manual pages, docs and translations are dead weight in an image (33 MB of it locales);
# copyright files and the locale alias database stay.
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)


@dataclass(frozen=True)
class BaseImage:
    """What build_base_image did: the tag, whether it had to build, and how long it took."""

    tag: str
    built: bool
    seconds: float


def build_base_image(
    client: docker.DockerClient, tag: str = DEFAULT_TAG, *, timeout: float = 900.0
) -> BaseImage:
    """Build the base image into the engine behind `client`, unless `tag` exists already."""
    import docker.errors

    began = time.monotonic()
    try:
        client.images.get(tag)
        return BaseImage(tag, built=False, seconds=time.monotonic() - began)
    except docker.errors.ImageNotFound:
        pass
    repository, _, version = tag.rpartition(":") if ":" in tag else (tag, "", "latest")
    with tempfile.TemporaryDirectory(prefix="ecslab-base-") as scratch:
        tarball = Path(scratch) / "rootfs.tar"
        # Written to a file first so a failed mmdebstrap can never leave a half image tagged.
        run(mmdebstrap_command(tarball), "mmdebstrap", timeout=timeout)
        client.api.import_image(
            src=str(tarball), repository=repository, tag=version, changes=list(IMAGE_CHANGES)
        )
    client.images.get(tag)
    return BaseImage(tag, built=True, seconds=time.monotonic() - began)


def mmdebstrap_command(target: Path) -> list[str]:
    """The mmdebstrap command line that writes the root filesystem tarball to `target`."""
    mmdebstrap = find_binary("mmdebstrap", "mmdebstrap")
    if not MERGED_USR_HOOKS.is_dir():
        raise SandboxError(f"{MERGED_USR_HOOKS} is missing: reinstall the mmdebstrap package")
    argv = [
        mmdebstrap,
        "--variant=minbase",
        "--quiet",
        f"--include={','.join(PACKAGES)}",
        f"--hook-dir={MERGED_USR_HOOKS}",
        *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
        *_extra_ca_hooks(),
        SUITE,
        str(target),
    ]
    return argv


def _extra_ca_hooks() -> list[str]:
    certificates = sorted(str(p) for p in HOST_CA_DIR.rglob("*.crt") if p.is_file())
    usable = [c for c in certificates if not any(ch.isspace() for ch in c)]
    if not usable:
        return []
    # copy-in splits its arguments on whitespace, hence the filter above.
    return [
        f"--customize-hook=copy-in {' '.join(usable)} {HOST_CA_DIR}",
        '--customize-hook=chroot "$1" update-ca-certificates --fresh',
    ]
