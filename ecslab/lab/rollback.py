"""`ecslab rollback`: the service back on the image it ran before, through the stack.

"The previous image" comes first from the stack itself: the deploy engine records the
images it deploys, newest first, in the deployed template's Metadata (lab/deploy.py), and
the previous one is the newest that differs from the image the stack runs now. Only a
stack deployed before that record existed falls back on ECS: the revisions of the task
family, newest first (ListTaskDefinitions, every page), and the image of the newest
revision whose image differs. (Emulators that change a task definition in place keep one revision
only; the stack's record works there too.) The change is a stack update of the image
parameter (DockerImageTag), previewed and confirmed like every deploy, so CloudFormation
holds the rolled-back image and no later stack update undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from ecslab.aws.cloudformation import UPDATABLE_STATES, Stack
from ecslab.core.errors import NothingToDo, UsageError
from ecslab.lab.context import Context
from ecslab.lab.deploy import deploy
from ecslab.lab.image_history import stored_history
from ecslab.lab.stack_inputs import full_stack

IMAGE_PARAMETER = "DockerImageTag"
MAX_REVISIONS = 50  # how far back to look: each revision is one DescribeTaskDefinition


@dataclass(frozen=True)
class Target:
    image: str
    source: str  # where it comes from: "revision family:N", "--to"


def deployed_stack(app: Context) -> Stack:
    """The lab's stack, settled and updatable; a UsageError naming what to do otherwise."""
    name = app.config.names.stack
    stack = app.aws.cloudformation.describe(name)
    if stack is None or IMAGE_PARAMETER not in stack.parameters:
        raise UsageError(f"stack {name} does not run the service yet", "run `ecslab run-all`")
    if stack.status not in UPDATABLE_STATES:
        raise UsageError(
            f"stack {name} is {stack.status} and takes no update now",
            "wait for it to settle (`ecslab status`), then try again",
        )
    return stack


def find_previous(app: Context, stack: Stack, current: str) -> Target | None:
    """The newest image before `current`: from the stack's record when it has one (only
    from it: after a failed update that CloudFormation rolled back, the newest revisions
    may run the very image that failed), else from the task definition revisions."""
    history = stored_history(app.aws.cloudformation.template(stack.stack_id))
    if not history:
        return previous_image(app, current)
    for image in history:
        if image != current:
            return Target(image, "the stack's record of deployed images")
    return None


def previous_image(app: Context, current: str) -> Target | None:
    """The image of the newest task definition revision that differs from `current`."""
    ecs = app.aws.ecs
    family = app.config.names.task_family
    container = app.config.names.container
    for arn in ecs.task_definition_arns(family)[:MAX_REVISIONS]:
        definition = ecs.task_definition(arn)
        if definition is None:
            continue
        named = [c for c in definition.containers if c.name == container]
        image = (named or list(definition.containers))[0].image if definition.containers else ""
        if image and image != current:
            return Target(image, f"task definition {definition.family}:{definition.revision}")
    return None


def chosen_image(app: Context, wanted: str) -> Target:
    """`--to`: a full image reference, a digest (sha256:...) or a tag in the repository."""
    if "/" in wanted:
        return Target(wanted, "--to")
    names = app.config.names
    uri = app.aws.ecr.repository_uri(names.repository)
    if uri is None:
        raise UsageError(f"ECR repository {names.repository} does not exist")
    if wanted.startswith("sha256:"):
        return Target(f"{uri}@{wanted}", "--to")
    found = app.aws.ecr.find_image(names.repository, wanted)
    if found is None:
        raise UsageError(
            f"image tag {wanted} is not in ECR repository {names.repository}",
            f"list the tags with `aws ecr list-images --repository-name {names.repository}`",
        )
    return Target(f"{uri}@{found.digest}", f"--to {wanted}")


def rollback(app: Context, to: str | None) -> str:
    """Deploy the previous (or the `--to`) image through the stack; the image deployed."""
    stack = deployed_stack(app)
    current = stack.parameters[IMAGE_PARAMETER]
    if to:
        target: Target | None = chosen_image(app, to)
    else:
        target = find_previous(app, stack, current)
    if target is None:
        _nothing(
            app,
            f"nothing to roll back to: no image other than the current one ({current}) in "
            f"the stack's record of deployed images (or, without one, in the revisions of "
            f"task family {app.config.names.task_family})",
        )
    if target.image == current:
        _nothing(app, f"nothing to roll back: the stack already runs {current}")
    app.ui.info(
        f"rolling back stack {stack.name} from {current} to {target.image} ({target.source})",
        current=current,
        target=target.image,
    )
    resume = app.command_line("rollback" + (f" --to {to}" if to else ""))
    desired = full_stack(app, stack, target.image, {}, resume)
    result = deploy(app, desired)
    return result.stack.parameters.get(IMAGE_PARAMETER, target.image)


def _nothing(app: Context, message: str) -> NoReturn:
    """NothingToDo (exit 3) is not printed at the top: say it here."""
    app.ui.summary("nothing-to-do", message)
    raise NothingToDo(message)
