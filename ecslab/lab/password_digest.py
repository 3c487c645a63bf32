"""The database password, kept comparable without being kept: a salted digest in the template.

NoEcho parameters (the database password) come back from AWS as '****', so their values
cannot be compared. A salted PBKDF2 digest of them is kept in the deployed template's
top-level `Metadata.ecslab.NoEchoDigest`: it is part of the template, so it rolls back
with the template when an update fails (a stack tag would not be updated by moto's change
sets), and a salted slow hash does not give the password away to whoever can read the
template. Whether the password changed is decided by checking the new one against it.
A template that declares `VERSION_PARAMETER` gets a short hash of that digest as its
value: it changes exactly when the password does, so the template can make a password
change replace what must pick it up (the task definition), without revealing it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

METADATA_KEY = "ecslab"
DIGEST_KEY = "NoEchoDigest"
DIGEST_ITERATIONS = 600_000
VERSION_PARAMETER = "DbPasswordVersion"
VERSION_LENGTH = 16


def secret_digest(values: Mapping[str, str], salt: bytes | None = None) -> str:
    """A salted PBKDF2-SHA256 digest of NoEcho values: 'pbkdf2-sha256$N$salt$hash'."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    payload = json.dumps(sorted(values.items())).encode()
    digest = hashlib.pbkdf2_hmac("sha256", payload, salt, DIGEST_ITERATIONS)
    return f"pbkdf2-sha256${DIGEST_ITERATIONS}${salt.hex()}${digest.hex()}"


def digest_matches(stored: str, values: Mapping[str, str]) -> bool:
    try:
        scheme, iterations, salt, expected = stored.split("$")
        payload = json.dumps(sorted(values.items())).encode()
        actual = hashlib.pbkdf2_hmac("sha256", payload, bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return scheme == "pbkdf2-sha256" and hmac.compare_digest(actual.hex(), expected)


def stored_digest(template: Mapping[str, Any] | None) -> str:
    if not template:
        return ""
    meta = template.get("Metadata", {}).get(METADATA_KEY, {})
    return str(meta.get(DIGEST_KEY, "")) if isinstance(meta, Mapping) else ""


def without_ecslab_metadata(template: Mapping[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(dict(template))
    meta = doc.get("Metadata")
    if isinstance(meta, dict):
        meta.pop(METADATA_KEY, None)
        if not meta:
            doc.pop("Metadata")
    return doc


def secret_version(digest: str) -> str:
    """A short hash of the salted digest: equal for an unchanged password, else new."""
    return hashlib.sha256(digest.encode()).hexdigest()[:VERSION_LENGTH]
