"""The password never shows, in any output mode, in any escaped form, nor by inference."""

from __future__ import annotations

import html
import io
import json
import sys
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from ecslab.cli import _maybe_traceback
from ecslab.cli.state import CliState
from ecslab.core.environment import Environment
from ecslab.core.errors import AwsError
from ecslab.core.ui import MASK, UI
from tests.hostile.conftest import Result

# Characters JSON, XML, repr and URLs all escape differently.
PASSWORD = "p&s<w>\"o'r\\d/ é%+"

FORMS = {
    "literal": PASSWORD,
    "json": json.dumps(PASSWORD)[1:-1],
    "json ascii off": json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
    "json in json": json.dumps(json.dumps(PASSWORD)[1:-1])[1:-1],
    "xml": html.escape(PASSWORD),
    "xml apos": html.escape(PASSWORD).replace("&#x27;", "&apos;"),
    "repr": repr(PASSWORD)[1:-1],
    "url": quote(PASSWORD, safe=""),
    "url path": quote(PASSWORD),
    "url form": quote_plus(PASSWORD),
}


def _ui(mode: str) -> UI:
    ui = UI(mode=mode, color=False, out=io.StringIO(), err=io.StringIO())
    ui.register_secret(PASSWORD)
    return ui


def _shown(ui: UI) -> str:
    assert isinstance(ui.out, io.StringIO) and isinstance(ui.err, io.StringIO)
    return ui.out.getvalue() + ui.err.getvalue()


@pytest.mark.parametrize("mode", ["plain", "json", "rich"])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_escaped_form_is_masked_everywhere(mode: str, form: str) -> None:
    ui = _ui(mode)
    text = f"AWS said: <Message>bad value {FORMS[form]}</Message>"
    ui.info(text)
    ui.table("t", ["a"], [[text]])
    ui.error(AwsError(text, f"hint {FORMS[form]}"), 4)
    ui.debug = True
    ui.debug_log(text)
    shown = _shown(ui)
    for each in FORMS.values():
        assert each not in shown
    assert MASK in shown


def test_a_debug_traceback_is_masked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = CliState(Environment(env={"ECSLAB_DB_PASSWORD": PASSWORD}, stderr=sys.stderr))
    state.set_root_flags(None, {"debug": True})
    try:
        raise ValueError(f"boom {json.dumps(PASSWORD)}")
    except ValueError:
        _maybe_traceback(state)
    err = capsys.readouterr().err
    assert "Traceback" in err and "boom" in err
    assert all(form not in err for form in FORMS.values())


@pytest.mark.parametrize("argv", [("config",), ("-o", "json", "config"), ("--debug", "config")])
def test_config_shows_no_password_in_any_mode(
    ecslab: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("ECSLAB_DB_PASSWORD", PASSWORD)
    result = ecslab(*argv)
    assert result.code == 0, result.err
    assert all(form not in result.out + result.err for form in FORMS.values())
