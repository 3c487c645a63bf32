"""Hostile files: ecslab.yaml and the template, binary, huge, deep, tagged, duplicated.

Each must end in exit 2 naming the file (and line), quickly, without a traceback and
without quoting a line that may hold the password.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ecslab.core.errors import ExitCode
from tests.hostile.conftest import Result

PASSWORD = "Vault-Value-9183"


def _usage_error(result: Result, *expected: str) -> None:
    assert result.code == ExitCode.USAGE, result.out + result.err
    for text in expected:
        assert text in result.err, result.err
    assert "Traceback" not in result.err
    assert "internal error" not in result.err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\x01\x02binary", "is a binary file"),
        (b"region: \xff\xfe\n", "ecslab.yaml:1 is not UTF-8 text"),
        (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested more than"),
        (b"region: !Ref AWS::Region\n", "has the YAML tag !Ref"),
        (b"base: &b eu-west-1\nregion: *b\n", "uses a YAML alias"),
        (b"region: eu-west-1\nproject_name: x\nregion: us-east-1\n", "lines 1 and 3"),
        (b"region: [a\n", "ecslab.yaml:2: not valid YAML"),
        (b"region: {a: {b: 1}}\n", "must be a single value"),
    ],
)
def test_a_hostile_config_file_is_a_usage_error(
    ecslab: Callable[..., Result], clean_env: Path, content: bytes, expected: str
) -> None:
    (clean_env / "ecslab.yaml").write_bytes(content)
    _usage_error(ecslab("config"), "ecslab.yaml", expected)


def test_an_endless_config_file_is_refused_without_reading_it(
    ecslab: Callable[..., Result],
) -> None:
    _usage_error(ecslab("--config", "/dev/zero", "config"), "/dev/zero", "larger than")


def test_a_folder_as_config_is_a_usage_error(
    ecslab: Callable[..., Result], clean_env: Path
) -> None:
    _usage_error(ecslab("--config", str(clean_env), "config"), "is a folder")


@pytest.mark.parametrize("argv", [("config",), ("-o", "json", "config"), ("--debug", "config")])
@pytest.mark.parametrize(
    "line",
    [
        f"db_password: !vault {PASSWORD}\n",
        f"db_password: [{PASSWORD}\n",
        f"db_password: {{x: {PASSWORD}}}\n",
        f'db_password: "{PASSWORD}\n',
    ],
)
def test_a_bad_line_holding_the_password_is_never_echoed(
    ecslab: Callable[..., Result], clean_env: Path, argv: tuple[str, ...], line: str
) -> None:
    (clean_env / "ecslab.yaml").write_text("region: eu-west-1\n" + line)
    result = ecslab(*argv)
    assert result.code == ExitCode.USAGE
    assert PASSWORD not in result.out + result.err
    assert "ecslab.yaml" in result.out + result.err


def test_a_short_password_in_the_file_is_refused(
    ecslab: Callable[..., Result], clean_env: Path
) -> None:
    (clean_env / "ecslab.yaml").write_text("db_password: abc12\n")
    result = ecslab("config")
    _usage_error(result, "db_password", "shorter than 8")
    assert "abc12" not in result.out + result.err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00binary", "binary file"),
        (b"Resources: \xff\n", "not UTF-8 text"),
        (b"Resources:\n  A: " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested more than 64"),
        (b"Resources:\n  A: &a {Type: X}\n  B: *a\n", "uses a YAML alias"),
    ],
)
def test_a_hostile_template_is_a_usage_error(
    ecslab: Callable[..., Result],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    expected: str,
) -> None:
    template = clean_env / "t.yaml"
    template.write_bytes(content)
    monkeypatch.setenv("ECSLAB_TEMPLATE", str(template))
    _usage_error(ecslab("explain"), "t.yaml", expected)


def test_an_endless_template_is_refused(
    ecslab: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSLAB_TEMPLATE", "/dev/zero")
    _usage_error(ecslab("explain"), "larger than")


def test_the_template_keeps_its_intrinsic_tags(ecslab: Callable[..., Result]) -> None:
    result = ecslab("explain")
    assert result.code == ExitCode.OK, result.err
