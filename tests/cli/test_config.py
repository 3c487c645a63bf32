"""Config precedence and validation, through the CLI as a user meets them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ecslab.core.config import FARGATE_SIZES, resolve
from ecslab.core.errors import ConfigError, ExitCode

from .conftest import Result


def setting(result: Result, key: str) -> dict[str, object]:
    """The row for `key` in `ecslab -o json config`."""
    table = next(e for e in result.events() if e["event"] == "table")
    rows = table["rows"]
    assert isinstance(rows, list)
    return next(row for row in rows if row["setting"] == key)


def test_defaults(ecslab: Callable[..., Result]) -> None:
    result = ecslab("-o", "json", "config")
    assert result.code == ExitCode.OK
    assert setting(result, "project_name") == {
        "setting": "project_name",
        "value": "ecslab",
        "from": "default",
        "env var": "ECSLAB_PROJECT_NAME",
    }
    assert setting(result, "environment")["value"] == "dev"
    assert result.events()[-1]["stack"] == "ecslab-dev"


def test_precedence_flag_over_env_over_file_over_default(
    ecslab: Callable[..., Result], clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "ecslab.yaml").write_text(
        "project_name: fromfile\nenvironment: filenv\nfargate_cpu: 512\nfargate_memory: 2048\n"
    )
    monkeypatch.setenv("ECSLAB_ENVIRONMENT", "envenv")
    monkeypatch.setenv("ECSLAB_FARGATE_CPU", "1024")
    result = ecslab("-o", "json", "config", "--cpu", "2048", "--memory", "4096")
    assert result.code == ExitCode.OK, result.err
    assert setting(result, "project_name")["from"] == f"{clean_env / 'ecslab.yaml'}:1"
    assert setting(result, "environment")["value"] == "envenv"
    assert setting(result, "environment")["from"] == "ECSLAB_ENVIRONMENT"
    assert setting(result, "fargate_cpu")["value"] == 2048
    assert setting(result, "fargate_cpu")["from"] == "flag --cpu"
    assert result.events()[-1]["stack"] == "fromfile-envenv"


def test_explicit_config_path_and_env_config(
    ecslab: Callable[..., Result], clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "ecslab.yaml").write_text("project_name: local\n")
    other = clean_env / "other.yaml"
    other.write_text("project_name: other\n")
    assert ecslab("-o", "json", "--config", str(other), "config").events()[-1]["stack"] == (
        "other-dev"
    )
    monkeypatch.setenv("ECSLAB_CONFIG", str(other))
    assert ecslab("-o", "json", "config").events()[-1]["stack"] == "other-dev"


def test_standard_aws_variables_rank_below_ecslab_ones(
    ecslab: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    result = ecslab("-o", "json", "config")
    assert setting(result, "region")["value"] == "eu-west-1"
    assert setting(result, "region")["from"] == "AWS_REGION"
    assert setting(result, "endpoint_url")["value"] == "http://127.0.0.1:1"
    monkeypatch.setenv("ECSLAB_REGION", "us-west-2")
    assert setting(ecslab("-o", "json", "config"), "region")["value"] == "us-west-2"


def test_password_is_never_shown(
    ecslab: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSLAB_DB_PASSWORD", "s3cret-value")
    for output in ("json", "text"):
        result = ecslab("-o", output, "config")
        assert result.code == ExitCode.OK
        assert "s3cret-value" not in result.out + result.err
    assert setting(ecslab("-o", "json", "config"), "db_password")["value"] == "********"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--project-name", "Shop"], {}, "project_name 'Shop' (from flag --project-name)"),
        (["--project-name", "shop-"], {}, "not ending with a hyphen"),
        (["--project-name", "9shop"], {}, "starting with a letter"),
        (["--project-name", "a" * 25], {}, "at most 24"),
        ([], {"ECSLAB_ENVIRONMENT": "Prod"}, "environment 'Prod' (from ECSLAB_ENVIRONMENT)"),
        (["--region", "mars-north-1x"], {}, "region 'mars-north-1x' (from flag --region)"),
        ([], {"ECSLAB_CONTAINER_PORT": "70000"}, "container_port '70000'"),
        ([], {"ECSLAB_CONTAINER_PORT": "http"}, "container_port from ECSLAB_CONTAINER_PORT"),
        ([], {"ECSLAB_ENDPOINT_URL": "localhost:5000"}, "endpoint_url 'localhost:5000'"),
        ([], {"ECSLAB_SUBNET_IDS": "subnet-0a1b2c3d"}, "needs two in different AZs"),
        (
            [],
            {
                "ECSLAB_DEPLOYMENT_MAX_PERCENT": "100",
                "ECSLAB_DEPLOYMENT_MIN_HEALTHY_PERCENT": "100",
            },
            "leaves ECS no room",
        ),
    ],
)
def test_invalid_values_name_value_source_and_allowed(
    ecslab: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = ecslab(*args, "config")
    assert result.code == ExitCode.USAGE
    assert expected in result.err
    assert "Traceback" not in result.err
    assert result.out == ""


@pytest.mark.parametrize(
    ("cpu", "memory", "ok"),
    [
        (256, 512, True),
        (256, 2048, True),
        (256, 3072, False),
        (512, 1024, True),
        (512, 4096, True),
        (512, 512, False),
        (1024, 8192, True),
        (1024, 9216, False),
        (2048, 16384, True),
        (4096, 30720, True),
        (4096, 31744, False),
        (8192, 16384, True),
        (8192, 20480, True),
        (8192, 17408, False),  # 8 vCPU steps are 4 GiB
        (16384, 32768, True),
        (16384, 40960, True),
        (16384, 36864, False),  # 16 vCPU steps are 8 GiB
        (300, 512, False),
    ],
)
def test_fargate_cpu_memory_table(cpu: int, memory: int, ok: bool) -> None:
    flags = {"fargate_cpu": cpu, "fargate_memory": memory}
    if ok:
        assert resolve(flags, {}).fargate_memory == memory
    else:
        with pytest.raises(ConfigError) as info:
            resolve(flags, {})
        assert str(cpu) in info.value.message


def test_fargate_table_edges_match_aws() -> None:
    assert FARGATE_SIZES[256] == (512, 1024, 2048)
    assert (FARGATE_SIZES[512][0], FARGATE_SIZES[512][-1]) == (1024, 4096)
    assert (FARGATE_SIZES[4096][0], FARGATE_SIZES[4096][-1]) == (8192, 30720)
    assert (FARGATE_SIZES[8192][0], FARGATE_SIZES[8192][-1]) == (16384, 61440)
    assert (FARGATE_SIZES[16384][0], FARGATE_SIZES[16384][-1]) == (32768, 122880)


def test_bad_memory_message_lists_allowed_values(ecslab: Callable[..., Result]) -> None:
    result = ecslab("config", "--cpu", "1024", "--memory", "1000")
    assert result.code == ExitCode.USAGE
    assert "fargate_memory '1000' (from flag --memory)" in result.err
    assert "2048 to 8192 MiB in steps of 1024" in result.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project_name: [shop\n", "ecslab.yaml:2: not valid YAML"),
        ("project_name: shop\nfargte_cpu: 256\n", "ecslab.yaml:2: unknown key 'fargte_cpu'"),
        ("project_name: shop\n\ncontainer_port: abc\n", "ecslab.yaml:3"),
        ("subnet_ids: {a: 1}\n", "ecslab.yaml:1"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_bad_config_file_names_file_line_and_key(
    ecslab: Callable[..., Result], clean_env: Path, text: str, expected: str
) -> None:
    (clean_env / "ecslab.yaml").write_text(text)
    result = ecslab("config")
    assert result.code == ExitCode.USAGE
    assert expected in result.err
    assert "Traceback" not in result.err


def test_wrong_type_names_the_key(ecslab: Callable[..., Result], clean_env: Path) -> None:
    (clean_env / "ecslab.yaml").write_text("project_name: shop\ncontainer_port: abc\n")
    result = ecslab("config")
    assert "container_port" in result.err
    assert "expected a whole number" in result.err


def test_missing_config_file(ecslab: Callable[..., Result]) -> None:
    result = ecslab("--config", "nowhere.yaml", "config")
    assert result.code == ExitCode.USAGE
    assert "nowhere.yaml does not exist" in result.err


def test_durations() -> None:
    assert resolve({"timeout": "90s"}, {}).timeout == 90
    assert resolve({}, {"ECSLAB_TIMEOUT": "10m"}).timeout == 600
    assert resolve({"timeout": "1h"}, {}).timeout == 3600
    with pytest.raises(ConfigError, match="duration"):
        resolve({"timeout": "soon"}, {})


@pytest.mark.parametrize(
    "argv",
    [["run-all", "--yes"], ["step", "deploy-ecr", "-y"], ["destroy", "--yes"]],
)
def test_yes_is_accepted_after_the_command_too(
    ecslab: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """`ecslab run-all --yes` must not be a usage error: it reaches AWS (here, nothing)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("ECSLAB_DB_HOST", "db.internal")
    monkeypatch.setenv("ECSLAB_DB_PASSWORD", "pw-long-enough")
    result = ecslab("--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:9", *argv)
    assert result.code == ExitCode.AWS, result.err
    assert "cannot reach http://127.0.0.1:9/" in result.err
