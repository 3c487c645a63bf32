"""Hostile flags and environment values: each is exit 2 naming the value and its source,
before any AWS call (the endpoint here is a closed port: reaching it would be exit 4)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ecslab.core.errors import ExitCode
from tests.hostile.conftest import Result

NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, clean_env: object) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("ECSLAB_DB_HOST", "db.internal")
    monkeypatch.setenv("ECSLAB_DB_PASSWORD", "long-enough-pw")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ("--endpoint-url", "http://", "plan"),
            "endpoint_url 'http://' (from flag --endpoint-url)",
        ),
        (("--endpoint-url", "http://127.0.0.1:99999", "plan"), "port must be a number"),
        (("--endpoint-url", "ftp://x", "plan"), "is not an http:// or https:// URL"),
        (("--endpoint-url", "http://a b", "plan"), "endpoint_url"),
        (("plan", "--image-tag", "v1 $(id)"), "is not a Docker image tag"),
        (("plan", "--image-tag", "-v1"), "is not a Docker image tag"),
        (("plan", "--db-host", "db\nevil"), "db_host 'db\\x0aevil' (from flag --db-host)"),
        (("plan", "--db-host", "not_a host"), "not a DNS name or an IP address"),
        (("plan", "--registry", "https://r.example/x"), "is not a registry address"),
        (("plan", "--registry", "r.example:70000"), "port must be a number"),
        (("verify", "--timeout", "9" * 5000), "expected a duration"),
        (("verify", "--timeout", "99999h"), "at most 24h"),
        (("plan", "--cpu", "9" * 5000), "--cpu"),
        (("verify", "--verify-url", "http://x:0x50/"), "verify_url"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_it(
    ecslab: Callable[..., Result], fake_aws: None, argv: tuple[str, ...], expected: str
) -> None:
    result = ecslab("--region", "us-east-1", *argv)
    assert result.code == ExitCode.USAGE, result.err
    assert expected in result.err
    assert "internal error" not in result.err


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ECSLAB_CONTAINER_PORT", "1" * 5000, "at most 9 digits"),
        ("ECSLAB_DB_PORT", "70000", "db_port '70000' (from ECSLAB_DB_PORT)"),
        ("ECSLAB_ENDPOINT_URL", "http://[::1", "endpoint_url"),
        ("AWS_ENDPOINT_URL", "localhost:4566", "endpoint_url 'localhost:4566' (from AWS_ENDPOINT"),
        ("ECSLAB_REGISTRY", "a/b", "registry 'a/b' (from ECSLAB_REGISTRY)"),
    ],
)
def test_a_bad_environment_value_is_a_usage_error(
    ecslab: Callable[..., Result],
    fake_aws: None,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(variable, value)
    result = ecslab("--region", "us-east-1", "plan")
    assert result.code == ExitCode.USAGE, result.err
    assert expected in result.err


def test_an_escape_byte_is_never_echoed_raw(ecslab: Callable[..., Result]) -> None:
    for argv in (
        ("--project-name", "a\x1b[2Jb", "config"),
        ("config", "--db-name", "x\x1b]0;title\x07"),
        ("explain", "Bogus\x1b[31mId"),
    ):
        result = ecslab(*argv)
        assert result.code == ExitCode.USAGE, result.err
        assert "\x1b" not in result.out + result.err
        assert "\\x1b" in result.err


def test_an_unknown_profile_is_a_usage_error(ecslab: Callable[..., Result], fake_aws: None) -> None:
    result = ecslab(
        "--profile", "nope", "--region", "us-east-1", "--endpoint-url", NOWHERE, "status"
    )
    assert result.code == ExitCode.USAGE
    assert "AWS profile 'nope'" in result.err


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short12", "shorter than 8"),
        ("short", "is shorter than 8 characters"),
        ("ecslab-dev", "appears in the setting"),
        ("microsite", "db_name"),
    ],
)
def test_a_password_that_masking_would_reveal_is_refused(
    ecslab: Callable[..., Result],
    fake_aws: None,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    expected: str,
) -> None:
    monkeypatch.setenv("ECSLAB_PROJECT_NAME", "ecslab-dev")
    monkeypatch.setenv("ECSLAB_DB_PASSWORD", password)
    for argv in (("plan",), ("-o", "json", "plan")):
        result = ecslab("--region", "us-east-1", "--endpoint-url", NOWHERE, *argv)
        assert result.code == ExitCode.USAGE
        assert expected in result.out + result.err
        assert f"'{password}'" not in result.out + result.err


@pytest.mark.parametrize("argv", [("-o", "json", "--version"), ("--version", "--output=json")])
def test_version_in_json_is_json(ecslab: Callable[..., Result], argv: tuple[str, ...]) -> None:
    result = ecslab(*argv)
    assert result.code == ExitCode.OK
    (event,) = [json.loads(line) for line in result.out.splitlines()]
    assert event["event"] == "summary" and event["version"]


def test_version_in_text_is_one_line(ecslab: Callable[..., Result]) -> None:
    result = ecslab("--version")
    assert result.out.startswith("ecslab, version ")
