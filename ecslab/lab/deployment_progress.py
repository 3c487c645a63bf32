"""Where the service's newest deployment is, and waiting until it gets somewhere.

ECS's deployment history (ListServiceDeployments, DescribeServiceDeployments) says, for a
blue/green, canary or linear deployment, its lifecycle stage and the share of production
traffic on the new revision; for any deployment, its status and, after a rollback, why
(the alarms that went off). `describe` puts that in one line; `wait_until` polls it (on
the app's clock, bounded by the `timeout` setting) until the deployment is `deployed`
(SUCCESSFUL), the service `stable` (that, and one deployment running desiredCount tasks),
or a lifecycle stage is reached. A deployment that ends otherwise fails the wait
(DeployFailed, exit 5), naming the alarm that rolled it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ecslab.aws.ecs import LIFECYCLE_STAGES
from ecslab.core.errors import DeployFailed, UsageError

if TYPE_CHECKING:
    from ecslab.aws.ecs import ServiceDeployment
    from ecslab.lab.context import Context

TARGETS = ("deployed", "stable", *(s.lower() for s in LIFECYCLE_STAGES))
POLL = 2.0  # seconds between reads
DEFAULT_TIMEOUT = 1800.0  # a whole blue/green with the default bake fits in it
HINT = "`ecslab status` shows the service's tasks and targets; fix the cause, then deploy again"


def newest(app: Context) -> ServiceDeployment | None:
    """The service's newest deployment, or None when it has none (or no service yet)."""
    names = app.config.names
    found = app.aws.ecs.service_deployments(names.cluster, names.service)
    return found[0] if found else None


def describe(deployment: ServiceDeployment) -> str:
    """One line: status, stage and traffic split, and a rollback's cause."""
    parts = [f"deployment {deployment.status}"]
    if deployment.stage:
        parts.append(f"stage {deployment.stage}")
    if deployment.target_weight is not None:
        new = deployment.target_weight
        parts.append(f"production traffic {new:g} % new / {100 - new:g} % old")
    if deployment.triggered_alarms:
        parts.append(f"alarm(s) in ALARM: {', '.join(deployment.triggered_alarms)}")
    if deployment.rollback_reason:
        parts.append(f"rolled back: {deployment.rollback_reason}")
    elif deployment.status_reason and deployment.ended:
        parts.append(deployment.status_reason)
    return ", ".join(parts)


def parse_target(text: str) -> str:
    target = text.strip().lower()
    if target not in TARGETS:
        raise UsageError(
            f"cannot wait until {text!r}",
            "use deployed, stable or a lifecycle stage such as bake_time or "
            "production_traffic_shift",
        )
    return target


def reached(target: str, deployment: ServiceDeployment) -> bool:
    """Whether `deployment` has got to `target` (deployed, or a stage at or past it)."""
    if deployment.status == "SUCCESSFUL":
        return True
    if deployment.ended:
        raise DeployFailed(failure(deployment), HINT)
    if target in ("deployed", "stable") or not deployment.stage:
        return False
    return LIFECYCLE_STAGES.index(deployment.stage) >= LIFECYCLE_STAGES.index(target.upper())


def failure(deployment: ServiceDeployment) -> str:
    """Why a deployment did not succeed, naming the alarms that rolled it back."""
    text = f"the service's deployment ended {deployment.status}"
    if deployment.triggered_alarms:
        text += f": CloudWatch alarm {', '.join(deployment.triggered_alarms)} went off"
    why = deployment.rollback_reason or deployment.status_reason
    return text + (f" ({why})" if why else "")


def wait_until(app: Context, target: str, report: Callable[[str], None]) -> ServiceDeployment:
    """Poll until `target` (see TARGETS); `report` gets each new description."""
    goal = parse_target(target)
    clock = app.clock
    timeout = float(app.config.timeout or DEFAULT_TIMEOUT)
    deadline = clock.now() + timeout
    shown = ""
    while True:
        deployment = newest(app)
        if deployment is None:
            raise UsageError("the service has no deployment yet", "run `ecslab run-all` first")
        line = describe(deployment)
        if line != shown:
            report(line)
            shown = line
        if reached(goal, deployment) and (goal != "stable" or _stable(app)):
            return deployment
        if clock.now() > deadline:
            raise DeployFailed(f"not {goal} after {timeout:.0f} s: {line}", HINT)
        clock.sleep(POLL)


def _stable(app: Context) -> bool:
    names = app.config.names
    service = app.aws.ecs.describe_service(names.cluster, names.service)
    return (
        service is not None
        and len(service.deployments) == 1
        and (service.running == service.desired)
    )
