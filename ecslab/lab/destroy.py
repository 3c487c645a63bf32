"""`ecslab destroy`: delete the stack, then empty and delete the retained ECR repository.

The repository has DeletionPolicy Retain (it holds the images), so deleting the stack
leaves it; destroy removes it afterwards, tagged and untagged images first. What could not
be removed is reported, and the command then fails (exit code 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ecslab.aws.cloudformation import CloudFormation, Stack, in_progress
from ecslab.aws.ecr import Ecr
from ecslab.core.errors import DeployFailed, Interrupted, NothingToDo
from ecslab.lab.deploy import delete_blocked
from ecslab.lab.stack_lock import stack_lock
from ecslab.lab.stack_wait import start_and_wait, wait_out

if TYPE_CHECKING:
    from ecslab.lab.context import Context


@dataclass
class Leftovers:
    deleted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Its DELETE_COMPLETE was seen by stack id; a read by name may still lag behind it.
    stack_gone: bool = False


def destroy_all(app: Context) -> None:
    """Ask, then delete stack and repository; NothingToDo when neither exists."""
    with stack_lock(app, app.config.names.stack, app.command_line("destroy")):
        _destroy_all(app)


def _destroy_all(app: Context) -> None:
    names = app.config.names
    cfn, ecr = app.aws.cloudformation, app.aws.ecr
    stack = cfn.describe(names.stack)
    repository_uri = ecr.repository_uri(names.repository)
    if stack is None and repository_uri is None:
        message = (
            f"nothing to destroy: no stack {names.stack}, no ECR repository {names.repository}"
        )
        app.ui.summary("ok", message, deleted=[])
        raise NothingToDo(message)
    _show_targets(app, stack, repository_uri)
    if not app.ui.confirm("Delete all of this, images included?"):
        raise Interrupted("not destroyed: you answered no, and nothing was deleted")
    result = Leftovers()
    if stack is not None:
        _delete_stack(app, cfn, stack, result)
    if repository_uri is not None:
        count = ecr.delete_all_images(names.repository)
        if ecr.delete_repository(names.repository):
            result.deleted.append(f"ECR repository {names.repository} ({count} image(s))")
    _check_nothing_left(app, cfn, ecr, result)
    app.ui.summary("ok", "destroyed: " + "; ".join(result.deleted), deleted=result.deleted)


def _show_targets(app: Context, stack: Stack | None, repository_uri: str | None) -> None:
    names = app.config.names
    rows = []
    if stack is not None:
        rows.append(("CloudFormation stack", stack.name, stack.status))
    if repository_uri is not None:
        rows.append(("ECR repository", names.repository, "with every image in it"))
    app.ui.table("To delete", ("What", "Name", "State"), rows)


def _delete_stack(app: Context, cfn: CloudFormation, stack: Stack, result: Leftovers) -> None:
    resume = app.command_line("destroy")
    if in_progress(stack.status):
        wait_out(app, cfn, stack, resume)
    final = start_and_wait(
        app, cfn, stack.stack_id, stack.name, resume, lambda: cfn.delete_stack(stack.stack_id)
    )
    if final is None or final.status == "DELETE_COMPLETE":
        result.deleted.append(f"stack {stack.name}")
        result.stack_gone = True
        return
    problem = delete_blocked(cfn, final)
    app.ui.warning(problem.message)
    result.problems.append(problem.message)


def _check_nothing_left(app: Context, cfn: CloudFormation, ecr: Ecr, result: Leftovers) -> None:
    names = app.config.names
    stack = None if result.stack_gone else cfn.describe(names.stack, fresh=True)
    if stack is not None and not result.problems:
        result.problems.append(f"stack {names.stack} is still there ({stack.status})")
    if ecr.repository_uri(names.repository) is not None:
        result.problems.append(f"ECR repository {names.repository} is still there")
    if result.problems:
        raise DeployFailed(
            "destroy left something behind: " + "; ".join(result.problems),
            f"fix what is named, then run `{app.command_line('destroy')}` again",
        )
