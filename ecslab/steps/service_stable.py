"""The service is stable: what `aws ecs wait services-stable` waits for, with the cause
when it is not.

assess(): the service has exactly one deployment and runningCount == desiredCount (the
waiter's own rule) and that deployment's rollout is COMPLETED (what CloudFormation waits
for before the service resource completes), its deployment was not rolled back by the
circuit breaker, and, in the sandbox, the template's autoscaling exists in moto (its
CloudFormation skips it).
run(): in the sandbox, create that autoscaling (ecslab/sandbox/autoscaling.py); then poll
DescribeServices (bounded, on the app's clock) until stable. A deployment that fails
(rolloutState FAILED, or a primary deployment that is the circuit breaker's rollback)
fails the step with the root cause: the newest stopped task of the failed task
definition, its stopped reason, exit code and last log lines from CloudWatch Logs.
On AWS the stack's own update already waits for the service, so this step finds it
stable at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecslab.core.errors import DeployFailed, UsageError
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
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

    service: dict[str, Any] | None

    @property
    def stable(self) -> bool:
        s = self.service
        if s is None or len(s["deployments"]) != 1 or s["runningCount"] != s["desiredCount"]:
            return False
        # The waiter stops there; CloudFormation also waits for the rollout (where reported).
        return bool(s["deployments"][0].get("rolloutState", "COMPLETED") == "COMPLETED")

    @property
    def failed(self) -> bool:
        if self.service is None:
            return False
        deployments = self.service["deployments"]
        primary = deployments[0] if deployments else {}
        reason = str(primary.get("rolloutStateReason", ""))
        return any(d.get("rolloutState") == "FAILED" for d in deployments) or (
            reason.startswith(BREAKER) or ROLLED_BACK in reason
        )

    def summary(self) -> str:
        s = self.service or {}
        deployment = (s.get("deployments") or [{}])[0]
        return (
            f"{s.get('runningCount', 0)}/{s.get('desiredCount', 0)} task(s) running, "
            f"{len(s.get('deployments', []))} deployment(s), primary "
            f"{deployment.get('rolloutState', '?')}"
        )


class ServiceStable:
    name = NAME

    def __init__(self, app: Context) -> None:
        self.app = app

    def _read(self) -> Reading:
        from ecslab.aws.session import aws_errors

        names = self.app.config.names
        ecs = self.app.aws.client("ecs")
        with aws_errors(f"describe ECS service {names.service}"):
            try:
                answer = ecs.describe_services(cluster=names.cluster, services=[names.service])
            except ecs.exceptions.ClusterNotFoundException:  # no stack yet (a plan, a dry run)
                return Reading(None)
        found = [s for s in answer.get("services", []) if s.get("status") == "ACTIVE"]
        return Reading(found[0] if found else None)

    def _autoscaling(self) -> Any:
        from ecslab.sandbox.autoscaling import AutoscalingEmulator

        return AutoscalingEmulator(self.app.aws, self.app.config.names.stack)

    def validate(self) -> None:
        """Nothing to check before AWS: the service is the stack's."""

    def assess(self) -> Assessment:
        reading = self._read()
        name = self.app.config.names.service
        changes = [f"wait until service {name} is stable"]
        if self.app.config.sandbox:
            scaling = self._autoscaling().pending()
            changes += [f"autoscaling: {c}" for c in scaling.changes]
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
        changes: list[str] = []
        if self.app.config.sandbox:
            changes = [str(c) for c in self._autoscaling().apply().changes]
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
        service = reading.service or {}
        deployments = service.get("deployments") or [{}]
        failed = next((d for d in deployments if d.get("rolloutState") == "FAILED"), None)
        primary = deployments[0]
        primary_reason = str(primary.get("rolloutStateReason", ""))
        rolled_back = (primary_reason.startswith(BREAKER) or ROLLED_BACK in primary_reason) and (
            failed is None or failed is not primary
        )
        head = f"the deployment of service {service.get('serviceName')} failed"
        head += " and was rolled back" if rolled_back else " (the circuit breaker stopped it)"
        task = self._newest_stopped_task(
            lambda definition: (
                definition == failed["taskDefinition"]
                if failed is not None
                else definition != primary.get("taskDefinition")
            )
        )
        if task is None:
            return head, rolled_back
        container = (task.get("containers") or [{}])[0]
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        parts = [f"{head}: task {task_id} stopped: {task.get('stoppedReason')}"]
        if container.get("exitCode") is not None:
            parts.append(f"exit code {container['exitCode']}")
        if container.get("reason"):
            parts.append(str(container["reason"]))
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

    def _newest_stopped_task(self, of_failed: Callable[[str], bool]) -> dict[str, Any] | None:
        from ecslab.aws.session import aws_errors

        names = self.app.config.names
        ecs = self.app.aws.client("ecs")
        with aws_errors("read the stopped tasks"):
            arns = ecs.list_tasks(
                cluster=names.cluster, serviceName=names.service, desiredStatus="STOPPED"
            )["taskArns"]
            tasks = (
                ecs.describe_tasks(cluster=names.cluster, tasks=arns[:100])["tasks"] if arns else []
            )
        found = [
            t for t in tasks if t.get("stoppedAt") and of_failed(str(t.get("taskDefinitionArn")))
        ]
        return max(found, key=lambda t: t["stoppedAt"]) if found else None

    def _log_lines(self, task: dict[str, Any]) -> str:
        from ecslab.aws.session import aws_errors

        with aws_errors("read the task's log lines"):
            definition = self.app.aws.client("ecs").describe_task_definition(
                taskDefinition=task["taskDefinitionArn"]
            )["taskDefinition"]
            container = definition["containerDefinitions"][0]
            options = (container.get("logConfiguration") or {}).get("options") or {}
            if "awslogs-group" not in options or "awslogs-stream-prefix" not in options:
                return ""
            task_id = task["taskArn"].rsplit("/", 1)[-1]
            stream = f"{options['awslogs-stream-prefix']}/{container['name']}/{task_id}"
            logs = self.app.aws.client("logs")
            try:
                events = logs.get_log_events(
                    logGroupName=options["awslogs-group"],
                    logStreamName=stream,
                    limit=LOG_LINES,
                    startFromHead=False,
                )["events"]
            except logs.exceptions.ResourceNotFoundException:
                return ""
        return "\n".join(f"  {e['message']}" for e in events)
