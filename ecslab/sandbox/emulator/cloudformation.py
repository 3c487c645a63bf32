"""CloudFormation as AWS times it: stack operations that run after the call returns.

moto does a stack's work inside the request and writes stack-level events only. This area
lets moto do the work, then holds the stack's status as AWS would while a worker thread
replays the operation as CloudFormation's events (`cfn_plan.py` says which and how long):

- CreateStack, ExecuteChangeSet, UpdateStack and DeleteStack return at once. For a short
  window (`ECSLAB_SANDBOX_CFN_STALE_SECONDS`, default 2 sandbox seconds; 0 turns it off)
  DescribeStacks still shows the status from before the call, as AWS's eventually
  consistent reads can (aws-cdk-cli #1802). Then the stack is *_IN_PROGRESS while each
  resource's events arrive in dependency order, and the stack settles with AWS's
  sequences (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, deletes of replaced resources, ...).
- Every event of one operation carries its ClientRequestToken; resource events have ids
  like AWS's (`Logical-STATUS-timestamp`), stack events a UUID. DescribeStackEvents is
  newest first and pages by 100 with NextToken (`paging.page_newest_first`; a token the
  area did not hand out is a ValidationError).
- An AWS::ECS::Service completes only once the sandbox's scheduler calls it stable
  (`ecslab.sandbox.emulator.ecs_scheduler.service_outcome`, when that area exists; without
  it, at once). If the deployment fails, the resource fails with ECS's circuit breaker
  message and the stack rolls back: its template, parameters and resources return to the
  previous ones (UPDATE_ROLLBACK_IN_PROGRESS ... UPDATE_ROLLBACK_COMPLETE), or, for a
  create, are deleted (ROLLBACK_COMPLETE).
- A stack that is in progress refuses new operations as AWS does.

Its durations are real seconds, whatever the sandbox's clock (`--time-scale`, which
compresses CloudWatch's minutes): they are already shortened. `ECSLAB_SANDBOX_CFN_TIME_SCALE`
speeds them up (the tests use 10).
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.cloudformation import STACK_TYPE
from ecslab.sandbox import moto_seam
from ecslab.sandbox.emulator import cfn_plan
from ecslab.sandbox.emulator.cfn_plan import Job, Snapshot
from ecslab.sandbox.emulator.paging import BadToken, page_newest_first
from ecslab.sandbox.moto_seam import PatchSet

if TYPE_CHECKING:
    from ecslab.sandbox.emulator import EmulatorContext

STALE_ENV = "ECSLAB_SANDBOX_CFN_STALE_SECONDS"
DEFAULT_STALE_SECONDS = 2.0
# The area's durations are already AWS's, shortened (cfn_plan.py), so it keeps real time
# whatever the sandbox's clock (which compresses CloudWatch's minutes); tests speed it up.
PACE_ENV = "ECSLAB_SANDBOX_CFN_TIME_SCALE"
TICK = 0.1  # real seconds between the worker's looks at the clock
STACK_START = 0.3  # sandbox seconds from the stack's IN_PROGRESS event to the first resource
# How long an ECS service may take to be stable (sandbox seconds) before its resource fails
# (AWS waits for hours; `aws ecs wait services-stable` gives up after 10 minutes).
SERVICE_STABLE_BOUND = 600.0
EVENTS_PAGE = 100
# The parameters of moto 5.2's CloudFormationBackend methods the area wraps.
CREATE_STACK = (
    "self",
    "name",
    "template",
    "parameters",
    "notification_arns",
    "tags",
    "role_arn",
    "enable_termination_protection",
    "timeout_in_mins",
    "stack_policy_body",
)
UPDATE_STACK = ("self", "name", "template", "role_arn", "parameters", "tags")
EXECUTE_CHANGE_SET = ("self", "change_set_name", "stack_name")
CREATE_CHANGE_SET = (
    "self",
    "stack_name",
    "change_set_name",
    "template",
    "parameters",
    "description",
    "change_set_type",
    "notification_arns",
    "tags",
    "role_arn",
)
SCHEDULER = "ecslab.sandbox.emulator.ecs_scheduler"
BREAKER = (
    'Resource handler returned message: "Error occurred during operation '
    "'ECS Deployment Circuit Breaker was triggered'.\""
)

_request = threading.local()  # the ClientRequestToken of the request being handled


class _Stopped(Exception):
    """The area is stopping: the worker ends where it is."""


class SandboxClock:
    """Sandbox seconds: `time_scale` of them pass per real second; sleeping ends at stop."""

    def __init__(self, time_scale: float, stop: threading.Event) -> None:
        self._scale = time_scale
        self._stop = stop

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return time.monotonic() * self._scale

    def sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds / self._scale):
            raise _Stopped


# -- the area -------------------------------------------------------------------------------


def start(context: EmulatorContext) -> Callable[[], None]:
    stop = threading.Event()
    pace = _seconds_from_env(PACE_ENV, 1.0, minimum=0.01)
    emulator = StackOperations(SandboxClock(pace, stop), stale_seconds())
    undo = emulator.install()

    def stop_area() -> None:
        stop.set()
        undo()

    return stop_area


def build_patches(patches: PatchSet) -> None:
    """The area's patches, with nothing started (`python -m ecslab.sandbox list-patches`)."""
    StackOperations(SandboxClock(1.0, threading.Event()), 0.0).build_patches(patches)


def stale_seconds() -> float:
    return _seconds_from_env(STALE_ENV, DEFAULT_STALE_SECONDS, minimum=0.0)


def _seconds_from_env(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return max(minimum, float(raw)) if raw else default
    except ValueError:
        print(f"cloudformation: {name}={raw!r} is not a number; using {default}", file=sys.stderr)
        return default


# (cluster, service) -> ("stable" | "in-progress" | "failed", the failure's detail)
ServiceOutcomes = Callable[[str, str], tuple[str, str]]


def _made(stack: Any, body: Any) -> bool:
    """Whether CloudFormation makes the resource: no Condition, or one moto found true (a
    resource whose Condition is false has no events and no physical id on AWS)."""
    condition = body.get("Condition") if isinstance(body, dict) else None
    if not condition:
        return True
    conditions = getattr(stack.resource_map, "lazy_condition_map", None)
    try:
        return bool(conditions[condition]) if conditions is not None else True
    except Exception:  # moto could not evaluate it: show the resource, as before
        return True


def scheduler_outcome(cluster: str, service: str) -> tuple[str, str]:
    """What the sandbox's ECS scheduler says of a service; stable when there is none."""
    try:
        scheduler = importlib.import_module(SCHEDULER)
    except ModuleNotFoundError as exc:
        if exc.name != SCHEDULER:
            raise  # the scheduler is there but broken: say so, do not call services stable
        return "stable", ""  # no scheduler in this sandbox: nothing to wait for
    outcome = scheduler.service_outcome(cluster, service)
    if outcome == "failed":
        return "failed", str(scheduler.service_failure_reason(cluster, service))
    return ("in-progress", "") if outcome == "in-progress" else ("stable", "")


@dataclass
class StackOperations:
    """The patches into moto's CloudFormation, and the operations they started."""

    clock: SandboxClock
    stale: float
    services: ServiceOutcomes = scheduler_outcome
    active: dict[str, Operation] = field(default_factory=dict)
    # (stack id, logical id) -> the last physical id known, or one made up for it
    fake_ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def install(self) -> Callable[[], None]:
        """Patch moto for this process (through the seam); the returned function undoes it."""
        return moto_seam.install("cloudformation", self.build_patches)

    def build_patches(self, patches: PatchSet) -> None:
        """moto's stack operations wrapped to run on a worker thread; events paged."""
        from moto.cloudformation.models import CloudFormationBackend

        timed = "the stack operation runs after the call returns, with CloudFormation's events"
        for name, make, params in (
            ("create_stack", self._create_stack, CREATE_STACK),
            ("execute_change_set", self._execute_change_set, EXECUTE_CHANGE_SET),
            ("update_stack", self._update_stack, UPDATE_STACK),
            ("delete_stack", self._delete_stack, ("self", "name_or_stack_id")),
        ):
            patches.replace(CloudFormationBackend, name, make, params=params, why=timed)
        patches.replace(
            CloudFormationBackend,
            "create_change_set",
            self._create_change_set,
            params=CREATE_CHANGE_SET,
            why="a stack whose operation is in progress refuses a new change set",
        )
        patches.operation(
            "cloudformation",
            "DescribeStackEvents",
            _paged_events,
            why="the replayed events, newest first, 100 a page with NextToken",
        )
        for action in ("CreateStack", "UpdateStack", "DeleteStack", "ExecuteChangeSet"):
            patches.operation(
                "cloudformation",
                action,
                _with_request_token,
                why="the operation's events carry the call's ClientRequestToken",
            )

    # -- wrappers of moto's backend methods ---------------------------------------------

    def _create_stack(self, original: Any) -> Any:
        def create_stack(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            stack = original(backend, name, *args, **kwargs)
            before = Snapshot({}, {}, {})
            self._begin(backend, stack, "CREATE", before, n_events=0, stale_status=None)
            return stack

        return create_stack

    def _execute_change_set(self, original: Any) -> Any:
        def execute(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
            change_set = _find_change_set(backend, change_set_name)
            if change_set is None:
                original(backend, change_set_name, stack_name)  # moto's own error
                return
            stack = backend.stacks[change_set.stack_id]
            self._refuse_if_busy(stack)
            kind = str(change_set.change_set_type)
            before, status, n = self._snapshot(stack), stack.status, len(stack.events)
            template = stack.template
            original(backend, change_set_name, stack_name)
            if kind == "UPDATE" and change_set.parameters:
                # moto keeps the old values; AWS shows the ones the change set applied.
                stack.parameters = dict(change_set.parameters)
            change_set.execution_status = "EXECUTE_IN_PROGRESS"
            operation = self._begin(backend, stack, kind, before, n, status, template)
            operation.change_set = change_set
            return None

        return execute

    def _update_stack(self, original: Any) -> Any:
        def update_stack(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            stack = backend.get_stack(name)
            self._refuse_if_busy(stack)
            before, status, n = self._snapshot(stack), stack.status, len(stack.events)
            template = stack.template
            stack = original(backend, name, *args, **kwargs)
            self._begin(backend, stack, "UPDATE", before, n, status, template)
            return stack

        return update_stack

    def _delete_stack(self, original: Any) -> Any:
        def delete_stack(backend: Any, name_or_stack_id: str) -> None:
            stack = _live_stack(backend, name_or_stack_id)
            if stack is None:
                original(backend, name_or_stack_id)
                return
            running = self.active.get(stack.stack_id)
            if running is not None and running.is_alive():
                if running.kind == "DELETE":
                    return None  # AWS accepts a repeated DeleteStack and does nothing
                self._refuse_if_busy(stack)
            before, status, n = self._snapshot(stack), stack.status, len(stack.events)
            original(backend, stack.stack_id)
            # moto deleted it at once; AWS shows it DELETE_IN_PROGRESS until it is gone.
            backend.deleted_stacks.pop(stack.stack_id, None)
            backend.stacks[stack.stack_id] = stack
            self._begin(backend, stack, "DELETE", before, n, status)
            return None

        return delete_stack

    def _create_change_set(self, original: Any) -> Any:
        def create_change_set(backend: Any, stack_name: str, *args: Any, **kwargs: Any) -> Any:
            stack = _live_stack(backend, stack_name)
            if stack is not None:
                self._refuse_if_busy(stack)
            return original(backend, stack_name, *args, **kwargs)

        return create_change_set

    # -- operations ---------------------------------------------------------------------

    def _refuse_if_busy(self, stack: Any) -> None:
        running = self.active.get(stack.stack_id)
        if running is not None and running.is_alive():
            from moto.cloudformation.exceptions import ValidationError

            status = running.status_now()
            raise ValidationError(
                message=f"Stack:{stack.stack_id} is in {status} state and can not be updated."
            )

    def _snapshot(self, stack: Any) -> Snapshot:
        resources = {
            name: body
            for name, body in (stack.template_dict.get("Resources", {}) or {}).items()
            if _made(stack, body)
        }
        return Snapshot(resources, dict(stack.parameters), self._ids(stack, resources))

    def _ids(self, stack: Any, resources: dict[str, Any]) -> dict[str, str]:
        ids: dict[str, str] = {}
        parsed = getattr(stack.resource_map, "_parsed_resources", {})
        for name in resources:
            try:
                pid = getattr(parsed.get(name), "physical_resource_id", None)
            except Exception:  # some moto models compute it from state they may not have
                pid = None
            key = (stack.stack_id, name)
            if isinstance(pid, str) and pid:
                self.fake_ids[key] = pid
            else:
                # moto skipped the resource (or lost its id in an update): the id it had, or
                # one shaped as CloudFormation's own.
                pid = self.fake_ids.setdefault(
                    key, f"{stack.name}-{name}-{uuid.uuid4().hex[:12].upper()}"
                )
            ids[name] = pid
        return ids

    def _begin(
        self,
        backend: Any,
        stack: Any,
        kind: str,
        before: Snapshot,
        n_events: int,
        stale_status: str | None,
        previous_template: Any = None,
    ) -> Operation:
        """Take back moto's instant events and status; start the timed replay."""
        final_status = stack.status
        del stack.events[n_events:]
        after = before if kind == "DELETE" else self._snapshot(stack)
        window = self.stale if stale_status is not None else 0.0
        stack.status = stale_status if window > 0 and stale_status else f"{kind}_IN_PROGRESS"
        operation = Operation(
            clock=self.clock,
            backend=backend,
            stack=stack,
            kind=kind,
            before=before,
            after=after,
            final_status=final_status,
            token=getattr(_request, "token", None),
            stale_for=window,
            services=self.services,
        )
        operation.previous_template = previous_template
        self.active[stack.stack_id] = operation
        operation.start()
        return operation


# -- one operation ----------------------------------------------------------------------------


class Operation(threading.Thread):
    """The timed replay of one stack operation, on its own thread."""

    def __init__(
        self,
        *,
        clock: SandboxClock,
        backend: Any,
        stack: Any,
        kind: str,
        before: Snapshot,
        after: Snapshot,
        final_status: str,
        token: str | None,
        stale_for: float,
        services: ServiceOutcomes = scheduler_outcome,
    ) -> None:
        super().__init__(name=f"cfn-{kind.lower()}-{stack.name}", daemon=True)
        self.clock = clock
        self.backend = backend
        self.stack = stack
        self.kind = kind
        self.before = before
        self.after = after
        self.final_status = final_status
        self.token = token
        self.stale_for = stale_for
        self.services = services
        self.change_set: Any = None
        self.previous_template: Any = None  # an update's template, to roll back to

    def status_now(self) -> str:
        """The stack's true status, also while reads still show the one from before."""
        status = str(self.stack.status)
        return status if status.endswith("_IN_PROGRESS") else f"{self.kind}_IN_PROGRESS"

    def run(self) -> None:
        try:
            if self.stale_for:
                self.clock.sleep(self.stale_for)
            self._run()
        except _Stopped:
            return
        except Exception as exc:  # never leave a stack in progress for ever
            print(f"cloudformation: {self.name} failed: {exc!r}", file=sys.stderr, flush=True)
            self._settle(self.final_status)

    def _run(self) -> None:
        if self.kind == "DELETE":
            self._stack_event("DELETE_IN_PROGRESS", "User Initiated")
            self._run_jobs(cfn_plan.plan_delete(self.before.resources, self.before.ids))
            self._stack_event("DELETE_COMPLETE")
            self._settle("DELETE_COMPLETE")
            self.backend.stacks.pop(self.stack.stack_id, None)
            self.backend.deleted_stacks[self.stack.stack_id] = self.stack
            return
        if self.kind == "CREATE":
            self._stack_event("CREATE_IN_PROGRESS", "User Initiated")
            jobs = cfn_plan.plan_create(self.after.resources, self.after.ids)
            failed = self._run_jobs(jobs)
            if failed is None:
                self._stack_event("CREATE_COMPLETE")
                self._settle(self.final_status)
            else:
                self._roll_back_create(failed, jobs)
            return
        self._stack_event("UPDATE_IN_PROGRESS", "User Initiated")
        jobs, cleanup = cfn_plan.plan_update(self.before, self.after)
        failed = self._run_jobs(jobs)
        if failed is not None:
            self._roll_back_update(failed, jobs)
            return
        self._stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        self._run_jobs(cleanup)
        self._stack_event("UPDATE_COMPLETE")
        self._settle(self.final_status)

    # -- jobs ------------------------------------------------------------------------------

    def _run_jobs(self, jobs: list[Job]) -> _Failure | None:
        """Run jobs as their dependencies allow; the first failure ends the run."""
        runs = [_JobRun(job) for job in jobs]
        done: set[str] = set()
        names = {job.logical_id for job in jobs}
        self.clock.sleep(STACK_START if jobs else 0.0)
        while any(not run.finished for run in runs):
            now = self.clock.now()
            for run in runs:
                if run.started is None and (run.job.after & names) <= done:
                    run.started = now
                failure = self._advance(run, now) if run.started is not None else None
                if failure is not None:
                    self._cancel(runs, failure)
                    return failure
                if run.finished:
                    done.add(run.job.logical_id)
            self.clock.sleep(TICK * self.clock.scale)
        return None

    def _advance(self, run: _JobRun, now: float) -> _Failure | None:
        """Write the job's events that are due; its last one waits for stability."""
        assert run.started is not None
        sequence = cfn_plan.event_sequence(run.job)
        while run.written < len(sequence):
            at, status, pid, reason = sequence[run.written]
            if now - run.started < at:
                return None
            last = run.written == len(sequence) - 1
            if last and run.job.waits_for_stability:
                outcome, why = self._service_outcome(run.job, now - run.started)
                if outcome == "in-progress":
                    return None
                if outcome == "failed":
                    return _Failure(run.job, why)
            self._resource_event(run.job, status, pid, reason)
            run.written += 1
        run.finished = True
        return None

    def _cancel(self, runs: list[_JobRun], failure: _Failure) -> None:
        verb = "creation" if self.kind == "CREATE" else "update"
        status = "CREATE_FAILED" if self.kind == "CREATE" else "UPDATE_FAILED"
        self._resource_event(failure.job, status, failure.job.physical_id, failure.reason)
        for run in runs:
            if run.started is not None and not run.finished and run.job is not failure.job:
                self._resource_event(
                    run.job, status, run.job.physical_id, f"Resource {verb} cancelled"
                )

    def _service_outcome(self, job: Job, waited: float) -> tuple[str, str]:
        """("stable" | "in-progress" | "failed", reason) for an ECS service resource."""
        if waited > job.seconds + SERVICE_STABLE_BOUND:
            return "failed", f"Service {job.physical_id} did not stabilize."
        cluster, service = _service_names(self.stack, job.logical_id)
        outcome, detail = self.services(cluster, service)
        if outcome == "failed":
            print(f"cloudformation: service {service} failed: {detail}", file=sys.stderr)
            return "failed", BREAKER
        return outcome, ""

    # -- rollbacks -------------------------------------------------------------------------

    def _roll_back_update(self, failure: _Failure, jobs: list[Job]) -> None:
        reason = f"The following resource(s) failed to update: [{failure.job.logical_id}]. "
        self._stack_event("UPDATE_ROLLBACK_IN_PROGRESS", reason)
        self._restore_previous()
        back = [
            Job(
                j.logical_id,
                j.resource_type,
                "update",
                self.before.ids.get(j.logical_id, ""),
                seconds=cfn_plan.UPDATE_SECONDS,
            )
            for j in reversed(jobs)
            if j.action in ("update", "replace")
        ]
        self._run_jobs(back)
        self._stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        self._run_jobs(
            [
                Job(j.logical_id, j.resource_type, "delete", j.physical_id)
                for j in reversed(jobs)
                if j.action in ("create", "replace")
            ]
        )
        self._stack_event("UPDATE_ROLLBACK_COMPLETE")
        self._settle("UPDATE_ROLLBACK_COMPLETE", failed=True)

    def _restore_previous(self) -> None:
        """The stack's template, parameters and resources as they were before the update."""
        n = len(self.stack.events)
        self.stack.update(self.previous_template, parameters=dict(self.before.parameters))
        del self.stack.events[n:]

    def _roll_back_create(self, failure: _Failure, jobs: list[Job]) -> None:
        reason = (
            f"The following resource(s) failed to create: [{failure.job.logical_id}]. "
            "Rollback requested by user."
        )
        self._stack_event("ROLLBACK_IN_PROGRESS", reason)
        try:
            self.stack.resource_map.delete()
        except Exception as exc:  # moto cannot delete every resource it made
            print(f"cloudformation: rollback of {self.stack.name}: {exc!r}", file=sys.stderr)
        self._run_jobs(cfn_plan.plan_delete(self.after.resources, self.after.ids))
        self._stack_event("ROLLBACK_COMPLETE")
        self._settle("ROLLBACK_COMPLETE", failed=True)

    # -- events and status -----------------------------------------------------------------

    def _settle(self, status: str, *, failed: bool = False) -> None:
        self.stack.status = status
        if self.change_set is not None:
            self.change_set.execution_status = "EXECUTE_FAILED" if failed else "EXECUTE_COMPLETE"

    def _stack_event(self, status: str, reason: str = "") -> None:
        self.stack.status = status
        self._event(self.stack.name, STACK_TYPE, self.stack.stack_id, status, reason, None)

    def _resource_event(self, job: Job, status: str, pid: str, reason: str) -> None:
        when = datetime.now(UTC)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        event_id = f"{job.logical_id}-{status}-{stamp}"
        self._event(job.logical_id, job.resource_type, pid, status, reason, event_id)

    def _event(
        self,
        logical_id: str,
        resource_type: str,
        physical_id: str,
        status: str,
        reason: str,
        event_id: str | None,
    ) -> None:
        from moto.cloudformation.models import Event

        event = Event(
            stack_id=self.stack.stack_id,
            stack_name=self.stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason or None,
            resource_properties=None,
        )
        if event_id is not None:
            event.event_id = event_id  # type: ignore[assignment]  # AWS's shape, not a UUID
        event.client_request_token = self.token  # type: ignore[assignment]
        self.stack.events.append(event)


@dataclass
class _JobRun:
    job: Job
    started: float | None = None
    written: int = 0
    finished: bool = False


@dataclass(frozen=True)
class _Failure:
    job: Job
    reason: str


def _service_names(stack: Any, logical_id: str) -> tuple[str, str]:
    parsed = getattr(stack.resource_map, "_parsed_resources", {}).get(logical_id)
    return str(getattr(parsed, "cluster_name", "")), str(getattr(parsed, "name", logical_id))


def _find_change_set(backend: Any, name: str) -> Any:
    if name in backend.change_sets:
        return backend.change_sets[name]
    return next((c for c in backend.change_sets.values() if c.change_set_name == name), None)


def _live_stack(backend: Any, name_or_id: str) -> Any:
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    return next((s for s in backend.stacks.values() if s.name == name_or_id), None)


# -- wrappers of moto's responses -------------------------------------------------------------


def _with_request_token(original: Any) -> Any:
    def handle(response: Any) -> Any:
        _request.token = response._get_param("ClientRequestToken")
        try:
            return original(response)
        finally:
            _request.token = None

    return handle


def _paged_events(original: Any) -> Any:
    """DescribeStackEvents newest first, EVENTS_PAGE a page, NextToken while more remain;
    a token stays valid while the operation adds events."""

    def describe_stack_events(response: Any) -> Any:
        from moto.cloudformation.exceptions import ValidationError
        from moto.core.responses import ActionResult

        events = response.cloudformation_backend.describe_stack_events(
            response._get_param("StackName")
        )
        try:
            found = page_newest_first(events, response._get_param("NextToken"), None, EVENTS_PAGE)
        except BadToken:
            raise ValidationError(message="Invalid NextToken") from None
        result: dict[str, Any] = {"StackEvents": found.items}
        if found.next_token is not None:
            result["NextToken"] = found.next_token
        return ActionResult(result)

    return describe_stack_events
