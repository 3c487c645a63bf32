"""Where moto 5.2 differs from AWS in ways the lab notices, patches that make it agree.

- ExecuteChangeSet leaves a stack's Outputs as they were before (none for a new stack), so
  steps that read outputs (push-image, verify) would see no repository or load balancer.
  The sandbox's moto server and the tests' in-process one both apply this patch.
- An update replaces a resource (a task definition whose image parameter changed gets a
  new revision) but leaves the resources that refer to it alone, so the ECS service kept
  running the old revision. AWS updates those dependents; `resource_map_update_with_
  dependents` does too, until nothing more changes.
- moto cannot update a target group at all: an update drops it from the stack. AWS
  replaces it when its port, protocol, VPC or target type change (a new container port),
  which `target_group_update_by_replacement` does.
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


MAX_DEPENDENT_ROUNDS = 10  # a template's reference chains are far shorter


def resource_map_update_with_dependents() -> Any:
    """moto's ResourceMap.update, then an update of every resource that refers (Ref or
    GetAtt) to a resource whose physical id the update changed, repeated to a fixpoint."""
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.update

    def update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        before = _physical_ids(self)
        original(self, template, parameters)
        changed = {name for name, pid in _physical_ids(self).items() if before.get(name) != pid}
        for _ in range(MAX_DEPENDENT_ROUNDS):
            dependents = [
                name
                for name, body in self._resource_json_map.items()
                # only resources the stack has: one whose Condition is false was never made
                if name not in changed
                and name in self._parsed_resources
                and _refers_to(body, changed)
            ]
            if not dependents:
                return
            before = _physical_ids(self)
            for name in dependents:
                _update_one(self, name)
            changed = {n for n, pid in _physical_ids(self).items() if before.get(n) != pid}

    return update


def _physical_ids(resource_map: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name, resource in resource_map._parsed_resources.items():
        try:
            pid = getattr(resource, "physical_resource_id", None)
        except Exception:  # some moto models compute it from state they may not have
            continue
        if isinstance(pid, str):
            ids[name] = pid
    return ids


def _refers_to(body: Any, names: set[str]) -> bool:
    from moto.cloudformation.parsing import get_references_from_template

    refs = set(get_references_from_template(body)) | _get_att_targets(body)
    return bool(refs & names)


def _get_att_targets(body: Any) -> set[str]:
    if isinstance(body, dict):
        found = set()
        for key, value in body.items():
            if key == "Fn::GetAtt" and isinstance(value, list) and value:
                found.add(str(value[0]))
            else:
                found |= _get_att_targets(value)
        return found
    if isinstance(body, list):
        return set().union(*(_get_att_targets(item) for item in body)) if body else set()
    return set()


def _update_one(resource_map: Any, name: str) -> None:
    from moto.cloudformation.parsing import parse_and_update_resource

    resource = parse_and_update_resource(
        name,
        resource_map._resource_json_map[name],
        resource_map,
        account_id=resource_map._account_id,
        region_name=resource_map._region_name,
    )
    if resource is not None:
        resource_map._parsed_resources[name] = resource


def task_definition_update_like_create() -> Any:
    """TaskDefinition.update_from_cloudformation_json: a new revision built as create does
    (PascalCase keys converted), when the family, containers or volumes changed."""
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs.models import TaskDefinition, ecs_backends

    def update(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        wanted = (
            properties.get("Family", original_resource.family),
            remap_nested_keys(properties.get("ContainerDefinitions", []), pascal_to_camelcase),
            remap_nested_keys(properties.get("Volumes", []), pascal_to_camelcase),
        )
        if wanted == (
            original_resource.family,
            original_resource.container_definitions,
            original_resource.volumes,
        ):
            return original_resource
        ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return TaskDefinition.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    return classmethod(update)


# Properties whose change makes CloudFormation replace a target group (the rest are
# health-check settings, updated in place; the sandbox's balancer does not read them).
TARGET_GROUP_REPLACING = ("Name", "Port", "Protocol", "ProtocolVersion", "TargetType", "VpcId")


def target_group_update_by_replacement() -> Any:
    """FakeTargetGroup.update_from_cloudformation_json: a new group when a replacing
    property changed (the old one is deleted, as CloudFormation's cleanup does once the
    listener and service have moved), else the group as it is."""
    from moto.elbv2.models import FakeTargetGroup, elbv2_backends

    def update(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        current = {
            "Name": original_resource.name,
            "Port": original_resource.port,
            "Protocol": original_resource.protocol,
            "ProtocolVersion": original_resource.protocol_version,
            "TargetType": getattr(original_resource, "target_type", None),
            "VpcId": original_resource.vpc_id,
        }
        if all(
            key not in properties or str(properties[key]) == str(current[key])
            for key in TARGET_GROUP_REPLACING
        ):
            return original_resource
        replacement = FakeTargetGroup.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        elbv2_backends[account_id][region_name].target_groups.pop(original_resource.arn, None)
        return replacement

    return classmethod(update)


def apply_sandbox_patches() -> None:
    """Every patch, for the rest of this process (the sandbox's moto server)."""
    from moto.cloudformation.parsing import ResourceMap
    from moto.ecs.models import TaskDefinition
    from moto.elbv2.models import FakeTargetGroup

    apply_change_set_outputs_patch()
    ResourceMap.update = resource_map_update_with_dependents()  # type: ignore[method-assign]
    TaskDefinition.update_from_cloudformation_json = task_definition_update_like_create()  # type: ignore[method-assign]
    FakeTargetGroup.update_from_cloudformation_json = target_group_update_by_replacement()  # type: ignore[method-assign]
    for name, method in target_group_methods_by_id_and_port().items():
        setattr(FakeTargetGroup, name, method)


def apply_change_set_outputs_patch() -> None:
    """Patch moto's class for the rest of this process (the sandbox's moto server)."""
    from moto.cloudformation.models import CloudFormationBackend

    CloudFormationBackend.execute_change_set = moto_execute_change_set_with_outputs()  # type: ignore[method-assign]
