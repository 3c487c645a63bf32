"""Sandbox mode's overlay: the sandbox's values are defaults beneath the user's own."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from ecslab.compose.app import App
from ecslab.compose.sandbox_mode import LocalSandbox, sandbox_defaults
from ecslab.core.config import Config, Secret, resolve
from ecslab.core.ui import UI
from ecslab.sandbox.state import SandboxState, ensure_secret, load_state, sandbox_root
from ecslab.steps import STEPS, for_mode
from ecslab.views.watch import sandbox_time_scale


def _state(root: Path) -> SandboxState:
    state = SandboxState(
        root=str(root),
        moto_port=5001,
        registry_port=5002,
        postgres_port=5003,
        postgres_root=str(root / "postgres"),
        lb_port=5004,
        base_image="ecslab-base:bookworm",
    )
    ensure_secret(state.db_password_file)
    return state


def test_sandbox_values_fill_in_what_the_user_did_not_set(tmp_path: Path) -> None:
    state = _state(tmp_path)
    env = {"AWS_ENDPOINT_URL": "https://real.example", "AWS_REGION": "eu-west-1"}
    config = resolve({"sandbox": True}, env, cwd=tmp_path, defaults=sandbox_defaults(state))
    assert config.endpoint_url == "http://127.0.0.1:5001"  # above the user's AWS_* variables
    assert config.region == "us-east-1"
    assert config.registry == "127.0.0.1:5002"
    assert (config.db_host, config.db_port, config.db_user) == ("127.0.0.1", 5003, "microsite")
    assert config.db_password == Secret(state.db_password())
    # verify reads the stack's LoadBalancerUrl, which in the sandbox is HAProxy's address
    assert config.verify_url is None
    assert config.base_image == "ecslab-base:bookworm"
    assert config.source_of("registry") == "sandbox"


def test_explicit_values_win_over_the_sandbox(tmp_path: Path) -> None:
    state = _state(tmp_path)
    env = {"ECSLAB_DB_NAME": "mine", "ECSLAB_BASE_IMAGE": "python:3.12-slim"}
    config = resolve({"region": "eu-west-1"}, env, cwd=tmp_path, defaults=sandbox_defaults(state))
    assert config.region == "eu-west-1"
    assert config.db_name == "mine"
    assert config.base_image == "python:3.12-slim"


def test_password_file_is_private_and_state_holds_no_secret(tmp_path: Path) -> None:
    state = _state(tmp_path)
    state.save()
    assert state.db_password_file.stat().st_mode & 0o777 == 0o600
    assert state.db_password() not in (tmp_path / "state.json").read_text()
    assert load_state(tmp_path) == state


def test_sandbox_dir_is_relative_to_the_current_folder(tmp_path: Path) -> None:
    config = resolve({"sandbox": True}, {}, cwd=tmp_path)
    assert sandbox_root(config, tmp_path) == tmp_path / ".ecslab" / "sandbox"
    assert not config.sandbox or config.source_of("sandbox") == "flag --sandbox"


def test_sandbox_and_aws_run_all_list_the_same_steps() -> None:
    assert for_mode(STEPS, sandbox=True) == for_mode(STEPS, sandbox=False)
    assert [s.name for s in STEPS][-2:] == ["service-stable", "verify"]


def test_the_domain_gets_the_sandbox_clock_from_the_hooks_and_none_on_aws(tmp_path: Path) -> None:
    state = replace(_state(tmp_path), time_scale=25.0)
    ui = UI(out=io.StringIO(), err=io.StringIO(), mode="json")
    on_aws = App(config=Config(), ui=ui)
    in_sandbox = App(config=Config(sandbox=True), ui=ui, sandbox=LocalSandbox(state))

    assert on_aws.sandbox is None and sandbox_time_scale(on_aws) == 1.0
    assert sandbox_time_scale(in_sandbox) == 25.0
