"""Settings: exactly the task definition's variables; a bad one stops start-up, named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_password_file_is_read_and_wins(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-the-file\n")
    settings = load(GOOD | {"PASSWORD_FILE": str(secret)})
    assert settings.db_password == "from-the-file"
    without_env = {k: v for k, v in GOOD.items() if k != "PASSWORD"}
    assert load(without_env | {"PASSWORD_FILE": str(secret)}).db_password == "from-the-file"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "PASSWORD_FILE cannot be read: No such file or directory"),
        (b"", "PASSWORD_FILE is invalid: the file is empty"),
        (b"\xff\xfe", "PASSWORD_FILE is invalid: not UTF-8 text"),
        (b"x" * 5000, "PASSWORD_FILE is too large: at most 4096 bytes"),
    ],
)
def test_bad_password_file_is_named(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "password"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as raised:
        load(GOOD | {"PASSWORD_FILE": str(path)})
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("extra", "mode"),
    [
        ({}, "require"),
        ({"HOST": "127.0.0.1"}, "prefer"),
        ({"HOST": "localhost"}, "prefer"),
        ({"DB_SSL_MODE": "disable"}, "disable"),
    ],
)
def test_tls_mode(extra: dict[str, str], mode: str) -> None:
    assert load(GOOD | extra).tls_mode == mode


def test_a_ca_bundle_means_verify_full(tmp_path: Path) -> None:
    bundle = tmp_path / "rds-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load(GOOD | {"DB_SSL_ROOT_CERT": str(bundle)}).tls_mode == "verify-full"
    with pytest.raises(ConfigError, match=r"^DB_SSL_ROOT_CERT cannot be read"):
        load(GOOD | {"DB_SSL_ROOT_CERT": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError, match=r"^DB_SSL_MODE is invalid: verify-full needs"):
        load(GOOD | {"DB_SSL_MODE": "verify-full"})
    with pytest.raises(ConfigError, match=r"^DB_SSL_MODE is invalid: 'sometimes'"):
        load(GOOD | {"DB_SSL_MODE": "sometimes"})
