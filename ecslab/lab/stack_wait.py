"""Waiting for a CloudFormation stack operation: poll, stream its events, know when it ended.

`wait_for_stack` polls DescribeStacks and the new stack events (a `Poller`: 2-5 s with
jitter, longer while nothing changes) and gives up only after `timeout` seconds *without
progress*. Throttled or unanswered polls (`Transient`) are polled through. Right after a
call that starts an operation, a settled status may be stale (`Settlement`); Ctrl-C stops
waiting and says that CloudFormation carries on and how to resume. A stack that ends failed
raises DeployFailed with the root cause: the first resource that failed, and why.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecslab.aws.cloudformation import (
    STACK_TYPE,
    SUCCESS_STATES,
    CloudFormation,
    Stack,
    StackEvent,
    failed,
    first_failure,
    in_progress,
)
from ecslab.aws.errors import Transient
from ecslab.core.clock import ProgressDeadline
from ecslab.core.errors import AwsError, DeployFailed, Interrupted

if TYPE_CHECKING:
    from ecslab.core.ui import StatusLine
    from ecslab.lab.context import Context

DEFAULT_TIMEOUT = 30 * 60
POLL_MIN, POLL_MAX = 2.0, 5.0
# Right after ExecuteChangeSet, DeleteStack or ContinueUpdateRollback, DescribeStacks may
# still answer with the status from before the call, or with no stack (it is eventually
# consistent; the AWS CDK met this: aws-cdk-cli #1802). A settled status read then is
# final only once a stack event newer than the call shows it, or after this many seconds.
STALE_READ_GRACE = 60.0


class Poller:
    """Sleeps 2-5 s between polls, with jitter, longer while nothing changes.

    `expired()` is true when `timeout` seconds passed since the last `progress()`.
    """

    def __init__(
        self, app: Context, rng: random.Random | None = None, default_timeout: float | None = None
    ) -> None:
        """`default_timeout`: when the config sets none (a deploy's is DEFAULT_TIMEOUT)."""
        self._clock = app.clock
        self._rng = rng or random.Random()
        timeout = app.config.timeout or default_timeout or DEFAULT_TIMEOUT
        self._deadline = ProgressDeadline(app.clock, timeout)
        self.timeout = self._deadline.timeout
        self._delay = POLL_MIN

    def progress(self) -> None:
        self._deadline.progress()
        self._delay = POLL_MIN

    def expired(self) -> bool:
        return self._deadline.expired()

    def idle_for(self) -> float:
        return self._deadline.idle_for()

    def sleep(self) -> None:
        low = max(POLL_MIN, self._delay - 1.0)
        high = min(POLL_MAX, self._delay + 0.5)
        self._clock.sleep(self._rng.uniform(low, high))
        self._delay = min(POLL_MAX, self._delay * 1.5)


@contextmanager
def interruptible(stack_name: str, resume: str, doing: str) -> Iterator[None]:
    """Ctrl-C while waiting: stop waiting, say that AWS carries on and how to resume."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped waiting for stack {stack_name} ({doing}); CloudFormation carries on "
            "in AWS without ecslab",
            f"run `{resume}` to wait for it and continue, or `ecslab status` to look",
        ) from None


def start_and_wait(
    app: Context,
    cfn: CloudFormation,
    stack_id: str,
    stack_name: str,
    resume: str,
    start: Callable[[], None],
    *,
    expect_success: bool = False,
) -> Stack | None:
    """Start one stack operation (`start`) and wait for it to settle.

    The newest event before the call is the marker: what comes after it is the
    operation's own, and a status read is final only once those events show it.
    """
    marker = cfn.latest_event_id(stack_id)
    start()
    return wait_for_stack(
        app, cfn, stack_id, marker, stack_name, resume, expect_success=expect_success, started=True
    )


def wait_out(app: Context, cfn: CloudFormation, stack: Stack, resume: str) -> Stack | None:
    """A stack busy with an operation ecslab did not start: wait until it settles."""
    app.ui.info(f"stack {stack.name} is {stack.status}: waiting for it to settle first")
    marker = cfn.latest_event_id(stack.stack_id)
    return wait_for_stack(
        app, cfn, stack.stack_id, marker, stack.name, resume, expect_success=False
    )


def wait_for_stack(
    app: Context,
    cfn: CloudFormation,
    stack_id: str,
    marker: str | None,
    stack_name: str,
    resume: str,
    *,
    expect_success: bool = True,
    started: bool = False,
) -> Stack | None:
    """Wait until the stack settles, streaming its new events; None if it is gone.

    `started`: the caller has just started an operation (events after `marker` are its
    own), so a settled status read is final only as `Settlement` says. With
    `expect_success`, ending failed or rolled back raises DeployFailed whose message ends
    with the root cause: the first resource that failed, and why.
    """
    poller = Poller(app)
    seen: list[StackEvent] = []
    settlement = Settlement(stack_name, app.clock.now() if started else None)
    with (
        interruptible(stack_name, resume, "the stack operation is running"),
        app.ui.status(f"waiting for stack {stack_name}") as line,
    ):
        stack = _poll_until_settled(app, cfn, stack_id, marker, poller, seen, line, settlement)
    if (
        expect_success
        and stack is not None
        and (failed(stack.status) or stack.status not in SUCCESS_STATES)
    ):
        raise _deploy_failed(stack, seen, resume, _alarm_rollback(app, seen))
    return stack


def _poll_until_settled(
    app: Context,
    cfn: CloudFormation,
    stack_id: str,
    marker: str | None,
    poller: Poller,
    seen: list[StackEvent],
    line: StatusLine,
    settlement: Settlement,
) -> Stack | None:
    last_status = shown_deployment = ""
    while True:
        try:
            stack = cfn.describe(stack_id, fresh=True)
            events = cfn.events_since(stack_id, marker)
        except Transient as exc:
            app.ui.debug_log(f"{exc}; polling again")
        else:
            if events:
                marker = events[-1].event_id
                seen.extend(events)
                settlement.note(events)
                _show_events(app, events)
            if events or (stack and stack.status != last_status):
                poller.progress()
            if stack is None or not in_progress(stack.status):
                if settlement.final(stack, app.clock.now()):
                    return stack
                name = settlement.stack_name
                app.ui.debug_log(f"stack {name}: a status from before the call; polling again")
                line.update(f"stack {name}: waiting for CloudFormation to report the operation")
            else:
                last_status = stack.status
                deployment = _service_deployment(app, seen)
                if deployment and deployment != shown_deployment:
                    poller.progress()  # a stage or a traffic shift moved on
                    shown_deployment = deployment
                suffix = f"; {deployment}" if deployment else ""
                line.update(f"stack {stack.name}: {stack.status}{suffix}")
        if poller.expired():
            raise _timed_out(stack_id, last_status, poller)
        poller.sleep()


def _service_deployment(app: Context, seen: list[StackEvent]) -> str:
    """While the stack updates an ECS service, where the service's deployment is (stage,
    traffic split: a blue/green bake can last minutes without a stack event); "" else."""
    services = [e for e in seen if e.resource_type == "AWS::ECS::Service"]
    if not services or not services[-1].status.endswith("_IN_PROGRESS"):
        return ""
    from ecslab.lab.deployment_progress import describe, newest

    try:
        found = newest(app)
    except AwsError:  # no service yet, or no deployment history to read
        return ""
    return describe(found) if found is not None and not found.ended else ""


def _alarm_rollback(app: Context, seen: list[StackEvent]) -> str:
    """When the stack failed on its ECS service and the service's deployment was rolled
    back by deployment alarms: which alarms (a stack event does not name them)."""
    cause = first_failure(seen)
    if cause is None or cause.resource_type != "AWS::ECS::Service":
        return ""
    from ecslab.lab.deployment_progress import failure

    names = app.config.names
    try:
        history = app.aws.ecs.service_deployments(names.cluster, names.service)
    except AwsError:
        return ""
    # The stack's own rollback may have started a newer deployment since: look a little back.
    found = next((d for d in history[:3] if d.triggered_alarms and d.ended), None)
    return failure(found) if found is not None else ""


def settled_status(status: str) -> bool:
    """A status an operation ends in (REVIEW_IN_PROGRESS is where a new stack waits)."""
    return not in_progress(status) and status != "REVIEW_IN_PROGRESS"


@dataclass
class Settlement:
    """Whether a settled DescribeStacks read is final (see STALE_READ_GRACE).

    `started_at` is when the caller started its operation (None: it started none, so
    every read is current). `confirmed` is the newest settled status that a stack-level
    event since then showed.
    """

    stack_name: str
    started_at: float | None
    confirmed: str = ""

    def note(self, events: Sequence[StackEvent]) -> None:
        for event in events:
            is_stack = event.resource_type == STACK_TYPE and event.logical_id == self.stack_name
            if is_stack and settled_status(event.status):
                self.confirmed = event.status

    def final(self, stack: Stack | None, now: float) -> bool:
        if self.started_at is None:
            return True
        status = stack.status if stack is not None else "DELETE_COMPLETE"
        if self.confirmed and status == self.confirmed:
            return True
        return now - self.started_at >= STALE_READ_GRACE


def _show_events(app: Context, events: Sequence[StackEvent]) -> None:
    for event in events:
        when = event.timestamp.strftime("%H:%M:%S") if event.timestamp else ""
        reason = f"  {event.reason}" if event.reason else ""
        app.ui.detail(
            f"  {when} {event.logical_id} {event.resource_type} {event.status}{reason}",
            logical_id=event.logical_id,
            resource_type=event.resource_type,
            status=event.status,
            reason=event.reason,
        )


def _timed_out(stack_id: str, status: str, poller: Poller) -> DeployFailed:
    name = stack_id.split("/")[1] if stack_id.count("/") >= 2 else stack_id
    return DeployFailed(
        f"gave up waiting: stack {name} showed no progress for {int(poller.idle_for())} s "
        f"(still {status or 'in progress'}); the operation continues in AWS",
        "run the same command again to keep waiting (raise --timeout if it is just slow), "
        "or look at the stack's events in the CloudFormation console",
    )


def _deploy_failed(
    stack: Stack, events: Sequence[StackEvent], resume: str, alarms: str = ""
) -> DeployFailed:
    cause = first_failure(events)
    if cause is not None:
        why = f"{cause.logical_id} ({cause.resource_type}) {cause.status}: {cause.reason}"
    else:
        why = stack.reason or "no reason given"
    if alarms:
        why += f"; {alarms}"
    return DeployFailed(
        f"stack {stack.name} ended {stack.status}. Root cause: {why}",
        f"fix that, then run `{resume}` again",
    )
