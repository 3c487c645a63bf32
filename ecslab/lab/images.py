"""Which tag the microsite image gets, and how image references are spelled.

The tag names what was built:
- `image_tag` from the configuration, when set (it says nothing about the content);
- else the git short SHA of the repository holding the build context, with `-dirty` when
  the build context has uncommitted changes (then the tag no longer pins the content);
- else, outside a git checkout, `ctx-` and a hash of the build context as Docker sees it
  (.dockerignore applied) plus the build arguments and platform.

A non-default platform is appended (`-arm64`), so an amd64 and an arm64 build of the same
commit never share a tag. A tag is *pinned* when it can only ever name one content: a
clean commit or a content hash. Only then may push-image trust "ECR has the tag" without
building.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ecslab.core.facts import DEFAULT_PLATFORM

if TYPE_CHECKING:
    from ecslab.core.config import Config
    from ecslab.lab.context import Context

LATEST = "latest"
_GIT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class ImageTag:
    """A tag, whether it pins the image content, and where it came from (for messages)."""

    name: str
    pinned: bool
    origin: str


def build_args(config: Config) -> dict[str, str]:
    """The build arguments ecslab passes: BASE_IMAGE only when configured."""
    return {"BASE_IMAGE": config.base_image} if config.base_image else {}


def image_tag(app: Context) -> ImageTag:
    """The tag push-image uses: configured, else derived from the build context."""
    config = app.config
    if config.image_tag:
        return ImageTag(config.image_tag, False, f"image_tag from {config.source_of('image_tag')}")
    return derived_tag(app)


def derived_tag(app: Context) -> ImageTag:
    """The derived tag (git short SHA, `-dirty`, or a content hash), ignoring image_tag.

    Derived once per run: the build context does not change while ecslab runs.
    """
    config = app.config
    return app.remember(
        "derived-image-tag",
        lambda: derive_tag(app.microsite_path(), config.platform, build_args(config)),
    )


def default_tag(app: Context) -> str:
    """The derived tag's name."""
    return derived_tag(app).name


def derive_tag(context: Path, platform: str, buildargs: Mapping[str, str]) -> ImageTag:
    suffix = "" if platform == DEFAULT_PLATFORM else "-" + platform.rsplit("/", 1)[-1]
    state = git_state(context)
    if state is not None:
        sha, dirty = state
        if dirty:
            return ImageTag(f"{sha}-dirty{suffix}", False, f"uncommitted changes on {sha}")
        return ImageTag(f"{sha}{suffix}", True, f"git commit {sha}")
    digest = context_hash(context, [platform, *sorted(f"{k}={v}" for k, v in buildargs.items())])
    return ImageTag(f"ctx-{digest[:12]}{suffix}", True, f"content of {context.name}/")


def git_state(path: Path) -> tuple[str, bool] | None:
    """(short SHA of HEAD, build context has uncommitted changes), or None if not git."""
    sha = _git(path, "rev-parse", "--short", "HEAD")
    if sha is None:
        return None
    # Scoped to the build context: changes elsewhere in the checkout are not in the image.
    status = _git(path, "status", "--porcelain", "--ignore-submodules=all", "--", ".")
    return sha.strip(), bool(status and status.strip())


# Config that makes git run a program, switched off: the microsite folder may be someone
# else's checkout, and its .git/config is theirs (core.fsmonitor runs on `git status`).
_SAFE_GIT = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.untrackedCache=false",
    "-c",
    "status.submoduleSummary=false",
)


def _git(path: Path, *args: str) -> str | None:
    """git in `path` with every program-running setting off; None when it fails."""
    neutral = [*_SAFE_GIT, *_no_filters(path)]
    return _run_git(path, *neutral, *args)


def _no_filters(path: Path) -> list[str]:
    """-c overrides emptying each clean/smudge/process filter the config defines.

    `git status` runs a file's clean filter (named in .gitattributes, defined in the
    config) to compare it with the index; an empty command is no filter at all.
    """
    listing = _run_git(
        path, *_SAFE_GIT, "config", "--get-regexp", r"^filter\..*\.(clean|smudge|process)$"
    )
    overrides: list[str] = []
    for line in (listing or "").splitlines():
        key = line.split(" ", 1)[0]
        overrides += ["-c", f"{key}="]
    return overrides


def _run_git(path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git installed, or it hung: treat as "not a checkout"
    return done.stdout if done.returncode == 0 else None


def context_hash(context: Path, extra: list[str]) -> str:
    """sha256 over what `docker build` would send (paths, exec bits, bytes) and `extra`."""
    from docker.utils.build import exclude_paths

    digest = hashlib.sha256()
    for item in extra:
        digest.update(f"arg\0{item}\0".encode())
    for relative in sorted(exclude_paths(str(context), _dockerignore(context))):
        path = context / relative
        if path.is_file():
            executable = "x" if path.stat().st_mode & 0o111 else "-"
            digest.update(f"file\0{relative}\0{executable}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _dockerignore(context: Path) -> list[str]:
    ignore = context / ".dockerignore"
    if not ignore.is_file():
        return []
    from ecslab.core.inputs import read_text

    text = read_text(ignore, "the build context's .dockerignore", 256 * 1024)
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def image_reference(repository: str, *, tag: str | None = None, digest: str | None = None) -> str:
    """`repository@digest` (preferred: immutable) or `repository:tag`."""
    if digest:
        return f"{repository}@{digest}"
    if tag:
        return f"{repository}:{tag}"
    raise ValueError("an image reference needs a tag or a digest")


def push_repository(config: Config, repository_uri: str, repository_name: str) -> str:
    """Where docker pushes: the ECR URI, or the same path on the configured stand-in registry."""
    if config.registry:
        return f"{config.registry.rstrip('/')}/{repository_name}"
    return repository_uri
