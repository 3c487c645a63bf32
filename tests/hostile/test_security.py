"""Security: git without programs, no credentials across redirects, loopback by address."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest

from ecslab.core.errors import ImageError
from ecslab.core.netaddr import is_loopback_host
from ecslab.engine.registry import base_url, fetch_manifest
from ecslab.lab.images import git_state
from ecslab.lab.probe import is_loopback
from tests.hostile.peers import redirect_pair


def _git(path: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(path), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
    )


def test_git_in_a_hostile_checkout_runs_none_of_its_programs(tmp_path: Path) -> None:
    repo, marks = tmp_path / "site", tmp_path / "marks"
    repo.mkdir()
    marks.mkdir()
    _git(repo, "init", "-q")
    (repo / "app.txt").write_text("v1\n")
    (repo / ".gitattributes").write_text("*.txt filter=evil\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    for key, program in (
        ("core.fsmonitor", f"touch {marks}/fsmonitor; false"),
        ("filter.evil.clean", f"touch {marks}/clean; cat"),
        ("filter.evil.process", f"touch {marks}/process"),
        ("core.hooksPath", str(marks)),
    ):
        _git(repo, "config", key, program)
    (repo / "app.txt").write_text("v2\n")  # a change: status must look at the file

    state = git_state(repo)

    assert state is not None and state[1] is True  # dirty, still detected
    assert list(marks.iterdir()) == []


def test_the_registry_token_never_follows_a_redirect_to_another_host() -> None:
    # What the other host serves does not matter here, only what it was sent.
    with redirect_pair() as (registry, seen), contextlib.suppress(ImageError):
        fetch_manifest(registry, "repo", "v1", ("AWS", "token-value"))
    assert seen, "the redirect was not followed at all"
    assert all("Authorization" not in headers for headers in seen)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.8.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("127.evil.example", False),
        ("127.0.0.1.nip.io", False),
        ("localhost.evil.example", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_loopback_is_decided_by_the_address(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_a_name_that_looks_like_loopback_gets_https_and_the_proxy() -> None:
    assert base_url("127.evil.example:5000").startswith("https://")
    assert base_url("127.0.0.1:5000").startswith("http://")
    assert not is_loopback("http://127.evil.example/")
