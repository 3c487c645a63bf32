"""Where moto 5.2 differs from AWS in ways the lab notices, patches that make it agree.

- ExecuteChangeSet leaves a stack's Outputs as they were before (none for a new stack), so
  steps that read outputs (push-image, verify) would see no repository or load balancer.
  The sandbox's moto server and the tests' in-process one both apply this patch.
- A target group keys its targets by Id alone; AWS by Id and port. The sandbox's tasks
  share 127.0.0.1 on different ports, so only the sandbox's moto server applies
  `target_group_methods_by_id_and_port` (its moto has no EC2 instances as targets).
"""

from __future__ import annotations

from typing import Any


def moto_execute_change_set_with_outputs() -> Any:
    """moto's ExecuteChangeSet, wrapped to recompute the stack's outputs afterwards."""
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.execute_change_set

    def execute(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            c for c in self.change_sets.values() if c.change_set_name == change_set_name
        )
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    return execute


def target_group_methods_by_id_and_port() -> dict[str, Any]:
    """register, deregister and health_for of moto's FakeTargetGroup, keyed as AWS keys."""
    from moto.elbv2.exceptions import InvalidTargetError
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    original_health = FakeTargetGroup.health_for

    def key(group: Any, target: dict[str, Any]) -> str:
        return f"{target['Id']}:{target.get('Port', group.port)}"

    def register(self: Any, targets: list[dict[str, Any]]) -> None:
        for target in targets:
            self.targets[key(self, target)] = {
                "Id": target["Id"],
                "Port": target.get("Port", self.port),
            }
            self.deregistered_targets.pop(key(self, target), None)

    def deregister(self: Any, targets: list[dict[str, Any]]) -> None:
        for target in targets:
            found = self.targets.pop(key(self, target), None)
            if not found:
                raise InvalidTargetError()
            self.deregistered_targets[key(self, target)] = found

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        found = self.targets.get(key(self, target))
        if found is None:
            return original_health(self, target, ec2_backend)
        return FakeHealthStatus(found["Id"], found["Port"], self.health_check_port, "healthy")

    return {"register": register, "deregister": deregister, "health_for": health_for}


def apply_sandbox_patches() -> None:
    """Every patch, for the rest of this process (the sandbox's moto server)."""
    from moto.elbv2.models import FakeTargetGroup

    apply_change_set_outputs_patch()
    for name, method in target_group_methods_by_id_and_port().items():
        setattr(FakeTargetGroup, name, method)


def apply_change_set_outputs_patch() -> None:
    """Patch moto's class for the rest of this process (the sandbox's moto server)."""
    from moto.cloudformation.models import CloudFormationBackend

    CloudFormationBackend.execute_change_set = moto_execute_change_set_with_outputs()  # type: ignore[method-assign]
