"""The stack deploy engine: compare, plan, change set, confirm, execute, wait.

Shaped like chalice's planner and executor. `compare` reads the real stack (status, the
deployed template, its parameters) and lists how it differs from a `DesiredStack`;
`plan_lines` turns that into the lines `plan` and `--dry-run` show, changing nothing;
`deploy` acts: it settles the stack's state first (waits out a running operation, deletes a
stack that failed to create, offers to continue a failed rollback), then always goes
through a change set, shows its table and asks before executing. Waiting streams new
stack events and gives up only after `timeout` seconds *without progress*.

NoEcho parameters (the database password) come back from AWS as '****', so their values
cannot be compared. A salted PBKDF2 digest of them is kept in the deployed template's
top-level `Metadata.ecslab.NoEchoDigest`: it is part of the template, so it rolls back
with the template when an update fails (a stack tag would not be updated by moto's change
sets), and a salted slow hash does not give the password away to whoever can read the
template. Whether the password changed is decided by checking the new one against it.
A template that declares `VERSION_PARAMETER` gets a short hash of that digest as its
value: it changes exactly when the password does, so the template can make a password
change replace what must pick it up (the task definition), without revealing it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ecslab.aws.cloudformation import (
    RECREATE_STATES,
    STACK_TYPE,
    SUCCESS_STATES,
    UPDATABLE_STATES,
    ChangeSet,
    CloudFormation,
    NoChanges,
    Stack,
    StackEvent,
    failed,
    first_failure,
    in_progress,
)
from ecslab.aws.session import Transient
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
METADATA_KEY = "ecslab"
DIGEST_KEY = "NoEchoDigest"
DIGEST_ITERATIONS = 600_000
VERSION_PARAMETER = "DbPasswordVersion"
VERSION_LENGTH = 16
CHANGE_COLUMNS = ("Action", "Logical id", "Type", "Replacement")

# --- what is wanted ----------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredStack:
    """A stack as it should be: template, parameter values and tags.

    `resume` is the command that continues this deploy (said after Ctrl-C or a timeout).
    """

    name: str
    template: dict[str, Any]
    parameters: Mapping[str, str]
    tags: Mapping[str, str] = field(default_factory=dict)
    label: str = ""
    resume: str = "ecslab run-all"

    @property
    def secret_keys(self) -> frozenset[str]:
        declared = self.template.get("Parameters", {})
        return frozenset(k for k, v in declared.items() if _truthy(v.get("NoEcho")))

    @property
    def secret_values(self) -> dict[str, str]:
        return {k: v for k, v in self.parameters.items() if k in self.secret_keys}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# --- NoEcho digest ------------------------------------------------------------------------


def secret_digest(values: Mapping[str, str], salt: bytes | None = None) -> str:
    """A salted PBKDF2-SHA256 digest of NoEcho values: 'pbkdf2-sha256$N$salt$hash'."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    payload = json.dumps(sorted(values.items())).encode()
    digest = hashlib.pbkdf2_hmac("sha256", payload, salt, DIGEST_ITERATIONS)
    return f"pbkdf2-sha256${DIGEST_ITERATIONS}${salt.hex()}${digest.hex()}"


def digest_matches(stored: str, values: Mapping[str, str]) -> bool:
    try:
        scheme, iterations, salt, expected = stored.split("$")
        payload = json.dumps(sorted(values.items())).encode()
        actual = hashlib.pbkdf2_hmac("sha256", payload, bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return scheme == "pbkdf2-sha256" and hmac.compare_digest(actual.hex(), expected)


def stored_digest(template: Mapping[str, Any] | None) -> str:
    if not template:
        return ""
    meta = template.get("Metadata", {}).get(METADATA_KEY, {})
    return str(meta.get(DIGEST_KEY, "")) if isinstance(meta, Mapping) else ""


def without_ecslab_metadata(template: Mapping[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(dict(template))
    meta = doc.get("Metadata")
    if isinstance(meta, dict):
        meta.pop(METADATA_KEY, None)
        if not meta:
            doc.pop("Metadata")
    return doc


def digest_to_deploy(desired: DesiredStack, deployed: Mapping[str, Any] | None) -> str:
    """The NoEcho digest: the deployed one while it still matches, else a new one."""
    digest = stored_digest(deployed)
    if not digest or not digest_matches(digest, desired.secret_values):
        digest = secret_digest(desired.secret_values)
    return digest


def template_to_deploy(desired: DesiredStack, digest: str) -> dict[str, Any]:
    """The desired template plus the NoEcho digest (none when it has no NoEcho parameter)."""
    doc = copy.deepcopy(desired.template)
    if desired.secret_keys:
        doc.setdefault("Metadata", {})[METADATA_KEY] = {DIGEST_KEY: digest}
    return doc


def parameters_to_deploy(desired: DesiredStack, digest: str) -> dict[str, str]:
    """The desired parameters plus VERSION_PARAMETER, when the template declares it."""
    values = dict(desired.parameters)
    if VERSION_PARAMETER in desired.template.get("Parameters", {}) and desired.secret_keys:
        values[VERSION_PARAMETER] = secret_version(digest)
    return values


def secret_version(digest: str) -> str:
    """A short hash of the salted digest: equal for an unchanged password, else new."""
    return hashlib.sha256(digest.encode()).hexdigest()[:VERSION_LENGTH]


# --- comparing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The real stack next to the desired one."""

    stack: Stack | None
    deployed: dict[str, Any] | None
    differences: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return (
            self.stack is not None
            and self.stack.status in UPDATABLE_STATES
            and not self.differences
        )


def compare(app: Context, desired: DesiredStack) -> Comparison:
    """Read the stack and list how it differs from `desired` (nothing is changed)."""
    cfn = app.aws.cloudformation
    stack = cfn.describe(desired.name)
    if stack is None or stack.status not in UPDATABLE_STATES:
        return Comparison(stack, None, ())
    deployed = cfn.template(stack.stack_id)
    return Comparison(stack, deployed, tuple(differences(deployed, stack.parameters, desired)))


def differences(
    deployed: Mapping[str, Any] | None, parameters: Mapping[str, str], desired: DesiredStack
) -> list[str]:
    """What an update would change, one line each ('modify resource X (type)')."""
    if deployed is None:
        return ["replace the deployed template (it is not JSON, so ecslab cannot compare it)"]
    found = _resource_differences(without_ecslab_metadata(deployed), desired.template)
    found += _parameter_differences(parameters, desired)
    digest = stored_digest(deployed)
    if desired.secret_keys and not digest_matches(digest, desired.secret_values):
        names = ", ".join(sorted(desired.secret_keys))
        found.append(f"change the hidden parameter(s) {names} (values not shown)")
    return found


def _resource_differences(deployed: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    old, new = deployed.get("Resources", {}), wanted.get("Resources", {})
    lines = [f"add resource {k} ({new[k]['Type']})" for k in new if k not in old]
    lines += [
        f"modify resource {k} ({new[k]['Type']})" for k in new if k in old and old[k] != new[k]
    ]
    lines += [f"remove resource {k} ({old[k].get('Type', '?')})" for k in old if k not in new]
    sections = sorted((set(deployed) | set(wanted)) - {"Resources"})
    changed = [s for s in sections if deployed.get(s) != wanted.get(s)]
    if changed:
        lines.append(f"change the template's {', '.join(changed)}")
    return lines


def _parameter_differences(actual: Mapping[str, str], desired: DesiredStack) -> list[str]:
    declared = desired.template.get("Parameters", {})
    lines = []
    for key, value in desired.parameters.items():
        if key in desired.secret_keys:
            continue
        kind = str(declared.get(key, {}).get("Type", "String"))
        old = actual.get(key)
        if old is None:
            lines.append(f"set parameter {key} = {value}")
        elif _normal(old, kind) != _normal(value, kind):
            lines.append(f"set parameter {key}: {old} -> {value}")
    return lines


def _normal(value: str, kind: str) -> str:
    """List parameters compare as lists (moto shows them as "['a', 'b']")."""
    if kind.startswith("List<") or kind == "CommaDelimitedList":
        items = value.strip().strip("[]").split(",")
        return ",".join(item.strip().strip("'\"") for item in items)
    return value.strip()


# --- planning -----------------------------------------------------------------------------


class StackAction(StrEnum):
    """What a deploy must do first, given the stack's state: the one table both `plan`
    and `deploy` follow (`action_for`)."""

    CREATE = "create"  # no stack (or a deleted one): create it
    UPDATE = "update"  # settled and updatable: compare, then a change set if it differs
    WAIT = "wait"  # an operation is running: wait for it, then decide again
    RECREATE = "recreate"  # a failed create holds nothing: delete it, then create
    CONTINUE_ROLLBACK = "continue-rollback"  # UPDATE_ROLLBACK_FAILED: finish it first
    BLOCKED = "blocked"  # DELETE_FAILED: nothing until it is deleted
    UNSUPPORTED = "unsupported"  # a state ecslab does not deploy over


def action_for(stack: Stack | None) -> StackAction:
    """The first thing a deploy does with a stack in this state (AWS's status codes)."""
    if stack is None or stack.status == "DELETE_COMPLETE":
        return StackAction.CREATE
    status = stack.status
    if in_progress(status):
        return StackAction.WAIT
    if status in UPDATABLE_STATES:
        return StackAction.UPDATE
    if status in RECREATE_STATES or status == "ROLLBACK_FAILED":
        return StackAction.RECREATE
    if status == "UPDATE_ROLLBACK_FAILED":
        return StackAction.CONTINUE_ROLLBACK
    if status == "DELETE_FAILED":
        return StackAction.BLOCKED
    return StackAction.UNSUPPORTED


def plan_lines(
    app: Context, desired: DesiredStack, comparison: Comparison | None = None
) -> list[str]:
    """What `deploy` would do, one line each, for `plan` and `--dry-run`."""
    comparison = comparison or compare(app, desired)
    stack, name = comparison.stack, desired.name
    what = f"stack {name}" + (f" ({desired.label})" if desired.label else "")
    status = stack.status if stack else ""
    action = action_for(stack)
    if action is StackAction.UPDATE:
        return [f"update {what}:", *comparison.differences] if comparison.differences else []
    lines = {
        StackAction.CREATE: [f"create {what}", *_additions(desired)],
        StackAction.WAIT: [f"wait for stack {name} to leave {status}, then compare it again"],
        StackAction.RECREATE: [
            f"delete stack {name} ({status}) and create it again",
            *_additions(desired),
        ],
        StackAction.CONTINUE_ROLLBACK: [
            f"continue the failed rollback of stack {name} (asks first), then update it"
        ],
        StackAction.BLOCKED: [
            f"nothing until stack {name} (DELETE_FAILED) is deleted: see `ecslab destroy`"
        ],
        StackAction.UNSUPPORTED: [f"nothing: stack {name} is {status}, which ecslab cannot update"],
    }
    return lines[action]


def _additions(desired: DesiredStack) -> list[str]:
    resources = desired.template.get("Resources", {})
    return [f"add resource {k} ({v['Type']})" for k, v in resources.items()]


# --- deploying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployResult:
    """How a deploy ended: 'created', 'updated' or 'up-to-date'."""

    outcome: str
    stack: Stack
    changes: tuple[str, ...] = ()


def deploy(app: Context, desired: DesiredStack) -> DeployResult:
    """Make the stack match `desired` through a change set; see the module docstring."""
    cfn = app.aws.cloudformation
    stack = settle(app, cfn, desired)
    deployed = cfn.template(stack.stack_id) if stack else None
    if stack is not None and not differences(deployed, stack.parameters, desired):
        return DeployResult("up-to-date", stack)
    change_type = "UPDATE" if stack else "CREATE"
    change_set = _make_change_set(app, cfn, desired, change_type, deployed)
    if change_set is None:
        if stack is None:  # CloudFormation never says this of a CREATE
            raise DeployFailed(f"CloudFormation found nothing to create in stack {desired.name}")
        return DeployResult("up-to-date", stack)
    show_changes(app, desired.name, change_set)
    _confirm_or_discard(app, cfn, desired, change_set, change_type)
    final = start_and_wait(
        app,
        cfn,
        change_set.stack_id,
        desired.name,
        desired.resume,
        lambda: cfn.execute_change_set(change_set.change_set_id),
        expect_success=True,
    )
    if final is None:
        raise DeployFailed(f"stack {desired.name} disappeared while it was being deployed")
    rows = tuple(f"{c.action} {c.logical_id}" for c in change_set.changes)
    return DeployResult("created" if change_type == "CREATE" else "updated", final, rows)


def settle(app: Context, cfn: CloudFormation, desired: DesiredStack) -> Stack | None:
    """The stack in a state that takes a change set (None: there is none to update)."""
    stack = cfn.describe(desired.name)
    if action_for(stack) is StackAction.WAIT:
        assert stack is not None
        stack = wait_out(app, cfn, stack, desired.resume)
    action = action_for(stack)
    if action is StackAction.CREATE:
        return None  # (a deletion was running): create it anew
    assert stack is not None
    if action is StackAction.UPDATE:
        return stack
    if action is StackAction.RECREATE:
        _delete_failed_create(app, cfn, stack, desired)
        return None
    if action is StackAction.CONTINUE_ROLLBACK:
        return _continue_rollback(app, cfn, stack, desired)
    if action is StackAction.BLOCKED:
        raise delete_blocked(cfn, stack)
    raise DeployFailed(f"stack {stack.name} is {stack.status}, which ecslab cannot update")


def _delete_failed_create(
    app: Context, cfn: CloudFormation, stack: Stack, desired: DesiredStack
) -> None:
    why = f": {stack.reason}" if stack.reason else ""
    app.ui.warning(
        f"stack {stack.name} is {stack.status} (its creation failed or never ran{why}); "
        "it holds nothing to keep, so ecslab deletes it and creates it again"
    )
    final = start_and_wait(
        app,
        cfn,
        stack.stack_id,
        stack.name,
        desired.resume,
        lambda: cfn.delete_stack(stack.stack_id),
    )
    if final is not None and final.status != "DELETE_COMPLETE":
        raise delete_blocked(cfn, final)


def _continue_rollback(
    app: Context, cfn: CloudFormation, stack: Stack, desired: DesiredStack
) -> Stack | None:
    blocking = cfn.failed_resources(stack.stack_id)
    names = ", ".join(f"{r.logical_id} ({r.reason})" for r in blocking) or "unknown resources"
    app.ui.warning(
        f"stack {stack.name} is UPDATE_ROLLBACK_FAILED: an update failed and so did its "
        f"rollback, at {names}. Until the rollback finishes the stack takes no update."
    )
    hint = (
        f"fix the cause, then run `aws cloudformation continue-update-rollback --stack-name "
        f"{stack.name}` (add --resources-to-skip for resources that cannot roll back), "
        f"then `{desired.resume}`"
    )
    if not app.ui.assume_yes and not app.ui.interactive:
        raise DeployFailed(f"stack {stack.name} is UPDATE_ROLLBACK_FAILED", hint)
    if not app.ui.confirm("Continue the rollback now (ContinueUpdateRollback)?"):
        raise DeployFailed(f"stack {stack.name} is UPDATE_ROLLBACK_FAILED", hint)
    final = start_and_wait(
        app,
        cfn,
        stack.stack_id,
        stack.name,
        desired.resume,
        lambda: cfn.continue_update_rollback(stack.stack_id),
    )
    if final is None or final.status != "UPDATE_ROLLBACK_COMPLETE":
        status = final.status if final else "gone"
        raise DeployFailed(f"the rollback of stack {stack.name} ended {status}", hint)
    app.ui.success(f"stack {stack.name} rolled back; now updating it")
    return final


def delete_blocked(cfn: CloudFormation, stack: Stack) -> DeployFailed:
    """Why a stack is DELETE_FAILED: the resources that could not be deleted."""
    blocking = cfn.failed_resources(stack.stack_id)
    lines = "; ".join(
        f"{r.logical_id} ({r.resource_type} {r.physical_id}): {r.reason}" for r in blocking
    )
    return DeployFailed(
        f"stack {stack.name} is DELETE_FAILED; blocked by: {lines or stack.reason or 'unknown'}",
        "remove what keeps those resources in use (or delete them by hand), then run "
        "`ecslab destroy` again; `aws cloudformation delete-stack --retain-resources ...` "
        "deletes the stack and leaves them",
    )


def _make_change_set(
    app: Context,
    cfn: CloudFormation,
    desired: DesiredStack,
    change_type: str,
    deployed: Mapping[str, Any] | None,
) -> ChangeSet | None:
    """Create the change set and wait for it; None when it would change nothing."""
    from ecslab.lab.template import template_body

    digest = digest_to_deploy(desired, deployed)
    body = template_body(template_to_deploy(desired, digest))
    name = f"ecslab-{uuid.uuid4().hex[:16]}"
    try:
        created = cfn.create_change_set(
            desired.name,
            name,
            change_set_type=change_type,
            body=body,
            parameters=parameters_to_deploy(desired, digest),
            tags=desired.tags,
        )
    except NoChanges:
        return None
    change_set = _wait_for_change_set(app, cfn, created, desired)
    if change_set.no_changes:
        cfn.delete_change_set(change_set.change_set_id)
        return None
    if change_set.status != "CREATE_COMPLETE":
        _discard(cfn, change_set, change_type)
        raise _rejected(desired, change_set)
    return change_set


def _rejected(desired: DesiredStack, change_set: ChangeSet) -> DeployFailed:
    return DeployFailed(
        f"CloudFormation rejected the change set for stack {desired.name}: "
        f"{change_set.reason or change_set.status}",
        f"fix the template or the parameter it names, then run `{desired.resume}` again; "
        "nothing was changed",
    )


def _wait_for_change_set(
    app: Context, cfn: CloudFormation, created: ChangeSet, desired: DesiredStack
) -> ChangeSet:
    poller = Poller(app)
    with (
        _interruptible(desired.name, desired.resume, "the change set is being prepared"),
        app.ui.status(f"preparing the change set for stack {desired.name}"),
    ):
        while True:
            try:
                change_set = cfn.describe_change_set(created.change_set_id)
            except Transient as exc:
                app.ui.debug_log(f"{exc}; polling again")
            else:
                if change_set.settled:
                    return change_set
            if poller.expired():
                raise DeployFailed(
                    f"the change set for stack {desired.name} was not ready after "
                    f"{poller.timeout} s",
                    f"run `{desired.resume}` again",
                )
            poller.sleep()


def show_changes(app: Context, stack_name: str, change_set: ChangeSet) -> None:
    if not change_set.changes:
        # Parameters changed but CloudFormation names no resource (moto does this for a
        # parameter-only update); an empty table would read as "nothing happens".
        app.ui.info(
            f"Changes to stack {stack_name}: new parameter values; CloudFormation lists "
            "no resource change for them",
            stack=stack_name,
        )
        return
    rows = [
        (c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in change_set.changes
    ]
    app.ui.table(f"Changes to stack {stack_name}", CHANGE_COLUMNS, rows, stack=stack_name)


def _confirm_or_discard(
    app: Context,
    cfn: CloudFormation,
    desired: DesiredStack,
    change_set: ChangeSet,
    change_type: str,
) -> None:
    count = len(change_set.changes)
    what = f"these {count} change(s)" if count else "this change set"
    question = f"Execute {what} to stack {desired.name}?"
    try:
        answer = app.ui.confirm(question)
    except BaseException:
        _discard(cfn, change_set, change_type)
        raise
    if not answer:
        _discard(cfn, change_set, change_type)
        raise Interrupted(
            f"not deployed: you answered no, so the change set for stack {desired.name} was "
            "deleted and nothing changed",
            f"run `{desired.resume}` again when ready, or add --yes",
        )


def _discard(cfn: CloudFormation, change_set: ChangeSet, change_type: str) -> None:
    """Delete an unused change set; for a CREATE also the empty REVIEW_IN_PROGRESS stack."""
    if change_type == "CREATE":
        cfn.delete_stack(change_set.stack_id)
    else:
        cfn.delete_change_set(change_set.change_set_id)


# --- waiting ------------------------------------------------------------------------------


class Poller:
    """Sleeps 2-5 s between polls, with jitter, longer while nothing changes.

    `expired()` is true when `timeout` seconds passed since the last `progress()`.
    """

    def __init__(self, app: Context, rng: random.Random | None = None) -> None:
        self._clock = app.clock
        self._rng = rng or random.Random()
        self._deadline = ProgressDeadline(app.clock, app.config.timeout or DEFAULT_TIMEOUT)
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
def _interruptible(stack_name: str, resume: str, doing: str) -> Iterator[None]:
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
        _interruptible(stack_name, resume, "the stack operation is running"),
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
    last_status = line_detail = ""
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
                detail = _service_deployment(app, seen)
                if detail and detail != line_detail:  # a stage or a traffic shift moved on
                    poller.progress()
                    line_detail = detail
                line.update(
                    f"stack {stack.name}: {stack.status}" + (f"; {detail}" if detail else "")
                )
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
    failed = first_failure(seen)
    if failed is None or failed.resource_type != "AWS::ECS::Service":
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
