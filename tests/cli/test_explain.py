"""`ecslab explain` renders every template resource, the autoscaling chain and the fixes."""

from __future__ import annotations

from collections.abc import Callable

from ecslab.core.errors import ExitCode
from ecslab.lab.template import load_template

from .conftest import Result


def test_explains_every_resource_of_the_template(ecslab: Callable[..., Result]) -> None:
    result = ecslab("-o", "json", "explain")
    assert result.code == ExitCode.OK, result.err
    events = result.events()
    explained = {e["logical_id"] for e in events if e["event"] == "resource"}
    template_path = str(events[0]["template"])
    assert explained == set(load_template(template_path)["Resources"])
    titles = [e["title"] for e in events if e["event"] == "table"]
    assert any("Autoscaling" in str(t) for t in titles)
    assert any("departs from the lab" in str(t) for t in titles)
    autoscaling = next(e for e in events if "Autoscaling" in str(e.get("title")))
    parts = " ".join(row["part"] for row in autoscaling["rows"])  # type: ignore[union-attr]
    for name in ("AutoScalingRole", "ScalableTarget", "ScaleUpPolicy", "ScaleDownPolicy"):
        assert name in parts


def test_one_resource_and_an_unknown_one(ecslab: Callable[..., Result]) -> None:
    one = ecslab("-o", "json", "explain", "scaleuppolicy")
    assert one.code == ExitCode.OK
    (resource,) = [e for e in one.events() if e["event"] == "resource"]
    assert resource["logical_id"] == "ScaleUpPolicy"
    assert "ScalableTarget" in resource["uses"]  # type: ignore[operator]
    bad = ecslab("explain", "Nope")
    assert bad.code == ExitCode.USAGE
    assert "no resource 'Nope'" in bad.err
    assert "EcsService" in bad.err


def test_a_scaling_policy_shows_its_steps_against_the_threshold(
    ecslab: Callable[..., Result],
) -> None:
    result = ecslab("-o", "json", "explain", "ScaleUpPolicy")
    assert result.code == ExitCode.OK, result.err
    (table,) = [e for e in result.events() if e["event"] == "table"]
    assert table["rows"] == [
        {"bounds": "[0, 15)", "when": "70 % <= MemoryUtilization < 85 %", "change": "+1 task(s)"},
        {"bounds": "[15, 25)", "when": "85 % <= MemoryUtilization < 95 %", "change": "+2 task(s)"},
        {"bounds": "[25, +inf)", "when": "95 % <= MemoryUtilization", "change": "+3 task(s)"},
    ]
    honest = [e for e in result.events() if e.get("section") == "lab-numbers"]
    assert "7 % of a 512 MiB task" in str(honest[0]["message"])
    down = ecslab("-o", "json", "explain", "ScaleDownPolicy")
    (table,) = [e for e in down.events() if e["event"] == "table"]
    assert table["rows"] == [
        {"bounds": "(-inf, 0]", "when": "MemoryUtilization <= 20 %", "change": "-1 task(s)"}
    ]
