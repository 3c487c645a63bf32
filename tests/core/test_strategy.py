"""The deployment_strategy setting: its spellings, its bounds (CloudFormation's), and the
template parameters each strategy sets."""

from __future__ import annotations

import pytest

from ecslab.core.config import resolve
from ecslab.core.errors import ConfigError
from ecslab.core.strategy import Strategy, parse
from ecslab.lab.stack_inputs import strategy_parameters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rolling", Strategy("rolling")),
        ("Blue-Green", Strategy("blue-green")),
        ("canary:10:5", Strategy("canary", 10.0, 5)),
        ("canary:0.1:0", Strategy("canary", 0.1, 0)),
        ("linear:3:1440", Strategy("linear", 3.0, 1440)),
    ],
)
def test_spellings(text: str, expected: Strategy) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("fast", "use rolling, blue-green"),
        ("canary:10", "needs a percent and minutes"),
        ("canary:ten:5", "takes numbers"),
        ("canary:0:5", "0.1 to 100"),
        ("linear:2:5", "3 to 100"),
        ("linear:10:1441", "0 to 1440"),
        ("blue-green:5", "takes no percent"),
    ],
)
def test_refusals_say_what_is_allowed(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse(text)


def test_a_bad_setting_is_a_config_error_naming_its_source() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({}, {"ECSLAB_DEPLOYMENT_STRATEGY": "canary:200:5"})

    assert "ECSLAB_DEPLOYMENT_STRATEGY" in str(caught.value)
    assert caught.value.exit_code == 2


def test_template_parameters_of_each_strategy() -> None:
    assert strategy_parameters(parse("rolling"), 5) == {
        "DeploymentStrategy": "ROLLING",
        "BakeTimeMinutes": "5",
    }
    assert strategy_parameters(parse("canary:12.5:3"), 2) == {
        "DeploymentStrategy": "CANARY",
        "BakeTimeMinutes": "2",
        "CanaryPercent": "12.5",
        "TrafficShiftMinutes": "3",
    }
    assert strategy_parameters(parse("linear:20:1"), 0)["LinearStepPercent"] == "20"
