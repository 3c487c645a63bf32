"""What a stack operation does to each resource, and how long each part takes.

Pure functions over templates and physical ids, used by the CloudFormation area
(`cloudformation.py`) to turn moto's instant work into CloudFormation's timed per-resource
events. A `Job` is one resource's part of an operation: its action (create, update in
place, replacement, delete, or a retained resource skipped), the physical ids it shows, the
resources that must finish first, and its duration in sandbox seconds.

Durations are shortened from AWS's own (in comments, orders of magnitude seen on AWS) so a
whole lab deploy takes seconds, yet keep their proportions: the load balancer is the slow
one, and an ECS service completes only once it is stable, however long that takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ecslab.core.template_refs import references as template_references
from ecslab.core.template_refs import walk_mappings

# Sandbox seconds from a resource's first event to its COMPLETE one.
CREATE_SECONDS: dict[str, float] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": 6.0,  # AWS: 2-4 min (provisioning -> active)
    "AWS::IAM::Role": 3.0,  # AWS: 15-30 s (IAM's propagation)
    "AWS::EC2::SecurityGroup": 2.0,  # AWS: 5-10 s
    "AWS::ECS::Cluster": 2.0,  # AWS: about 10 s
    "AWS::ECS::Service": 2.0,  # AWS: then as long as the service takes to be stable
    "AWS::SecretsManager::Secret": 1.5,
}
DEFAULT_CREATE_SECONDS = 1.0
UPDATE_SECONDS = 1.5
DELETE_SECONDS: dict[str, float] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": 3.0,  # AWS: about 1 min
    "AWS::ECS::Service": 3.0,  # AWS: draining, minutes
}
DEFAULT_DELETE_SECONDS = 1.0
# From a resource's first event to its "Resource creation Initiated" one.
INITIATED_AFTER = 0.4

STABLE_TYPES = frozenset({"AWS::ECS::Service"})  # complete only once stable

REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."
INITIATED = "Resource creation Initiated"


@dataclass(frozen=True)
class Job:
    """One resource's part of one operation."""

    logical_id: str
    resource_type: str
    action: str  # create | update | replace | delete | retain
    physical_id: str  # the id the resource has once the job is done
    old_physical_id: str = ""  # replace: the resource being replaced
    after: frozenset[str] = frozenset()  # logical ids whose jobs must complete first
    seconds: float = 1.0

    @property
    def waits_for_stability(self) -> bool:
        return self.resource_type in STABLE_TYPES and self.action in ("create", "update", "replace")


# -- references ---------------------------------------------------------------------------


def references(body: Any, names: Iterable[str]) -> set[str]:
    """The names among `names` (resources or parameters) that `body` uses: Ref, GetAtt,
    Sub (core/template_refs.py) and DependsOn."""
    wanted = set(names)
    return (template_references(body) | _depends_on(body)) & wanted


def _depends_on(body: Any) -> set[str]:
    found: set[str] = set()
    for mapping in walk_mappings(body):
        value = mapping.get("DependsOn")
        found.update(
            [value] if isinstance(value, str) else value if isinstance(value, list) else []
        )
    return {name for name in found if isinstance(name, str)}


def dependencies(resources: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """For each resource, the other resources it refers to (it is created after them)."""
    names = set(resources)
    return {name: frozenset(references(body, names) - {name}) for name, body in resources.items()}


def dependency_order(resources: Mapping[str, Any]) -> list[str]:
    """Resources in an order where each comes after what it refers to (ties: template order)."""
    deps = dependencies(resources)
    ordered: list[str] = []
    placed: set[str] = set()
    while len(ordered) < len(deps):
        ready = [n for n in deps if n not in placed and deps[n] <= placed]
        if not ready:  # a cycle CloudFormation would refuse: keep the template's order
            ready = [n for n in deps if n not in placed][:1]
        ordered.extend(ready)
        placed.update(ready)
    return ordered


# -- plans ----------------------------------------------------------------------------------


def plan_create(resources: Mapping[str, Any], ids: Mapping[str, str]) -> list[Job]:
    deps = dependencies(resources)
    return [
        Job(
            name,
            _type(resources[name]),
            "create",
            ids.get(name, ""),
            after=deps[name],
            seconds=CREATE_SECONDS.get(_type(resources[name]), DEFAULT_CREATE_SECONDS),
        )
        for name in dependency_order(resources)
    ]


def plan_delete(resources: Mapping[str, Any], ids: Mapping[str, str]) -> list[Job]:
    """Every resource, each after the resources that refer to it (reverse dependencies)."""
    deps = dependencies(resources)
    dependents = {name: frozenset(n for n, d in deps.items() if name in d) for name in resources}
    return [
        _delete_job(name, resources[name], ids.get(name, ""), dependents[name])
        for name in reversed(dependency_order(resources))
    ]


def _delete_job(name: str, body: Any, physical_id: str, after: frozenset[str]) -> Job:
    kind = _type(body)
    retained = isinstance(body, dict) and body.get("DeletionPolicy") == "Retain"
    return Job(
        name,
        kind,
        "retain" if retained else "delete",
        physical_id,
        after=after,
        seconds=0.2 if retained else DELETE_SECONDS.get(kind, DEFAULT_DELETE_SECONDS),
    )


@dataclass(frozen=True)
class Snapshot:
    """A stack as one operation found or left it."""

    resources: Mapping[str, Any]
    parameters: Mapping[str, str]
    ids: Mapping[str, str]


def plan_update(before: Snapshot, after: Snapshot) -> tuple[list[Job], list[Job]]:
    """(the update's jobs, the cleanup's deletes) going from `before` to `after`."""
    old, new = before.resources, after.resources
    changed_parameters = {
        k
        for k in set(before.parameters) | set(after.parameters)
        if before.parameters.get(k) != after.parameters.get(k)
    }
    deps = dependencies(new)
    jobs: list[Job] = []
    touched: set[str] = set()
    for name in dependency_order(new):
        action = _update_action(name, before, after, changed_parameters, touched)
        if action is None:
            continue
        touched.add(name)
        kind = _type(new[name])
        seconds = (
            CREATE_SECONDS.get(kind, DEFAULT_CREATE_SECONDS)
            if action in ("create", "replace")
            else UPDATE_SECONDS
        )
        jobs.append(
            Job(
                name,
                kind,
                action,
                after.ids.get(name, ""),
                old_physical_id=before.ids.get(name, "") if action == "replace" else "",
                after=deps[name] & touched,
                seconds=seconds,
            )
        )
    cleanup = [
        _delete_job(name, old[name], before.ids.get(name, ""), frozenset())
        for name in reversed(dependency_order(old))
        if name not in new
    ]
    cleanup += [
        Job(
            j.logical_id,
            j.resource_type,
            "delete",
            j.old_physical_id,
            seconds=DEFAULT_DELETE_SECONDS,
        )
        for j in reversed(jobs)
        if j.action == "replace"
    ]
    return jobs, cleanup


def _update_action(
    name: str, before: Snapshot, after: Snapshot, parameters: set[str], touched: set[str]
) -> str | None:
    if name not in before.resources:
        return "create"
    old_id, new_id = before.ids.get(name, ""), after.ids.get(name, "")
    if old_id and new_id and old_id != new_id:
        return "replace"
    body = after.resources[name]
    if body != before.resources[name]:
        return "update"
    if references(body, parameters | touched):
        return "update"
    return None


def _type(body: Any) -> str:
    return str(body.get("Type", "")) if isinstance(body, dict) else ""


def event_sequence(job: Job) -> list[tuple[float, str, str, str]]:
    """(sandbox seconds after the job starts, status, physical id, reason) of each event.

    The last one is the job's end; for a job that waits for stability it is written only
    once the resource is stable.
    """
    pid, end = job.physical_id, job.seconds
    if job.action == "create":
        return [
            (0.0, "CREATE_IN_PROGRESS", "", ""),
            (min(INITIATED_AFTER, end), "CREATE_IN_PROGRESS", pid, INITIATED),
            (end, "CREATE_COMPLETE", pid, ""),
        ]
    if job.action == "update":
        return [(0.0, "UPDATE_IN_PROGRESS", pid, ""), (end, "UPDATE_COMPLETE", pid, "")]
    if job.action == "replace":
        return [
            (0.0, "UPDATE_IN_PROGRESS", job.old_physical_id, REPLACING),
            (min(INITIATED_AFTER, end), "UPDATE_IN_PROGRESS", pid, INITIATED),
            (end, "UPDATE_COMPLETE", pid, ""),
        ]
    if job.action == "retain":
        return [(0.0, "DELETE_SKIPPED", pid, "")]
    return [(0.0, "DELETE_IN_PROGRESS", pid, ""), (end, "DELETE_COMPLETE", pid, "")]
