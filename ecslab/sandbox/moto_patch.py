"""Where moto 5.2 differs from AWS in ways the lab notices: the fixes that make it agree.

Each fix is a function that adds its patches to a `moto_seam.PatchSet`; `build_fixes`
adds them all, in the order they stack, and `install_fixes` puts them in for the rest of
the process, once. The sandbox's moto server (`python -m ecslab.sandbox serve-moto`)
installs the fixes before it starts the emulator areas, whose patches then wrap the fixed
methods (the areas' wrappers call the fix, which calls moto). The tests' in-process moto
stays plain: a test installs the fixes it needs through `moto_seam.install` and undoes
them.

- `change_set_outputs`: ExecuteChangeSet leaves a stack's Outputs as they were before
  (none for a new stack), so steps that read outputs (push-image, verify) would see no
  repository or load balancer.
- `dependents_follow`: an update replaces a resource (a task definition whose image
  parameter changed gets a new revision) but leaves the resources that refer to it
  alone, so the ECS service kept running the old revision. AWS updates those dependents;
  the fix does too, until nothing more changes. Task definitions are updated as created.
- `target_group_replacement`: moto cannot update a target group at all (an update drops
  it from the stack). AWS replaces it when its port, protocol, VPC or target type change.
- `targets_by_id_and_port`: a target group keys its targets by Id alone; AWS by Id and
  port. The sandbox's tasks share 127.0.0.1 on different ports. The fix wraps moto's own
  register, deregister and health_for, so moto's checks (a stopped EC2 instance, an
  unknown target) still apply; moto's cleanup of terminated EC2 instances still looks
  targets up by Id (the sandbox has no EC2 instances).
- `role_policy_documents`: a role's inline policies from a template (`Policies:`) are kept
  as dicts, and GetRolePolicy answers their Python repr, not JSON, so no client can read
  them (`ecslab doctor` reads the execution role's). The fix keeps them as JSON text, as
  PutRolePolicy does.
"""

from __future__ import annotations

import copy
from typing import Any

from ecslab.core.template_refs import references
from ecslab.sandbox import moto_seam
from ecslab.sandbox.moto_seam import PatchSet

FIXES = "moto-fixes"
MAX_DEPENDENT_ROUNDS = 10  # a template's reference chains are far shorter
CFN_UPDATE = ("original_resource", "new_resource_name", "cloudformation_json")
CFN_UPDATE_PARAMS = (*CFN_UPDATE, "account_id", "region_name")


def install_fixes() -> None:
    """Every fix, for the rest of this process (the sandbox's moto server), once."""
    moto_seam.once(FIXES, build_fixes)


def build_fixes(patches: PatchSet) -> None:
    """Every fix, in the order the sandbox stacks them (the areas' patches go on top)."""
    change_set_outputs(patches)
    unmade_resources_are_added(patches)
    dependents_follow(patches)
    target_group_replacement(patches)
    targets_by_id_and_port(patches)
    role_policy_documents(patches)


# -- ExecuteChangeSet's outputs ---------------------------------------------------------------


def change_set_outputs(patches: PatchSet) -> None:
    from moto.cloudformation.models import CloudFormationBackend, Stack

    moto_seam.require(Stack, "_parse_template", "_create_output_map")

    patches.replace(
        CloudFormationBackend,
        "execute_change_set",
        _execute_with_outputs,
        params=("self", "change_set_name", "stack_name"),
        why="ExecuteChangeSet leaves the stack's Outputs as before (none for a new stack); "
        "push-image and verify read them",
        moto_bug="ExecuteChangeSet does not recompute the stack's Outputs",
    )


def _execute_with_outputs(original: Any) -> Any:
    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            c for c in self.change_sets.values() if c.change_set_name == change_set_name
        )
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    return execute_change_set


# -- resources a false Condition never made --------------------------------------------------


def unmade_resources_are_added(patches: PatchSet) -> None:
    from moto.cloudformation.parsing import ResourceMap

    patches.replace(
        ResourceMap,
        "build_resource_diff",
        _diff_adds_unmade,
        params=("self", "other_template", "parameters"),
        why="a resource whose Condition was false was never made: a change to it is made "
        "(if its Condition is now true) or skipped, as CloudFormation does",
        moto_bug="an update that changes a resource a false Condition never made fails "
        "(its update gets no original resource)",
    )


def _diff_adds_unmade(original: Any) -> Any:
    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: Any = None
    ) -> dict[str, Any]:
        diff: dict[str, Any] = original(self, other_template, parameters)
        unmade = [n for n in diff["Modify"] if n not in self._parsed_resources]
        diff["Modify"] = [n for n in diff["Modify"] if n in self._parsed_resources]
        diff["Add"] = [*diff["Add"], *(n for n in unmade if n not in diff["Add"])]
        return diff

    return build_resource_diff


# -- dependents of a replaced resource ---------------------------------------------------------


def dependents_follow(patches: PatchSet) -> None:
    from moto.cloudformation import parsing
    from moto.cloudformation.parsing import ResourceMap
    from moto.ecs.models import TaskDefinition

    moto_seam.require(parsing, "parse_and_update_resource")

    patches.replace(
        ResourceMap,
        "update",
        _update_with_dependents,
        params=("self", "template", "parameters"),
        why="an update leaves the resources that refer to a replaced one alone (the service "
        "kept the old task definition revision); AWS updates them",
        moto_bug="a stack update does not update the dependents of a replaced resource",
    )
    patches.replace(
        TaskDefinition,
        "update_from_cloudformation_json",
        _task_definition_update,
        params=CFN_UPDATE_PARAMS,
        why="an updated AWS::ECS::TaskDefinition is a new revision built as create builds "
        "it (PascalCase keys converted), and only when its content changed",
        moto_bug="a TaskDefinition updated by CloudFormation keeps the template's PascalCase keys "
        "and loses every property but its containers, volumes and memory",
    )


def _update_with_dependents(original: Any) -> Any:
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
                and references(body) & changed
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


def _task_definition_update(original: Any) -> Any:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs.models import TaskDefinition, ecs_backends

    def update_from_cloudformation_json(
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

    return classmethod(update_from_cloudformation_json)


# -- target groups ---------------------------------------------------------------------------

# Properties whose change makes CloudFormation replace a target group (the rest are
# health-check settings, updated in place; the sandbox's balancer does not read them).
TARGET_GROUP_REPLACING = ("Name", "Port", "Protocol", "ProtocolVersion", "TargetType", "VpcId")


def target_group_replacement(patches: PatchSet) -> None:
    from moto.elbv2.models import FakeTargetGroup

    patches.replace(
        FakeTargetGroup,
        "update_from_cloudformation_json",
        _target_group_update,
        params=CFN_UPDATE_PARAMS,
        why="a new port, protocol, VPC or target type replaces the target group (the old "
        "one is deleted, as CloudFormation's cleanup does); other changes keep it",
        moto_bug="an updated AWS::ElasticLoadBalancingV2::TargetGroup is dropped",
    )


def _target_group_update(original: Any) -> Any:
    from moto.elbv2.models import FakeTargetGroup, elbv2_backends

    def update_from_cloudformation_json(
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

    return classmethod(update_from_cloudformation_json)


def targets_by_id_and_port(patches: PatchSet) -> None:
    from moto.elbv2.models import FakeTargetGroup

    bug = "a target group keys its targets by Id alone, AWS by Id and port"
    why = "the sandbox's tasks are targets 127.0.0.1:PORT, one address on many ports"
    for name, make, params in (
        ("register", _register, ("self", "targets")),
        ("deregister", _deregister, ("self", "targets")),
        ("health_for", _health_for, ("self", "target", "ec2_backend")),
    ):
        patches.replace(FakeTargetGroup, name, make, params=params, why=why, moto_bug=bug)


def target_key(group: Any, target: dict[str, Any]) -> str:
    """How AWS tells a group's targets apart: Id and port (the group's when none given)."""
    return f"{target['Id']}:{target.get('Port', group.port)}"


def _as_moto_keys(group: Any, target: dict[str, Any]) -> Any:
    """A shallow copy of `group` whose target tables hold `target`'s entries only, keyed by
    Id as moto keys them: moto's own method runs on it, for that one target."""
    key = target_key(group, target)
    view = copy.copy(group)
    for table in ("targets", "deregistered_targets", "terminated_targets"):
        entries = getattr(group, table)
        setattr(view, table, {target["Id"]: entries[key]} if key in entries else {})
    return view


def _register(original: Any) -> Any:
    def register(self: Any, targets: list[dict[str, Any]]) -> None:
        for target in targets:
            view = _as_moto_keys(self, target)
            original(view, [target])  # moto's checks: an EC2 instance must be running
            key = target_key(self, target)
            self.targets[key] = view.targets[target["Id"]]
            self.deregistered_targets.pop(key, None)

    return register


def _deregister(original: Any) -> Any:
    def deregister(self: Any, targets: list[dict[str, Any]]) -> None:
        for target in targets:
            original(_as_moto_keys(self, target), [target])  # moto's error if not registered
            key = target_key(self, target)
            self.deregistered_targets[key] = self.targets.pop(key)

    return deregister


def _health_for(original: Any) -> Any:
    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        return original(_as_moto_keys(self, target), target, ec2_backend)

    return health_for


# -- a role's inline policies from a template -------------------------------------------------


def role_policy_documents(patches: PatchSet) -> None:
    from moto.iam.models import Role

    patches.replace(
        Role,
        "put_policy",
        _policy_as_json,
        params=("self", "policy_name", "policy_json"),
        why="GetRolePolicy answers the Python repr of a template's inline policy; `ecslab "
        "doctor` reads the execution role's",
        moto_bug="IAM: a role's inline policies from CloudFormation are stored as dicts, so "
        "GetRolePolicy returns their repr instead of JSON",
    )


def _policy_as_json(original: Any) -> Any:
    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        import json

        text = policy_json if isinstance(policy_json, str) else json.dumps(policy_json)
        original(self, policy_name, text)

    return put_policy
