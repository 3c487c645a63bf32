"""Lab steps 7-12: update the stack to the full template, running the pushed image.

Cluster, roles, log group, task definition, service, load balancer and autoscaling come
with the full template. The image is deployed by digest (immutable, whatever later happens
to its tag); sizes, database and network come from ecslab/lab/stack_inputs.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecslab.lab.db_access import db_access
from ecslab.lab.deploy import Comparison, DesiredStack, compare, deploy, plan_lines
from ecslab.lab.stack_inputs import (
    Image,
    Network,
    kept_scaling,
    require_image,
    resolve_image,
    resolve_network,
    service_values,
    stack_tags,
    template_parameters,
)
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.aws.cloudformation import Stack
    from ecslab.lab.context import Context

PENDING_IMAGE = "@<the digest push-image pushes>"


def build(app: Context) -> DeployService:
    return DeployService(app)


@dataclass(frozen=True)
class Reading:
    """What deploy-service read: the image to deploy and the stack next to the wanted one."""

    image: Image | None
    desired: DesiredStack
    comparison: Comparison


class DeployService:
    name = "deploy-service"

    def __init__(self, app: Context) -> None:
        self.app = app

    def desired(
        self, image_reference: str, network: Network, stack: Stack | None = None
    ) -> DesiredStack:
        from ecslab.lab.template import lab_template

        template = lab_template(self.app)
        values = service_values(self.app, image_reference, network)
        values.update(kept_scaling(stack))  # what `ecslab scale` set stays set
        return DesiredStack(
            name=self.app.config.names.stack,
            template=template,
            parameters=template_parameters(template, values),
            tags=stack_tags(self.app),
            label="full template",
            resume=self.app.command_line("step deploy-service"),
        )

    def validate(self) -> None:
        """Inputs only, no AWS call: the template loads, the database inputs are there."""
        placeholder = Network("vpc-00000000", ("subnet-00000000", "subnet-00000001"), "")
        self.desired("image", placeholder)

    def assess(self) -> Assessment:
        app = self.app
        image = resolve_image(app)
        reference = image.reference if image else app.config.names.repository + PENDING_IMAGE
        stack = app.aws.cloudformation.describe(app.config.names.stack)
        desired = self.desired(reference, resolve_network(app, stack), stack)
        comparison = compare(app, desired)
        reading = Reading(image, desired, comparison)
        if image is None:
            reason = "no image in ECR yet (push-image pushes it)"
            return Assessment(False, reason, tuple(plan_lines(app, desired, comparison)), reading)
        if comparison.up_to_date:
            reason = f"stack {desired.name} is up to date, running image {image.tag}"
            return Assessment(True, reason, (), reading)
        if comparison.stack is None:
            reason = f"stack {desired.name} does not exist"
        else:
            first = comparison.differences[0] if comparison.differences else comparison.stack.status
            reason = f"stack {desired.name} differs: {first}"
        return Assessment(False, reason, tuple(plan_lines(app, desired, comparison)), reading)

    def run(self, assessment: Assessment) -> StepResult:
        reading: Reading = assessment.facts
        image = reading.image or require_image(self.app)
        desired = reading.desired
        if reading.image is None:
            stack = self.app.aws.cloudformation.describe(desired.name)
            desired = self.desired(image.reference, resolve_network(self.app, stack), stack)
        self.app.ui.info(f"deploying image {image.tag} ({image.source}): {image.reference}")
        result = deploy(self.app, desired)
        data = {
            "stack": desired.name,
            "stack_status": result.stack.status,
            "image": image.reference,
            "load_balancer_url": result.stack.outputs.get("LoadBalancerUrl", ""),
            **self._database_access(result.stack),
        }
        if result.outcome == "up-to-date":
            return StepResult(Outcome.ALREADY_DONE, f"up to date: stack {desired.name}", data)
        return StepResult(
            Outcome.DONE,
            f"stack {desired.name} {result.outcome} with image {image.tag}",
            data,
        )

    def _database_access(self, stack: Stack) -> dict[str, object]:
        """Say whether the database admits the tasks, and the command when it does not."""
        access = db_access(self.app, stack)
        if access is None:
            return {}
        if access.open:
            self.app.ui.info(access.advice())
        else:
            self.app.ui.warning(access.advice())
        return {
            "task_security_group": access.task_group,
            "database_open_to_tasks": access.open,
            "database_access_commands": [] if access.open else access.commands(),
        }
