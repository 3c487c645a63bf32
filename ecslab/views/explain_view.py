"""Renders `ecslab explain`: the template's resources, the autoscaling chain, the fixes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecslab.core.errors import UsageError

if TYPE_CHECKING:
    from ecslab.core.ui import UI
    from ecslab.lab.context import Context
    from ecslab.lab.explain import Explanation, ResourceNote


def show_explanation(app: Context, resource: str | None) -> None:
    """Explain every resource of the template, or just `resource`."""
    from ecslab.lab.explain import explain
    from ecslab.lab.template import load_template

    path = app.template_path()
    template = load_template(path)
    explanation = explain(template)
    ui = app.ui
    if resource is not None:
        note = _find(explanation, resource)
        _show_resource(ui, note)
        _show_steps(ui, template, note.logical_id)
        if note.logical_id in SCALING_PARTS:
            ui.info(explanation.low_memory_note, section="lab-numbers")
        ui.summary("ok", f"explained {resource}", resource=resource)
        return
    ui.info(f"Template {path}: {len(explanation.resources)} resources", template=str(path))
    for note in explanation.resources:
        _show_resource(ui, note)
    _show_autoscaling(ui, explanation)
    _show_departures(ui, explanation)
    ui.summary("ok", "see `ecslab explain RESOURCE` for one resource", template=str(path))


# The resources whose explanation carries the note on the lab's memory numbers.
SCALING_PARTS = frozenset(
    {
        "ScalableTarget",
        "ScaleDownPolicy",
        "ScaleUpPolicy",
        "LowMemoryUsageAlarm",
        "HighMemoryUsageAlarm",
    }
)


def _show_steps(ui: UI, template: Mapping[str, Any], logical_id: str) -> None:
    from ecslab.lab.explain import step_rows

    rows = step_rows(template, logical_id)
    if rows:
        ui.table(
            f"{logical_id}: steps, relative to the alarm threshold",
            ("bounds", "when", "change"),
            [(r.bounds, r.metric, r.adjustment) for r in rows],
        )


def _find(explanation: Explanation, resource: str) -> ResourceNote:
    for note in explanation.resources:
        if note.logical_id.lower() == resource.lower():
            return note
    known = ", ".join(note.logical_id for note in explanation.resources)
    raise UsageError(f"the template has no resource '{resource}'", f"resources: {known}")


def _show_resource(ui: UI, note: ResourceNote) -> None:
    title = f"{note.logical_id} ({note.type})"
    if ui.mode == "json":
        ui.event(
            "resource",
            title,
            logical_id=note.logical_id,
            type=note.type,
            purpose=note.purpose,
            uses=list(note.uses),
            used_by=list(note.used_by),
        )
        return
    ui.event("step", title)
    ui.info(f"  {note.purpose}")
    if note.uses:
        ui.detail(f"  uses: {', '.join(note.uses)}")
    if note.used_by:
        ui.detail(f"  used by: {', '.join(note.used_by)}")


def _show_autoscaling(ui: UI, explanation: Explanation) -> None:
    rows = [(part.name, part.responsibility) for part in explanation.autoscaling]
    ui.table("Autoscaling: what each part is responsible for", ("part", "responsibility"), rows)
    ui.info(explanation.step_bounds, section="step-bounds")
    ui.info(explanation.low_memory_note, section="lab-numbers")


def _show_departures(ui: UI, explanation: Explanation) -> None:
    rows = [(d.id, d.lab, d.ours, d.why) for d in explanation.departures]
    ui.table("Where the template departs from the lab, and why", ("id", "lab", "ours", "why"), rows)
