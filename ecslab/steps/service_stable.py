"""The service is stable: what `aws ecs wait services-stable` waits for, with the cause
when it is not.

assess(): the service has exactly one deployment and runningCount == desiredCount (the
waiter's own rule) and that deployment's rollout is COMPLETED (what CloudFormation waits
for before the service resource completes), its deployment was not rolled back by the
circuit breaker, and, in the sandbox, the template's autoscaling exists in moto (its
CloudFormation skips it).
run(): in the sandbox, create that autoscaling (the Context's `sandbox.after_deploy`); then poll
DescribeServices (bounded, on the app's clock) until stable. A deployment that fails
(rolloutState FAILED, or a primary deployment that is the circuit breaker's rollback)
fails the step with the root cause: the newest stopped task of the failed task
definition, its stopped reason, exit code and last log lines from CloudWatch Logs. Every
read goes through the aws/ wrappers (Ecs.describe_service, Ecs.tasks, Ecs.awslogs,
Logs.stream_tail).
On AWS the stack's own update already waits for the service, so this step finds it
stable at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecslab.core.errors import DeployFailed, UsageError
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.aws.ecs import Service, Task
    from ecslab.lab.context import Context

NAME = "service-stable"
DELAY = 15.0  # the services-stable waiter's delay and attempts
ATTEMPTS = 40
POLL = 2.0
BREAKER = "ECS deployment circuit breaker"
# In the reason of a deployment that rolls back, whatever rolled it back (circuit breaker,
# deployment alarms): "... rolling back to deploymentId ecs-svc/...".
ROLLED_BACK = "rolling back to deploymentId"
LOG_LINES = 10
HINT = "fix the cause above (the image or its settings), then run `ecslab run-all` again"
KEPT = "; the service keeps running the last version that worked"


def build(app: Context) -> ServiceStable:
    return ServiceStable(app)


@dataclass(frozen=True)
class Reading:
    """One DescribeServices, judged."""

    service: Service | None

    @property
    def stable(self) -> bool:
        s = self.service
        if s is None or len(s.deployments) != 1 or s.running != s.desired:
            return False
        # The waiter stops there; CloudFormation also waits for the rollout (where reported).
        return (s.deployments[0].rollout_state or "COMPLETED") == "COMPLETED"

    @property
    def failed(self) -> bool:
        if self.service is None:
            return False
        deployments = self.service.deployments
        reason = deployments[0].rollout_reason if deployments else ""
        return any(d.rollout_state == "FAILED" for d in deployments) or (
            reason.startswith(BREAKER) or ROLLED_BACK in reason
        )

    def summary(self) -> str:
        s = self.service
        if s is None:
            return "0/0 task(s) running, 0 deployment(s), primary ?"
        primary = s.deployments[0].rollout_state if s.deployments else ""
        return (
            f"{s.running}/{s.desired} task(s) running, {len(s.deployments)} deployment(s), "
            f"primary {primary or '?'}"
        )


class ServiceStable:
    name = NAME

    def __init__(self, app: Context) -> None:
        self.app = app

    def _read(self) -> Reading:
        names = self.app.config.names
        service = self.app.aws.ecs.describe_service(names.cluster, names.service)
        # A DRAINING service is being deleted: as good as not deployed.
        return Reading(service if service is not None and service.status == "ACTIVE" else None)

    def _after_deploy(self, *, apply: bool) -> tuple[str, ...]:
        """The sandbox's additions to the deployed stack (none on AWS)."""
        sandbox = self.app.sandbox
        if sandbox is None:
            return ()
        return sandbox.after_deploy(self.app.aws, self.app.config.names.stack, apply=apply)

    def validate(self) -> None:
        """Nothing to check before AWS: the service is the stack's."""

    def assess(self) -> Assessment:
        reading = self._read()
        name = self.app.config.names.service
        changes = [f"wait until service {name} is stable"]
        changes += [f"autoscaling: {c}" for c in self._after_deploy(apply=False)]
        if reading.service is None:
            reason = "the ECS service is not deployed yet (deploy-service creates it)"
            return Assessment(False, reason, tuple(changes), reading)
        if reading.failed:
            reason = f"the last deployment failed and was rolled back ({reading.summary()})"
            return Assessment(False, reason, tuple(changes), reading)
        if not reading.stable:
            reason = f"the service is not stable yet: {reading.summary()}"
            return Assessment(False, reason, tuple(changes), reading)
        if len(changes) > 1:
            return Assessment(False, "autoscaling differs from the template", tuple(changes[1:]))
        return Assessment(True, f"service {name} is stable: {reading.summary()}")

    def run(self, assessment: Assessment) -> StepResult:
        changes = list(self._after_deploy(apply=True))
        for change in changes:
            self.app.ui.info(f"autoscaling: {change}", step=NAME)
        reading = self._wait()
        message = f"service {self.app.config.names.service} is stable: {reading.summary()}"
        return StepResult(Outcome.DONE, message, {"autoscaling_changes": changes})

    def _wait(self) -> Reading:
        clock = self.app.clock
        deadline = clock.now() + DELAY * ATTEMPTS
        with self.app.ui.status(
            f"waiting for service {self.app.config.names.service} to be stable"
        ):
            while True:
                reading = self._read()
                if reading.service is None:
                    raise UsageError(
                        "the ECS service is not deployed", "run `ecslab step deploy-service`"
                    )
                if reading.failed:
                    cause, rolled_back = self._cause(reading)
                    cause = self._alarms_first(cause)
                    raise DeployFailed(cause, HINT + (KEPT if rolled_back else ""))
                if reading.stable:
                    return reading
                if clock.now() > deadline:
                    raise DeployFailed(
                        f"the service is not stable after {DELAY * ATTEMPTS:.0f} s: "
                        + reading.summary(),
                        "`ecslab status` shows its tasks and targets",
                    )
                clock.sleep(POLL)

    def _cause(self, reading: Reading) -> tuple[str, bool]:
        """The failed deployment's newest stopped task: reason, exit code, last log lines;
        and whether the service was rolled back to an earlier version."""
        assert reading.service is not None  # a failed reading has a service
        service = reading.service
        failed = next((d for d in service.deployments if d.rollout_state == "FAILED"), None)
        primary = service.deployments[0] if service.deployments else None
        reason = primary.rollout_reason if primary is not None else ""
        rolled_back = (
            primary is not None
            and (reason.startswith(BREAKER) or ROLLED_BACK in reason)
            and (failed is None or failed is not primary)
        )
        head = f"the deployment of service {service.name} failed"
        head += " and was rolled back" if rolled_back else " (the circuit breaker stopped it)"
        if failed is not None:
            task = self._newest_stopped_task(lambda d: d == failed.task_definition)
        else:
            kept = primary.task_definition if primary else ""
            task = self._newest_stopped_task(lambda d: d != kept)
        if task is None:
            return head, rolled_back
        why = task.stopped_reason or "no reason given"
        parts = [f"{head}: task {task.short_id} stopped: {why}"]
        container = task.containers[0] if task.containers else None
        if container is not None and container.exit_code is not None:
            parts.append(f"exit code {container.exit_code}")
        if container is not None and container.reason:
            parts.append(container.reason)
        lines = self._log_lines(task)
        return "; ".join(parts) + (f"\nits last log lines:\n{lines}" if lines else ""), rolled_back

    def _alarms_first(self, cause: str) -> str:
        """The cause, led by the alarms that rolled the deployment back, if any did."""
        from ecslab.core.errors import AwsError
        from ecslab.lab.deployment_progress import failure, newest

        try:
            deployment = newest(self.app)
        except AwsError:  # no deployment history (older APIs, plain moto): the task's cause
            return cause
        if deployment is None or not deployment.triggered_alarms:
            return cause
        return f"{failure(deployment)}\n{cause}"

    def _newest_stopped_task(self, of_failed: Callable[[str], bool]) -> Task | None:
        names = self.app.config.names
        stopped = self.app.aws.ecs.tasks(names.cluster, names.service, "STOPPED")
        found = [t for t in stopped if t.stopped_at and of_failed(t.task_definition)]
        return max(found, key=lambda t: t.stopped_at or 0) if found else None

    def _log_lines(self, task: Task) -> str:
        awslogs = self.app.aws.ecs.awslogs(task.task_definition)
        if awslogs is None:
            return ""
        events = self.app.aws.logs.stream_tail(
            awslogs.group, awslogs.stream(task.short_id), LOG_LINES
        )
        return "\n".join(f"  {e.message}" for e in events)
