"""Lab steps 3-5: deploy the stack with only the ECR repository (the phase-1 template).

The repository must exist before an image can be pushed, and the service cannot be created
before an image exists; so the first deploy is the template's repository alone. Once
deploy-service has deployed the full template, the repository is part of it and this step
is done: it never shrinks a full stack back to phase 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.aws.cloudformation import UPDATABLE_STATES, CloudFormation
from ecslab.deploy import Comparison, DesiredStack, compare, deploy, plan_lines, settle
from ecslab.errors import UsageError
from ecslab.stack_inputs import stack_tags, template_parameters
from ecslab.steps.base import Check, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.app import App

REPOSITORY = "EcrRepository"


def build(app: App) -> DeployEcr:
    return DeployEcr(app)


class DeployEcr:
    name = "deploy-ecr"

    def __init__(self, app: App) -> None:
        self.app = app
        self._desired: DesiredStack | None = None

    def desired(self) -> DesiredStack:
        if self._desired is None:
            from ecslab.template import load_template, phase1_template

            template = phase1_template(load_template(self.app.template_path()))
            names = self.app.config.names
            values = {"ProjectName": names.project, "Environment": names.environment}
            self._desired = DesiredStack(
                name=names.stack,
                template=template,
                parameters=template_parameters(template, values),
                tags=stack_tags(self.app),
                label="phase 1: the ECR repository",
                resume="ecslab step deploy-ecr",
            )
        return self._desired

    def validate(self) -> None:
        """Inputs only, no AWS call: the template loads and phase 1 derives from it."""
        self.desired()

    def check(self) -> Check:
        desired = self.desired()
        comparison = compare(self.app, desired)
        if comparison.up_to_date:
            return Check(True, f"stack {desired.name} has the ECR repository, up to date")
        if _full_stack_with_repository(comparison, desired):
            return Check(
                True,
                f"stack {desired.name} is past phase 1 and holds the ECR repository "
                "(deploy-service keeps it up to date)",
            )
        if comparison.stack is None:
            return Check(False, f"stack {desired.name} does not exist")
        return Check(False, f"stack {desired.name} is {comparison.stack.status} and differs")

    def plan(self) -> list[str]:
        return plan_lines(self.app, self.desired())

    def run(self) -> StepResult:
        desired = self.desired()
        # A stack busy with (or failed in) a full deploy settles first; then it may turn out
        # to be past phase 1 already, and must not be shrunk back to it.
        stack = settle(self.app, CloudFormation(self.app.aws), desired)
        check = self.check()
        if check.done:
            return StepResult(Outcome.ALREADY_DONE, f"already done: {check.reason}")
        if stack is None:
            refuse_orphaned_repository(self.app)
        result = deploy(self.app, desired)
        data = {"stack": desired.name, "stack_status": result.stack.status}
        if result.outcome == "up-to-date":
            return StepResult(Outcome.ALREADY_DONE, f"up to date: stack {desired.name}", data)
        repository = self.app.config.names.repository
        return StepResult(
            Outcome.DONE, f"stack {desired.name} {result.outcome}: repository {repository}", data
        )


def refuse_orphaned_repository(app: App) -> None:
    """A new stack cannot create a repository that already exists outside any stack.

    That happens when the stack was deleted without `ecslab destroy`: the repository is
    retained (DeletionPolicy Retain). CloudFormation would fail the create, roll back, and
    fail again on every retry; so say it before changing anything.
    """
    from ecslab.aws.ecr import Ecr

    names = app.config.names
    if Ecr(app.aws).repository_uri(names.repository) is None:
        return
    raise UsageError(
        f"the ECR repository {names.repository} already exists but stack {names.stack} "
        "does not, so CloudFormation cannot create it (it was kept when an earlier stack "
        "was deleted: DeletionPolicy Retain)",
        f"keep its images: `aws ecr describe-images --repository-name {names.repository}`, "
        "then delete it with `ecslab destroy` (repository and images) and run again; or "
        "import it into a stack with a CloudFormation IMPORT change set",
    )


def _full_stack_with_repository(comparison: Comparison, desired: DesiredStack) -> bool:
    """The stack went past phase 1 (deploy-service ran) and holds the repository.

    Then phase 1 must never be deployed again: it would delete the service. A change to
    the repository's definition reaches AWS with deploy-service's full template.
    """
    if comparison.stack is None or comparison.deployed is None:
        return False
    if comparison.stack.status not in UPDATABLE_STATES:
        return False
    deployed = comparison.deployed.get("Resources", {})
    extra = set(deployed) - set(desired.template["Resources"])
    return REPOSITORY in deployed and bool(extra)
