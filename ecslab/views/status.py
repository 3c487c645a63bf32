"""`ecslab status`: what is deployed and how it is doing, in tables or one JSON summary.

Stack status and outputs; the ECS service's desired/running/pending counts and each
deployment's rollout state; the newest service deployment's status, lifecycle stage and
traffic split (where ECS keeps a deployment history); target health; the image the
service runs against the newest one in ECR; the autoscaling target, policies and alarms.
The stack is read first and its failure is fatal (credentials, endpoint); every later
section that cannot be read is shown as a warning and the rest still shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecslab.aws.ecs import Deployment
from ecslab.core.errors import AwsError
from ecslab.core.naming import deployed
from ecslab.lab.observe import Observer, Snapshot, show_scaling

if TYPE_CHECKING:
    from ecslab.aws.cloudformation import Stack
    from ecslab.lab.context import Context


@dataclass
class StatusReport:
    """Everything `status` found, as plain data for the JSON summary."""

    stack: dict[str, Any] | None = None
    service: dict[str, Any] | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    image: dict[str, Any] | None = None
    autoscaling: dict[str, Any] | None = None
    unread: list[str] = field(default_factory=list)
    service_deployment: dict[str, Any] | None = None


def show_status(app: Context) -> StatusReport:
    """Show the status of the deployment named by the config; return what was shown."""
    names = app.config.names
    report = StatusReport()
    stack = app.aws.cloudformation.describe(names.stack)
    if stack is None:
        app.ui.summary(
            "ok",
            f"stack {names.stack} is not deployed (run `ecslab run-all`)",
            stack=None,
        )
        return report
    _show_stack(app, stack, report)
    observer = Observer(app)
    snapshot = _guarded(app, report, "service", observer.snapshot)
    if snapshot is not None and snapshot.service is not None:
        _show_service(app, snapshot, report)
        _show_service_deployment(app, report)
        _guarded(app, report, "image", lambda: _show_image(app, stack, snapshot, report))
        cluster, service = observer.service_ref(stack)
        _guarded(app, report, "autoscaling", lambda: _show_scaling(app, cluster, service, report))
    elif snapshot is not None:
        app.ui.info("no ECS service yet (the stack has only the ECR repository?)")
    app.ui.summary("ok", _headline(stack, snapshot), **report.__dict__)
    return report


def _guarded(app: Context, report: StatusReport, what: str, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except AwsError as exc:
        app.ui.warning(f"cannot read the {what}: {exc.message}")
        report.unread.append(f"{what}: {exc.message}")
        return None


def _headline(stack: Stack, snapshot: Snapshot | None) -> str:
    if snapshot is None or snapshot.service is None:
        return f"stack {stack.name}: {stack.status}"
    return f"stack {stack.name}: {stack.status}; {snapshot.headline()}"


def _show_stack(app: Context, stack: Stack, report: StatusReport) -> None:
    report.stack = {
        "name": stack.name,
        "status": stack.status,
        "reason": stack.reason,
        "outputs": dict(stack.outputs),
    }
    rows = [("status", stack.status + (f" ({stack.reason})" if stack.reason else ""))]
    rows += sorted(stack.outputs.items())
    app.ui.table(f"Stack {stack.name}", ("key", "value"), rows)


def _show_service(app: Context, snapshot: Snapshot, report: StatusReport) -> None:
    service = snapshot.service
    assert service is not None
    deployments = [_deployment(d) for d in service.deployments]
    report.service = {
        "name": service.name,
        "desired": service.desired,
        "running": service.running,
        "pending": service.pending,
        "deployments": deployments,
    }
    columns = ("id", "status", "task_definition", "rollout_state", "running", "rollout_reason")
    app.ui.table(
        f"Service {service.name}: desired {service.desired}, running {service.running}, "
        f"pending {service.pending}",
        ("deployment", "status", "task definition", "rollout", "running", "reason"),
        [tuple(d[c] for c in columns) for d in deployments],
    )
    _show_targets(app, snapshot, report)


def _show_service_deployment(app: Context, report: StatusReport) -> None:
    """The newest service deployment in one line; nothing where ECS keeps no deployment
    history to read (an endpoint without ListServiceDeployments)."""
    from ecslab.lab.deployment_progress import describe, newest

    try:
        found = newest(app)
    except AwsError:
        return
    if found is None:
        return
    report.service_deployment = {
        "arn": found.arn,
        "status": found.status,
        "stage": found.stage,
        "production_traffic_percent_new": found.target_weight,
        "triggered_alarms": list(found.triggered_alarms),
        "rollback_reason": found.rollback_reason,
    }
    app.ui.info(describe(found))


def _deployment(d: Deployment) -> dict[str, Any]:
    return {
        "id": d.id,
        "status": d.status,
        "task_definition": d.task_definition.rsplit("/", 1)[-1],
        "rollout_state": d.rollout_state,
        "rollout_reason": d.rollout_reason,
        "desired": d.desired,
        "running": d.running,
        "pending": d.pending,
        "failed": d.failed,
    }


def _show_targets(app: Context, snapshot: Snapshot, report: StatusReport) -> None:
    report.targets = [
        {"target": t.address, "state": t.state, "reason": t.reason, "description": t.description}
        for t in snapshot.targets
    ]
    if not report.targets:
        app.ui.info("no targets registered in the target group")
        return
    app.ui.table(
        "Target health",
        ("target", "state", "reason"),
        [
            (t["target"], t["state"], f"{t['reason']} {t['description']}".strip())
            for t in report.targets
        ],
    )


def _show_image(app: Context, stack: Stack, snapshot: Snapshot, report: StatusReport) -> None:
    image = _read_image(app, stack, snapshot)
    report.image = image
    latest = image["latest_digest"]
    rows = [
        ("task definition", image["task_definition_image"] or "?"),
        ("running tasks", ", ".join(image["running_digests"]) or "no task reports a digest"),
        ("latest in ECR", f"{latest} ({', '.join(image['latest_tags'])})" if latest else "none"),
        ("latest deployed", "yes" if image["latest_is_deployed"] else "no"),
    ]
    app.ui.table("Image", ("what", "image"), rows)


def _read_image(app: Context, stack: Stack, snapshot: Snapshot) -> dict[str, Any]:
    """The task definition's image and running digests against ECR's newest image."""
    names, service = app.config.names, snapshot.service
    assert service is not None
    ecs = app.aws.ecs
    in_use = ecs.container_image(service.task_definition, names.container) or ""
    where = deployed(names, stack.outputs)
    running = sorted(
        {
            c.image_digest
            for task in ecs.tasks(where.cluster, service.name)
            for c in task.containers
            if c.name == names.container and c.image_digest
        }
    )
    latest = app.aws.ecr.latest_image(where.repository)
    return {
        "task_definition_image": in_use,
        "running_digests": running,
        "latest_digest": latest.digest if latest else None,
        "latest_tags": list(latest.tags) if latest else [],
        "latest_is_deployed": latest is not None
        and (latest.digest in in_use or latest.digest in running),
    }


def _show_scaling(app: Context, cluster: str, service: str, report: StatusReport) -> None:
    setup = app.aws.autoscaling.read(app.config.names, cluster, service)
    show_scaling(app.ui, setup)
    target = setup.target
    report.autoscaling = {
        "min": target.min_capacity if target else None,
        "max": target.max_capacity if target else None,
        "policies": sorted(setup.policies),
        "alarms": {a.name: a.state for a in setup.alarms.values()},
        "problems": setup.problems(),
    }
