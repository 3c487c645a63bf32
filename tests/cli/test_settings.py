"""Each setting is declared once (ecslab/core/config.py): its flag's help states the real
default, and its environment variable and file key reach the same field."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ecslab.core.config import SETTINGS, SETTINGS_BY_KEY, Config, Secret, Setting, resolve
from ecslab.core.errors import ExitCode

from .conftest import Result

# A raw value for each setting, different from its default, the value it must become,
# and any other variables it needs to be valid.
SAMPLES: dict[str, tuple[str, object, dict[str, str]]] = {
    "profile": ("lab-profile", "lab-profile", {}),
    "region": ("eu-west-1", "eu-west-1", {}),
    "endpoint_url": ("http://127.0.0.1:5000", "http://127.0.0.1:5000", {}),
    "project_name": ("shop", "shop", {}),
    "environment": ("prod", "prod", {}),
    "output": ("json", "json", {}),
    "yes": ("true", True, {}),
    "debug": ("1", True, {}),
    "no_color": ("yes", True, {}),
    "container_port": ("9090", 9090, {}),
    "fargate_cpu": ("1024", 1024, {"ECSLAB_FARGATE_MEMORY": "2048"}),
    "fargate_memory": ("1024", 1024, {}),
    "db_host": ("db.example.com", "db.example.com", {}),
    "db_port": ("6543", 6543, {}),
    "db_name": ("shopdb", "shopdb", {}),
    "db_user": ("shopuser", "shopuser", {}),
    "db_password": ("correct-horse-battery", Secret("correct-horse-battery"), {}),
    "vpc_id": ("vpc-0a1b2c3d", "vpc-0a1b2c3d", {}),
    "subnet_ids": (
        "subnet-0a1b2c3d,subnet-1a2b3c4d",
        ("subnet-0a1b2c3d", "subnet-1a2b3c4d"),
        {},
    ),
    "image_tag": ("v1.2.0", "v1.2.0", {}),
    "platform": ("linux/arm64", "linux/arm64", {}),
    "registry": ("127.0.0.1:5000", "127.0.0.1:5000", {}),
    "base_image": ("python:3.12-slim", "python:3.12-slim", {}),
    "push_latest": ("false", False, {}),
    "template": ("mine.yaml", "mine.yaml", {}),
    "microsite_dir": ("site", "site", {}),
    "timeout": ("10m", 600, {}),
    "verify_url": ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/", {}),
    "deployment_max_percent": ("150", 150, {}),
    "deployment_min_healthy_percent": ("50", 50, {}),
    "deployment_strategy": ("canary:10:5", "canary:10:5", {}),
    "deployment_bake_minutes": ("15", 15, {}),
    "sandbox": ("true", True, {}),
    "sandbox_dir": ("sb", "sb", {}),
}


def test_every_setting_has_a_sample_unlike_its_default() -> None:
    assert set(SAMPLES) == set(SETTINGS_BY_KEY)
    defaults = Config()
    assert [k for k, (_, value, _) in SAMPLES.items() if getattr(defaults, k) == value] == []


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_every_env_var_round_trips(key: str, tmp_path: Path) -> None:
    raw, expected, others = SAMPLES[key]
    setting = SETTINGS_BY_KEY[key]
    assert setting.env == "ECSLAB_" + key.upper()

    config = resolve({}, {setting.env: raw, **others}, cwd=tmp_path)

    assert getattr(config, key) == expected
    assert config.source_of(key) == setting.env


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_every_file_key_round_trips(key: str, tmp_path: Path) -> None:
    raw, expected, others = SAMPLES[key]
    (tmp_path / "ecslab.yaml").write_text(f'{key}: "{raw}"\n', encoding="utf-8")

    config = resolve({}, others, cwd=tmp_path)

    assert getattr(config, key) == expected
    assert config.source_of(key) == f"{tmp_path / 'ecslab.yaml'}:1"


def _real_default(setting: Setting) -> str:
    """The default as `Config()` holds it, in words; the declared `unset` where it is None."""
    value = getattr(Config(), setting.key)
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == ():
        return setting.unset
    return str(value)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def every_help(ecslab: Callable[..., Result]) -> str:
    """The --help of every command that takes setting flags, whitespace folded."""
    pages = []
    for argv in (("--help",), ("run-all", "--help"), ("verify", "--help"), ("config", "--help")):
        result = ecslab(*argv)
        assert result.code == ExitCode.OK, result.err
        pages.append(result.out)
    return _flat("\n".join(pages))


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.flags], ids=lambda s: s.key)
def test_every_flag_help_shows_its_real_default(setting: Setting, every_help: str) -> None:
    assert _real_default(setting), f"{setting.key} has no default in words"
    assert f"[default: {_real_default(setting)}]" in setting.help_text()
    assert _flat(setting.help_text()) in every_help
    assert re.search(rf"(^| ){re.escape(setting.flags[0])}\b", every_help)


def test_no_help_states_a_default_of_its_own(every_help: str) -> None:
    """Every `[default: ...]` in --help comes from a setting's declaration."""
    stated = re.findall(r"\[default: [^\]]*\]", every_help)
    declared = {f"[default: {_real_default(s)}]" for s in SETTINGS if s.flags}
    assert set(stated) <= declared
