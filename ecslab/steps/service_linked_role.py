"""Lab step 2: the ECS service-linked role, created once per account.

ECS needs it to manage the service's network interfaces and load balancer targets. An
existing role is success, however AWS words it (see ecslab/aws/iam.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecslab.aws.iam import ECS_ROLE_NAME, ECS_SERVICE, Iam, PermissionMissing
from ecslab.steps.base import Check, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.app import App


def build(app: App) -> ServiceLinkedRole:
    return ServiceLinkedRole(app)


class ServiceLinkedRole:
    name = "service-linked-role"

    def __init__(self, app: App) -> None:
        self.app = app
        self.iam = Iam(app.aws)

    def check(self) -> Check:
        try:
            arn = self.iam.find_service_linked_role(ECS_SERVICE)
        except PermissionMissing as exc:
            # Creating tells us as well: "already exists" is success.
            self.app.ui.debug_log(f"{exc.message}; will try to create the role instead")
            return Check(False, "cannot list roles (no iam:ListRoles); trying to create it")
        if arn is None:
            return Check(False, f"no service-linked role for {ECS_SERVICE} yet")
        return Check(True, f"the ECS service-linked role exists ({arn})")

    def plan(self) -> list[str]:
        return [f"create the IAM service-linked role {ECS_ROLE_NAME} for {ECS_SERVICE}"]

    def run(self) -> StepResult:
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
