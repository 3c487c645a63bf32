"""The whole lab deployed in a sandbox by `ecslab --sandbox run-all`, for the end-to-end
tests of what comes after it (operations, doctor).

`deployed_lab` runs in a folder of its own with a copy of the microsite (a test may change
it), no user AWS configuration or ECSLAB_* variables, the test engine and base image, and
JSON output; it takes the sandbox down again, whatever happened.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecslab.cli import run
from ecslab.sandbox.state import SandboxState, load_state

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Lab:
    root: Path  # the sandbox's state folder
    microsite: Path  # the copy of the microsite the lab was built from
    state: SandboxState


@contextmanager
def deployed_lab(docker_host: str, base_image: str, folder: Path) -> Iterator[Lab]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("ECSLAB_", "AWS_")) or name in ("NO_COLOR", "CI"):
                patch.delenv(name, raising=False)
        patch.chdir(folder)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.setenv("DOCKER_HOST", docker_host)
        patch.setenv("ECSLAB_BASE_IMAGE", base_image)
        microsite = shutil.copytree(
            REPO / "microsite", folder / "microsite", ignore=shutil.ignore_patterns("__pycache__")
        )
        patch.setenv("ECSLAB_MICROSITE_DIR", str(microsite))
        patch.setenv("ECSLAB_OUTPUT", "json")
        root = folder / ".ecslab" / "sandbox"
        try:
            assert run(["--sandbox", "--yes", "run-all"]) == 0
            state = load_state(root)
            assert state is not None
            yield Lab(root, Path(microsite), state)
        finally:
            run(["sandbox", "down"])
