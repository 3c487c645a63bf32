"""The stack's own record of the images it deployed, newest first, for `ecslab rollback`.

It lives in the deployed template's `Metadata.ecslab` beside the password digest
(lab/password_digest.py): being part of the template, it rolls back with a failed update,
so after a rolled-back deploy the record names what runs, not the image that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecslab.lab.password_digest import METADATA_KEY

HISTORY_KEY = "DeployedImages"
HISTORY_PARAMETER = "DockerImageTag"  # the template parameter whose values are recorded
HISTORY_LENGTH = 10


def stored_history(template: Mapping[str, Any] | None) -> list[str]:
    """The HISTORY_PARAMETER values the deployed template recorded, newest first."""
    meta = (template or {}).get("Metadata", {}).get(METADATA_KEY, {})
    found = meta.get(HISTORY_KEY, []) if isinstance(meta, Mapping) else []
    return [str(v) for v in found] if isinstance(found, list) else []


def history_to_deploy(
    parameters: Mapping[str, str], deployed: Mapping[str, Any] | None
) -> list[str] | None:
    """The record to deploy: this deploy's image, then the deployed record without it
    (None when the template sets no image)."""
    value = parameters.get(HISTORY_PARAMETER)
    if not value:
        return None
    older = [v for v in stored_history(deployed) if v != value]
    return [value, *older][:HISTORY_LENGTH]
