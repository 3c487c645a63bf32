"""ecslab.lab.explain: a note for every resource, the autoscaling answer, the departures list,
and docs/template.md in step with them."""

from __future__ import annotations

from pathlib import Path

from ecslab.lab.explain import (
    AUTOSCALING,
    DEPARTURES,
    PURPOSES,
    autoscaling_markdown,
    departures_markdown,
    explain,
    scan_skips,
    scan_skips_markdown,
)
from ecslab.lab.template import TEMPLATE_PATH, load_template

TEMPLATE = load_template()
DOC = Path(__file__).resolve().parents[3] / "docs" / "template.md"


def test_every_resource_has_a_note_in_template_order() -> None:
    explanation = explain(TEMPLATE)

    assert [note.logical_id for note in explanation.resources] == list(TEMPLATE["Resources"])
    assert set(PURPOSES) == set(TEMPLATE["Resources"])
    for note in explanation.resources:
        assert note.type == TEMPLATE["Resources"][note.logical_id]["Type"]
        assert len(note.purpose.split()) >= 8, note.logical_id


def test_relations_come_from_the_template() -> None:
    notes = {note.logical_id: note for note in explain(TEMPLATE).resources}

    assert notes["TaskDefinition"].uses == (
        "TaskRole",
        "TaskExecutionRole",
        "DbPasswordSecret",
        "CloudWatchLogsGroup",
    )
    assert "Listener" in notes["EcsService"].uses  # DependsOn counts
    assert notes["ScaleUpPolicy"].used_by == ("HighMemoryUsageAlarm",)
    assert notes["EcsCluster"].used_by == (
        "EcsService",
        "ScalableTarget",
        "LowMemoryUsageAlarm",
        "HighMemoryUsageAlarm",
    )
    for note in notes.values():
        for other in note.uses:
            assert note.logical_id in notes[other].used_by


def test_unknown_resource_gets_a_placeholder_note() -> None:
    template = {"Resources": {"Extra": {"Type": "AWS::SNS::Topic"}}}

    (note,) = explain(template).resources

    assert (note.type, note.uses, note.used_by) == ("AWS::SNS::Topic", (), ())
    assert "no note" in note.purpose


def test_autoscaling_answers_each_part() -> None:
    names = " ".join(part.name for part in AUTOSCALING)
    explanation = explain(TEMPLATE)

    for part in ("AutoScalingRole", "ScalableTarget", "ScaleDownPolicy", "ScaleUpPolicy"):
        assert part in names
    assert "LowMemoryUsageAlarm" in names and "HighMemoryUsageAlarm" in names
    assert "relative to the alarm's threshold" in explanation.step_bounds
    assert "70-85 %" in explanation.step_bounds and "(-inf, 0]" in explanation.step_bounds


def test_departures_cover_the_issue_list() -> None:
    ids = {departure.id for departure in DEPARTURES}

    assert {
        "managed-policy-name",
        "password-secret",
        "task-role-least-privilege",
        "rolling-deployment",
        "autoscaling-role",
        "circuit-breaker",
        "container-health-check",
        "string-environment",
    } <= ids
    assert len(ids) == len(DEPARTURES)
    for departure in DEPARTURES:
        assert departure.lab and departure.ours and departure.why, departure.id


def test_departure_about_deployments_names_the_lab_values() -> None:
    (rolling,) = [d for d in DEPARTURES if d.id == "rolling-deployment"]

    assert "MaximumPercent 100" in rolling.lab and "MinimumHealthyPercent 0" in rolling.lab
    assert "200" in rolling.ours and "100" in rolling.ours


def test_scan_skips_list_every_skip_with_its_reason() -> None:
    skips = scan_skips(TEMPLATE)

    assert ("CKV_AWS_2", "Listener") in {(check, name) for check, name, _ in skips}
    assert all(reason for _, _, reason in skips)


def test_docs_template_md_matches_explain() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert scan_skips_markdown(TEMPLATE) in text
    assert autoscaling_markdown() in text
    assert text.endswith(departures_markdown())
    assert TEMPLATE_PATH.name in text
