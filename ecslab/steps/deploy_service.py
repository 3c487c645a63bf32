"""Lab steps 7-12: update the stack to the full template, running the pushed image.

Cluster, roles, log group, task definition, service, load balancer and autoscaling come
with the full template. The image is deployed by digest (immutable, whatever later happens
to its tag); sizes, database and network come from ecslab/stack_inputs.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.deploy import DesiredStack, compare, deploy, plan_lines
from ecslab.stack_inputs import (
    require_image,
    resolve_image,
    resolve_network,
    service_values,
    stack_tags,
    template_parameters,
)
from ecslab.steps.base import Check, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.app import App

PENDING_IMAGE = "@<the digest push-image pushes>"


def build(app: App) -> DeployService:
    return DeployService(app)


class DeployService:
    name = "deploy-service"

    def __init__(self, app: App) -> None:
        self.app = app

    def desired(self, image_reference: str) -> DesiredStack:
        from ecslab.template import load_template

        template = load_template(self.app.template_path())
        values = service_values(self.app, image_reference, resolve_network(self.app))
        return DesiredStack(
            name=self.app.config.names.stack,
            template=template,
            parameters=template_parameters(template, values),
            tags=stack_tags(self.app),
            label="full template",
            resume="ecslab step deploy-service",
        )

    def validate(self) -> None:
        """Inputs only, no AWS call: the template loads, the database inputs are there."""
        from ecslab.stack_inputs import Network
        from ecslab.template import load_template

        template = load_template(self.app.template_path())
        placeholder = Network("vpc-00000000", ("subnet-00000000", "subnet-00000001"), "")
        template_parameters(template, service_values(self.app, "image", placeholder))

    def check(self) -> Check:
        image = resolve_image(self.app)
        if image is None:
            return Check(False, "no image in ECR yet (push-image pushes it)")
        desired = self.desired(image.reference)
        comparison = compare(self.app, desired)
        if comparison.up_to_date:
            return Check(True, f"stack {desired.name} is up to date, running image {image.tag}")
        if comparison.stack is None:
            return Check(False, f"stack {desired.name} does not exist")
        first = comparison.differences[0] if comparison.differences else comparison.stack.status
        return Check(False, f"stack {desired.name} differs: {first}")

    def plan(self) -> list[str]:
        image = resolve_image(self.app)
        reference = image.reference if image else self.app.config.names.repository + PENDING_IMAGE
        return plan_lines(self.app, self.desired(reference))

    def run(self) -> StepResult:
        image = require_image(self.app)
        desired = self.desired(image.reference)
        self.app.ui.info(f"deploying image {image.tag} ({image.source}): {image.reference}")
        result = deploy(self.app, desired)
        data = {
            "stack": desired.name,
            "stack_status": result.stack.status,
            "image": image.reference,
            "load_balancer_url": result.stack.outputs.get("LoadBalancerUrl", ""),
        }
        if result.outcome == "up-to-date":
            return StepResult(Outcome.ALREADY_DONE, f"up to date: stack {desired.name}", data)
        return StepResult(
            Outcome.DONE,
            f"stack {desired.name} {result.outcome} with image {image.tag}",
            data,
        )
