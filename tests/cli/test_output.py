"""Output modes, exit codes and error reporting as a user or a script sees them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from ecslab.core import config as config_module
from ecslab.core.errors import ExitCode, UsageError
from ecslab.core.ui import UI, choose_mode

from .conftest import Result

ANSI_ESCAPE = "\x1b["


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_mode_prints_only_json_lines_ending_in_a_summary(
    ecslab: Callable[..., Result],
) -> None:
    result = ecslab("--output", "json", "config")
    events = result.events()  # raises if any stdout line is not JSON
    assert [e["event"] for e in events] == ["table", "summary"]
    assert events[-1]["status"] == "ok"
    assert result.err == ""


def test_json_mode_reports_errors_as_a_final_json_object(
    ecslab: Callable[..., Result],
) -> None:
    result = ecslab("-o", "json", "--project-name", "Bad", "config")
    assert result.code == ExitCode.USAGE
    (event,) = result.events()
    assert event["event"] == "summary"
    assert event["status"] == "error"
    assert event["exit_code"] == ExitCode.USAGE
    assert event["error"] == "ConfigError"
    assert "project_name 'Bad'" in str(event["message"])
    assert result.err == ""


def test_json_mode_reports_click_usage_errors_as_json(ecslab: Callable[..., Result]) -> None:
    result = ecslab("-o", "json", "config", "--no-such-flag")
    assert result.code == ExitCode.USAGE
    (event,) = result.events()
    assert "--no-such-flag" in str(event["message"])


def test_plain_mode_without_a_terminal_has_no_colour_or_cursor_codes(
    ecslab: Callable[..., Result],
) -> None:
    result = ecslab("config")
    assert result.code == ExitCode.OK
    assert ANSI_ESCAPE not in result.out
    assert "project_name" in result.out
    bad = ecslab("--region", "nowhere", "config")
    assert bad.err.startswith("Error: region 'nowhere'")
    assert ANSI_ESCAPE not in bad.err


def test_mode_choice() -> None:
    assert choose_mode("json", FakeTTY(), {}) == "json"
    assert choose_mode("text", FakeTTY(), {}) == "rich"
    assert choose_mode("text", FakeTTY(), {"CI": "true"}) == "plain"
    assert choose_mode("text", io.StringIO(), {}) == "plain"
    assert choose_mode("text", FakeTTY(), {"TERM": "dumb"}) == "plain"


def test_rich_mode_on_a_terminal_colours_and_no_color_turns_it_off() -> None:
    out = FakeTTY()
    ui = UI.create(output="text", out=out, err=FakeTTY(), stdin=FakeTTY(), env={})
    assert ui.mode == "rich"
    assert ui.interactive
    ui.success("deployed")
    assert ANSI_ESCAPE in out.getvalue()
    plain = FakeTTY()
    UI.create(output="text", no_color=True, out=plain, env={}).success("deployed")
    assert "deployed" in plain.getvalue()
    assert "\x1b[32m" not in plain.getvalue()  # no green


def test_secrets_are_masked_in_every_mode() -> None:
    for mode in ("plain", "json", "rich"):
        out, err = FakeTTY(), FakeTTY()
        ui = UI(mode=mode, out=out, err=err, debug=True)
        ui.register_secret("hunter22")
        ui.info("password is hunter22", detail={"nested": ["hunter22"]})
        ui.table("t", ["k"], [["hunter22"]])
        ui.debug_log("sent hunter22")
        ui.error(UsageError("bad hunter22", "hint hunter22"), 2)
        shown = out.getvalue() + err.getvalue()
        assert "hunter22" not in shown, mode
        assert "********" in shown


def test_questions_without_a_terminal_are_errors_that_name_the_way_out() -> None:
    ui = UI(mode="plain", out=io.StringIO(), interactive=False)
    with pytest.raises(UsageError) as info:
        ui.confirm("Delete stack ecslab-dev?")
    assert info.value.hint == "pass --yes to answer yes"
    with pytest.raises(UsageError) as secret:
        ui.prompt_secret("Database password", "ECSLAB_DB_PASSWORD")
    assert "ECSLAB_DB_PASSWORD" in str(secret.value.hint)
    assert UI(mode="plain", assume_yes=True).confirm("Delete?") is True


def test_internal_errors_hide_the_traceback_unless_debug(
    ecslab: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(config: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(config_module, "validate", broken)
    result = ecslab("config")
    assert result.code == ExitCode.INTERNAL
    assert "internal error: RuntimeError: boom" in result.err
    assert "--debug" in result.err
    assert "Traceback" not in result.err
    assert "Traceback" in ecslab("--debug", "config").err


def test_ctrl_c_exits_130(ecslab: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(config: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(config_module, "validate", interrupted)
    result = ecslab("config")
    assert result.code == ExitCode.INTERRUPTED == 130
    assert "interrupted" in result.err


def test_exit_codes_are_distinct() -> None:
    codes = [code.value for code in ExitCode]
    assert len(codes) == len(set(codes))
    assert ExitCode.INTERRUPTED == 130


def test_python_dash_m_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ecslab", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith("ecslab, version ")


@pytest.mark.parametrize("argv", [["--help"], ["step", "--help"], ["run-all", "--help"]])
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ecslab", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert "click" in imported  # the measurement itself works
    assert not imported & {"boto3", "botocore", "docker", "moto", "cfnlint", "yaml"}


def test_help_lists_every_step_in_lab_order() -> None:
    from ecslab.steps import STEP_NAMES

    for argv in (["--help"], ["step", "--help"]):
        out = subprocess.run(
            [sys.executable, "-m", "ecslab", *argv], capture_output=True, text=True, check=True
        ).stdout
        positions = [out.index(f"{n}. {name}") for n, name in enumerate(STEP_NAMES, start=1)]
        assert positions == sorted(positions)


def test_json_config_events_are_plain_objects(ecslab: Callable[..., Result]) -> None:
    for line in ecslab("-o", "json", "config").out.splitlines():
        assert isinstance(json.loads(line), dict)
