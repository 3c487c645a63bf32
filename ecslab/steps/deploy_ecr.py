"""Lab steps 3-5: deploy the stack with only the ECR repository (the phase-1 template).

The repository must exist before an image can be pushed, and the service cannot be created
before an image exists; so the first deploy is the template's repository alone. Once
deploy-service has deployed the full template, the repository is part of it and this step
is done: it never shrinks a full stack back to phase 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.aws.cloudformation import UPDATABLE_STATES
from ecslab.core.errors import UsageError
from ecslab.lab.deploy import Comparison, DesiredStack, compare, deploy, plan_lines, settle
from ecslab.lab.stack_inputs import stack_tags, template_parameters
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.lab.context import Context

REPOSITORY = "EcrRepository"


def build(app: Context) -> DeployEcr:
    return DeployEcr(app)


class DeployEcr:
    name = "deploy-ecr"

    def __init__(self, app: Context) -> None:
        self.app = app
        self._desired: DesiredStack | None = None

    def desired(self) -> DesiredStack:
        if self._desired is None:
            from ecslab.lab.template import lab_template, phase1_template

            template = phase1_template(lab_template(self.app))
            names = self.app.config.names
            values = {"ProjectName": names.project, "Environment": names.environment}
            self._desired = DesiredStack(
                name=names.stack,
                template=template,
                parameters=template_parameters(template, values),
                tags=stack_tags(self.app),
                label="phase 1: the ECR repository",
                resume=self.app.command_line("step deploy-ecr"),
            )
        return self._desired

    def validate(self) -> None:
        """Inputs only, no AWS call: the template loads and phase 1 derives from it."""
        self.desired()

    def assess(self) -> Assessment:
        desired = self.desired()
        comparison = compare(self.app, desired)
        done, reason = _judge(comparison, desired)
        changes = () if done else tuple(plan_lines(self.app, desired, comparison))
        return Assessment(done, reason, changes, comparison)

    def run(self, assessment: Assessment) -> StepResult:
        desired = self.desired()
        # A stack busy with (or failed in) a full deploy settles first; then it may turn out
        # to be past phase 1 already, and must not be shrunk back to it.
        stack = settle(self.app, self.app.aws.cloudformation, desired)
        comparison: Comparison = assessment.facts
        done, reason = assessment.done, assessment.reason
        if stack != comparison.stack:  # settling changed the stack: judge it again
            done, reason = _judge(compare(self.app, desired), desired)
        if done:
            return StepResult(Outcome.ALREADY_DONE, f"already done: {reason}")
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


def _judge(comparison: Comparison, desired: DesiredStack) -> tuple[bool, str]:
    """Whether phase 1 is done on this reading of the stack, and why."""
    if comparison.up_to_date:
        return True, f"stack {desired.name} has the ECR repository, up to date"
    if _full_stack_with_repository(comparison, desired):
        return True, (
            f"stack {desired.name} is past phase 1 and holds the ECR repository "
            "(deploy-service keeps it up to date)"
        )
    if comparison.stack is None:
        return False, f"stack {desired.name} does not exist"
    return False, f"stack {desired.name} is {comparison.stack.status} and differs"


def refuse_orphaned_repository(app: Context) -> None:
    """A new stack cannot create a repository that already exists outside any stack.

    That happens when the stack was deleted without `ecslab destroy`: the repository is
    retained (DeletionPolicy Retain). CloudFormation would fail the create, roll back, and
    fail again on every retry; so say it before changing anything.
    """

    names = app.config.names
    if app.aws.ecr.repository_uri(names.repository) is None:
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
