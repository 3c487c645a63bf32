"""ecslab.lab.images: tags from git or from the build context's content, and references."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ecslab.core.config import Config
from ecslab.lab.images import derive_tag, git_state, image_reference, push_repository

AMD64 = "linux/amd64"


def _context(root: Path) -> Path:
    context = root / "site"
    (context / "pkg").mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY pkg /pkg\n")
    (context / ".dockerignore").write_text("# only the package\n*\n!pkg/\n**/__pycache__\n")
    (context / "pkg" / "app.py").write_text("print('hello')\n")
    return context


def _git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "test@example.invalid")
    _git(tmp_path, "config", "user.name", "test")
    context = _context(tmp_path)
    (tmp_path / "README").write_text("outside the build context\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "first")
    return context


def test_clean_checkout_is_tagged_with_the_short_sha_and_pins_the_content(repo: Path) -> None:
    tag = derive_tag(repo, AMD64, {})
    assert tag.name == _git(repo, "rev-parse", "--short", "HEAD")
    assert tag.pinned


def test_uncommitted_change_in_the_context_adds_dirty(repo: Path) -> None:
    (repo / "pkg" / "app.py").write_text("print('changed')\n")
    tag = derive_tag(repo, AMD64, {})
    assert tag.name == _git(repo, "rev-parse", "--short", "HEAD") + "-dirty"
    assert not tag.pinned


def test_change_outside_the_context_is_not_dirty(repo: Path) -> None:
    (repo.parent / "README").write_text("edited\n")
    assert git_state(repo) == (_git(repo, "rev-parse", "--short", "HEAD"), False)


def test_untracked_file_in_the_context_is_dirty(repo: Path) -> None:
    (repo / "pkg" / "new.py").write_text("x = 1\n")
    assert derive_tag(repo, AMD64, {}).name.endswith("-dirty")


def test_arm64_gets_its_own_tag(repo: Path) -> None:
    sha = _git(repo, "rev-parse", "--short", "HEAD")
    assert derive_tag(repo, "linux/arm64", {}).name == f"{sha}-arm64"


def test_outside_git_the_tag_is_a_content_hash(tmp_path: Path) -> None:
    context = _context(tmp_path)
    first = derive_tag(context, AMD64, {})
    assert first.name.startswith("ctx-") and len(first.name) == len("ctx-") + 12
    assert first.pinned
    assert derive_tag(context, AMD64, {}) == first  # stable

    (context / "pkg" / "__pycache__").mkdir()
    (context / "pkg" / "__pycache__" / "app.pyc").write_bytes(b"ignored by .dockerignore")
    (context / "notes.txt").write_text("not in the build context\n")
    assert derive_tag(context, AMD64, {}) == first

    assert derive_tag(context, AMD64, {"BASE_IMAGE": "other:1"}).name != first.name
    (context / "pkg" / "app.py").write_text("print('changed')\n")
    assert derive_tag(context, AMD64, {}).name != first.name


def test_image_reference_prefers_the_digest() -> None:
    assert image_reference("r/x", tag="v1", digest="sha256:ab") == "r/x@sha256:ab"
    assert image_reference("r/x", tag="v1") == "r/x:v1"
    with pytest.raises(ValueError):
        image_reference("r/x")


def test_push_repository_maps_the_path_onto_a_stand_in_registry() -> None:
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/p-dev-microservice"
    assert push_repository(Config(), uri, "p-dev-microservice") == uri
    local = Config(registry="127.0.0.1:5000")
    assert push_repository(local, uri, "p-dev-microservice") == "127.0.0.1:5000/p-dev-microservice"
