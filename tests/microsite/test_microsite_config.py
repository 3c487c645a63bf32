"""Settings: exactly the task definition's variables; a bad one stops start-up, named."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from microsite.config import ConfigError, load

from .helpers import MICROSITE_DIR

GOOD = {
    "PORT": "8080",
    "ENVIRONMENT": "dev",
    "HOST": "db.example",
    "USER": "app",
    "PASSWORD": "s3cret-Pa55",
}


def test_defaults_for_db_name_and_port() -> None:
    settings = load(GOOD)
    assert (settings.port, settings.db_name, settings.db_port) == (8080, "postgres", 5432)
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in json.dumps(settings.public())


def test_optional_settings_are_read() -> None:
    settings = load(GOOD | {"DB_NAME": "shop", "DB_PORT": "6432", "DB_POOL_SIZE": "4"})
    assert (settings.db_name, settings.db_port, settings.pool_size) == ("shop", 6432, 4)


@pytest.mark.parametrize("name", ["PORT", "ENVIRONMENT", "HOST", "USER", "PASSWORD"])
def test_missing_required_setting_is_named(name: str) -> None:
    env = dict(GOOD)
    del env[name]
    with pytest.raises(ConfigError, match=rf"^{name} is not set"):
        load(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "http"),
        ("PORT", "0"),
        ("PORT", "70000"),
        ("PORT", "-1"),
        ("DB_PORT", "x"),
        ("DB_POOL_SIZE", "0"),
        ("HOST", " db"),
        ("ENVIRONMENT", "a\nb"),
    ],
)
def test_bad_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(GOOD | {name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} is invalid")
    assert "\n" not in message


def test_start_up_stops_with_one_line_naming_the_setting() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PASSWORD",)}
    env |= {k: v for k, v in GOOD.items() if k != "PASSWORD"}
    env |= {"PYTHONPATH": str(MICROSITE_DIR), "DB_PORT": "not-a-port"}
    done = subprocess.run(
        [sys.executable, "-m", "microsite"],
        cwd=MICROSITE_DIR,
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1, done.stdout
    record = json.loads(lines[0])
    assert record["level"] == "error"
    assert record["message"] == "PASSWORD is not set: it is required"
    assert done.stderr == b""
