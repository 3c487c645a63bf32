"""The stack deploy engine: compare, plan, change set, confirm, execute, wait.

Shaped like chalice's planner and executor. `compare` reads the real stack (status, the
deployed template, its parameters) and lists how it differs from a `DesiredStack`;
`plan_lines` turns that into the lines `plan` and `--dry-run` show, changing nothing;
`deploy` acts: it settles the stack's state first (waits out a running operation, deletes a
stack that failed to create, offers to continue a failed rollback), then always goes
through a change set, shows its table and asks before executing. Waiting streams new
stack events and gives up only after `timeout` seconds *without progress*.

NoEcho parameters (the database password) cannot be compared: how their salted digest is
kept in the template is ecslab/lab/password_digest.py. Waiting for a stack operation
(polling, streaming its events, deciding when a status read is final) is
ecslab/lab/stack_wait.py.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ecslab.aws.cloudformation import (
    RECREATE_STATES,
    UPDATABLE_STATES,
    ChangeSet,
    CloudFormation,
    NoChanges,
    Stack,
    in_progress,
)
from ecslab.aws.errors import Transient
from ecslab.core.errors import DeployFailed, Interrupted
from ecslab.lab.image_history import HISTORY_KEY, history_to_deploy
from ecslab.lab.password_digest import (
    DIGEST_KEY,
    METADATA_KEY,
    VERSION_PARAMETER,
    digest_matches,
    secret_digest,
    secret_version,
    stored_digest,
    without_ecslab_metadata,
)
from ecslab.lab.stack_wait import Poller, interruptible, start_and_wait, wait_out

if TYPE_CHECKING:
    from ecslab.lab.context import Context

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


# --- the NoEcho digest, deployed (ecslab/lab/password_digest.py) ---------------------------


def digest_to_deploy(desired: DesiredStack, deployed: Mapping[str, Any] | None) -> str:
    """The NoEcho digest: the deployed one while it still matches, else a new one."""
    digest = stored_digest(deployed)
    if not digest or not digest_matches(digest, desired.secret_values):
        digest = secret_digest(desired.secret_values)
    return digest


def template_to_deploy(
    desired: DesiredStack, digest: str, deployed: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The desired template plus the NoEcho digest (none when it has no NoEcho parameter)
    and the record of deployed images (lab/image_history.py)."""
    doc = copy.deepcopy(desired.template)
    meta: dict[str, Any] = {}
    if desired.secret_keys:
        meta[DIGEST_KEY] = digest
    history = history_to_deploy(desired.parameters, deployed)
    if history is not None:
        meta[HISTORY_KEY] = history
    if meta:
        doc.setdefault("Metadata", {})[METADATA_KEY] = meta
    return doc


def parameters_to_deploy(desired: DesiredStack, digest: str) -> dict[str, str]:
    """The desired parameters plus VERSION_PARAMETER, when the template declares it."""
    values = dict(desired.parameters)
    if VERSION_PARAMETER in desired.template.get("Parameters", {}) and desired.secret_keys:
        values[VERSION_PARAMETER] = secret_version(digest)
    return values


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
    body = template_body(template_to_deploy(desired, digest, deployed))
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
        interruptible(desired.name, desired.resume, "the change set is being prepared"),
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
