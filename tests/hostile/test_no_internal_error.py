"""No value a user can set ends as "internal error" (exit 1): every setting, through its
ECSLAB_* variable, with values chosen to break parsers, paths and terminals."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ecslab.core.config import SETTINGS
from ecslab.core.errors import ExitCode
from tests.hostile.conftest import Result

HOSTILE = ("", "9" * 5000, "\x1b[31m\nx", "/dev/zero")


@pytest.fixture
def closed_endpoint(monkeypatch: pytest.MonkeyPatch, clean_env: object) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/dev/null",
        "ECSLAB_REGION": "us-east-1",
        "ECSLAB_ENDPOINT_URL": "http://127.0.0.1:9",
        "ECSLAB_DB_HOST": "db.internal",
        "ECSLAB_DB_PASSWORD": "long-enough-pw",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("setting", [s.key for s in SETTINGS if s.key != "debug"])
def test_no_hostile_value_is_an_internal_error(
    ecslab: Callable[..., Result],
    closed_endpoint: None,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
) -> None:
    for value in HOSTILE:
        monkeypatch.setenv(f"ECSLAB_{setting.upper()}", value)
        for argv in (("config",), ("plan",)):
            result = ecslab(*argv)
            assert result.code != ExitCode.INTERNAL, (value[:20], argv, result.err)
            assert "Traceback" not in result.err
            assert "\x1b" not in result.out + result.err
