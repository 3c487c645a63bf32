"""Lab step 2: the ECS service-linked role, created once per account.

ECS needs it to manage the service's network interfaces and load balancer targets. An
existing role is success, however AWS words it (see ecslab/aws/iam.py). When the lab's
stack already runs its ECS cluster, the role exists without asking IAM: AWS refuses to
delete the ECS service-linked role while any ECS cluster remains, and the stack's read is
one the next steps need anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.aws.cloudformation import UPDATABLE_STATES
from ecslab.aws.iam import ECS_ROLE_NAME, ECS_SERVICE, PermissionMissing
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.lab.context import Context


def build(app: Context) -> ServiceLinkedRole:
    return ServiceLinkedRole(app)


class ServiceLinkedRole:
    name = "service-linked-role"

    def __init__(self, app: Context) -> None:
        self.app = app
        self.iam = app.aws.iam

    def validate(self) -> None:
        """Nothing to validate: the step has no inputs."""

    def assess(self) -> Assessment:
        stack = self.app.aws.cloudformation.describe(self.app.config.names.stack)
        if (
            stack is not None
            and stack.status in UPDATABLE_STATES
            and "ClusterName" in stack.outputs
        ):
            return Assessment(
                True, f"stack {stack.name} runs an ECS cluster, which needs the role (it exists)"
            )
        try:
            arn = self.iam.find_service_linked_role(ECS_SERVICE)
        except PermissionMissing as exc:
            # Creating tells us as well: "already exists" is success.
            self.app.ui.debug_log(f"{exc.message}; will try to create the role instead")
            return self._to_create("cannot list roles (no iam:ListRoles); trying to create it")
        if arn is None:
            return self._to_create(f"no service-linked role for {ECS_SERVICE} yet")
        return Assessment(True, f"the ECS service-linked role exists ({arn})")

    def _to_create(self, reason: str) -> Assessment:
        change = f"create the IAM service-linked role {ECS_ROLE_NAME} for {ECS_SERVICE}"
        return Assessment(False, reason, (change,))

    def run(self, assessment: Assessment) -> StepResult:
        if self.iam.create_service_linked_role(ECS_SERVICE):
            return StepResult(
                Outcome.DONE,
                f"created the service-linked role {ECS_ROLE_NAME}",
                {"role": ECS_ROLE_NAME},
            )
        return StepResult(
            Outcome.ALREADY_DONE,
            f"already done: the service-linked role {ECS_ROLE_NAME} exists",
            {"role": ECS_ROLE_NAME},
        )
