"""docs/sandbox.md lists every patch the sandbox makes to moto, as moto_seam.INSTALLED has
them once the fixes and every area's patches are in (`python -m ecslab.sandbox
list-patches`, in a child process: this process's moto stays plain)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from ecslab.sandbox.emulator import AREAS

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "sandbox.md"
BEGIN, END = "<!-- patches: begin -->\n", "<!-- patches: end -->\n"
UPDATE_ENV = "ECSLAB_UPDATE_DOCS"
# Areas that read moto's backends but change nothing of moto's.
NO_PATCHES = {"metrics", "elb_metrics"}  # areas that only publish data into moto


def _listed() -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "ecslab.sandbox", "list-patches"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_doc_lists_every_installed_patch() -> None:
    listed = _listed()
    for patch_set in ("moto-fixes", "cloudformation", "scaling", "alarms"):
        assert f"| {patch_set} |" in listed  # the list is not empty, nor one set's only
    assert "- `FakeTargetGroup.register` (moto.elbv2.models): " in listed  # a moto bug
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    expected = head + BEGIN + listed + END + tail
    if os.environ.get(UPDATE_ENV) == "1":
        DOC.write_text(expected)
        return
    assert text == expected, (
        f"docs/sandbox.md's list of patches is out of date: run this test with {UPDATE_ENV}=1"
    )


def test_every_area_that_changes_moto_shows_its_patches() -> None:
    """list-patches installs an area's patches through its `build_patches`."""
    missing = [
        name
        for name in AREAS
        if name not in NO_PATCHES
        and not hasattr(importlib.import_module(f"ecslab.sandbox.emulator.{name}"), "build_patches")
    ]
    assert missing == []
