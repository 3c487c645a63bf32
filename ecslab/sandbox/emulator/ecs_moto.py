"""Patches to moto's ECS and ELBv2 that let the scheduler be the one source of task state.

- CloudFormation: moto's AWS::ECS::Service drops LaunchType, LoadBalancers,
  NetworkConfiguration, DeploymentConfiguration and HealthCheckGracePeriodSeconds, and its
  AWS::ECS::TaskDefinition drops Cpu, NetworkMode, RequiresCompatibilities and the role
  ARNs; here they are kept as the template gave them (CreateService's
  deploymentConfiguration and grace period too).
- ListTasks: the serviceName filter (moto ignores it), desiredStatus RUNNING unless asked
  otherwise (moto lists every task), and maxResults/nextToken pages.
- StopTask, UpdateService (per operation): routed to the scheduler, which stops tasks as
  ECS does and keeps the counts derived from real tasks (moto would copy desiredCount
  into runningCount).
- DescribeTargetHealth: a task's target reports the scheduler's health state.
- moto's AWS::ElasticLoadBalancingV2::TargetGroup drops TargetGroupAttributes (so the
  deregistration delay stayed 300 s); here they are applied.
- DeleteStack: moto's CloudFormation leaves an AWS::ECS::Service behind; here it is
  deleted (INACTIVE), so the scheduler stops its tasks as ECS does.
- A task definition family without a revision names its latest ACTIVE revision (moto
  takes the latest, deregistered or not), for every operation that takes one.
- RunTask (FARGATE): routed to the scheduler's standalone tasks (ecs_standalone), which run
  them as containers; StopTask stops those too.
- AWS::SecretsManager::Secret (secret_resource): a real secret, so a task definition's
  secrets keep their valueFrom.
- An application load balancer's DNSName is the sandbox's HAProxy address (127.0.0.1:PORT),
  so the stack's LoadBalancerUrl output is a URL that answers.
- moto's own task state machine is set never to advance on its own.

Every patch goes through moto_seam (`build`); `install(hooks)` puts them in and returns
their undo; `hooks` is the scheduler (None: the patches answer alone, tasks are moto's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from ecslab.sandbox import moto_seam
from ecslab.sandbox.emulator import secret_resource
from ecslab.sandbox.emulator.paging import BadToken, page
from ecslab.sandbox.moto_seam import PatchSet

PAGE_MAX = 100
_HOOKS: list[Hooks] = []  # the running scheduler, when there is one
_SERVICE_FIELDS = {
    "LaunchType": "launch_type",
    "LoadBalancers": "load_balancers",
    "NetworkConfiguration": "network_configuration",
    "DeploymentConfiguration": "deployment_configuration",
    "HealthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "PlatformVersion": "platform_version",
    "PropagateTags": "propagate_tags",
    "EnableECSManagedTags": "enable_ecs_managed_tags",
    "EnableExecuteCommand": "enable_execute_command",
}
_TYPED = (
    "DeploymentConfiguration",
    "HealthCheckGracePeriodSeconds",
    "LoadBalancers",
    "EnableECSManagedTags",
    "EnableExecuteCommand",
)
_TASK_DEFINITION_FIELDS = {
    "Cpu": "cpu",
    "NetworkMode": "network_mode",
    "RequiresCompatibilities": "requires_compatibilities",
    "ExecutionRoleArn": "execution_role_arn",
    "TaskRoleArn": "task_role_arn",
    "RuntimePlatform": "runtime_platform",
}


class Hooks(Protocol):
    def run_task(self, backend: Any, request: Any) -> list[Any] | None: ...
    def stop_task(self, cluster: str, task: str, reason: str) -> Any | None: ...
    def service_updated(self, service: Any, force_new_deployment: bool) -> None: ...
    def target_health(self, group_arn: str, target_id: str, port: int) -> Any | None: ...


def _camel(value: Any) -> Any:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    if isinstance(value, dict | list):
        return remap_nested_keys(value, pascal_to_camelcase)
    return value


def _int_fields(value: Any) -> Any:
    """CloudFormation hands Number parameters over as strings; the API returns numbers."""
    if isinstance(value, dict):
        return {k: _int_fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_int_fields(v) for v in value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def keep_service_properties(service: Any, properties: dict[str, Any]) -> Any:
    for key, attribute in _SERVICE_FIELDS.items():
        if key in properties:
            value = _camel(properties[key])
            if key in _TYPED:  # numbers and flags as the API types them, not strings
                value = _int_fields(value)
            if key == "LoadBalancers":
                value = [{**lb, "containerName": str(lb.get("containerName", ""))} for lb in value]
            setattr(service, attribute, value)
    return service


def _service_cfn(original: Any, json_at: int) -> Any:
    """moto's create (`json_at` 1) or update (2) of a Service, keeping what it drops; the
    template's JSON is that positional argument or the `cloudformation_json` keyword."""

    def wrapped(cls: Any, *args: Any, **kwargs: Any) -> Any:
        service = original.__func__(cls, *args, **kwargs)
        template = kwargs.get("cloudformation_json", args[json_at] if len(args) > json_at else {})
        return keep_service_properties(service, template.get("Properties", {}))

    return classmethod(wrapped)


def _task_definition_cfn(original: Any) -> Any:
    def create(cls: Any, *args: Any, **kwargs: Any) -> Any:
        definition = original.__func__(cls, *args, **kwargs)
        template = kwargs.get("cloudformation_json", args[1] if len(args) > 1 else {})
        properties = template.get("Properties", {})
        for key, attribute in _TASK_DEFINITION_FIELDS.items():
            if key in properties:
                value = properties[key]
                setattr(definition, attribute, str(value) if key == "Cpu" else _camel(value))
        if "FARGATE" in (definition.requires_compatibilities or []):
            definition.compatibilities = ["EC2", "FARGATE"]  # as RegisterTaskDefinition's
        return definition

    return classmethod(create)


def _target_group_cfn(original: Any) -> Any:
    def create(cls: Any, *args: Any, **kwargs: Any) -> Any:
        group = original.__func__(cls, *args, **kwargs)
        template = kwargs.get("cloudformation_json", args[1] if len(args) > 1 else {})
        for attribute in template.get("Properties", {}).get("TargetGroupAttributes", []):
            group.attributes[str(attribute["Key"])] = str(attribute["Value"])
        return group

    return classmethod(create)


def _delete_service(original: Any) -> Any:
    def delete(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        from moto.ecs.models import ecs_backends

        cluster, _, name = resource_name.split(":service/", 1)[-1].rpartition("/")
        backend = ecs_backends[account_id][region_name]
        with contextlib.suppress(Exception):  # already deleted: nothing left to do
            backend.delete_service(cluster or "default", name, force=True)

    return classmethod(delete)


def _create_service_response(original: Any) -> Any:
    def create_service(self: Any) -> Any:
        result = original(self)
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), self._get_param("serviceName")
        )
        service.deployment_configuration = self._get_param("deploymentConfiguration")
        service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds")
        _keep_flags(self, service)
        return result

    return create_service


def _keep_flags(request: Any, service: Any) -> None:
    """CreateService's and UpdateService's flags moto drops (enableExecuteCommand...)."""
    flags = {
        "enableExecuteCommand": "enable_execute_command",
        "enableECSManagedTags": "enable_ecs_managed_tags",
    }
    for name, attribute in flags.items():
        value = request._get_param(name)
        if value is not None:
            setattr(service, attribute, bool(value))


def _list_tasks_response(original: Any) -> Any:
    def list_tasks(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.ecs.exceptions import InvalidParameterException

        service = self._get_param("serviceName")
        tasks = self.ecs_backend.list_tasks(
            self._get_param("cluster", "default"),
            self._get_param("containerInstance"),
            self._get_param("family"),
            self._get_param("startedBy"),
            None,
            self._get_param("desiredStatus") or "RUNNING",  # AWS's default filter
        )
        if service:
            name = str(service).rsplit("/", 1)[-1]
            tasks = [t for t in tasks if getattr(t, "group", "") == f"service:{name}"]
        try:
            found = page(
                [t.task_arn for t in tasks],
                self._get_param("nextToken"),
                self._get_param("maxResults"),
                PAGE_MAX,
            )
        except BadToken:
            raise InvalidParameterException("Invalid nextToken") from None
        answer: dict[str, Any] = {"taskArns": found.items}
        if found.next_token:
            answer["nextToken"] = found.next_token
        return ActionResult(answer)

    return list_tasks


def _stop_task_response(original: Any) -> Any:
    def stop_task(self: Any) -> Any:
        from moto.core.responses import ActionResult

        cluster = self._get_param("cluster", "default")
        reason = self._get_param("reason") or ""
        task = _HOOKS[0].stop_task(cluster, self._get_param("task"), reason) if _HOOKS else None
        return original(self) if task is None else ActionResult({"task": task})

    return stop_task


def _update_service_response(original: Any) -> Any:
    def update_service(self: Any) -> Any:
        result = original(self)
        _keep_flags(self, result.result["service"])
        if _HOOKS:  # the answer is serialized later: it shows the new deployment
            force = bool(self._get_param("forceNewDeployment"))
            _HOOKS[0].service_updated(result.result["service"], force)
        return result

    return update_service


def _run_task_response(original: Any) -> Any:
    def run_task(self: Any) -> Any:
        from moto.core.responses import ActionResult

        from ecslab.sandbox.emulator.ecs_standalone import RunRequest

        request = RunRequest.of(self._get_param)
        tasks = _HOOKS[0].run_task(self.ecs_backend, request) if _HOOKS else None
        if tasks is None:  # no scheduler, or EC2 tasks on registered instances: moto's own
            return original(self)
        return ActionResult({"tasks": tasks, "failures": []})

    return run_task


def _describe_task_definition(original: Any) -> Any:
    def describe_task_definition(self: Any, task_definition_str: str) -> Any:
        family = task_definition_str.split("/")[-1]
        revisions = self.task_definitions.get(family, {}) if ":" not in family else {}
        active = [r for r, d in revisions.items() if d.status == "ACTIVE"]
        if active:
            return revisions[max(active)]
        return original(self, task_definition_str)

    return describe_task_definition


def _health_for(original: Any) -> Any:
    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        from moto.elbv2.models import FakeHealthStatus

        port = int(target.get("Port", self.port))
        found = _HOOKS[0].target_health(self.arn, str(target["Id"]), port) if _HOOKS else None
        if found is None:
            return original(self, target, ec2_backend)
        state, reason, description = found
        return FakeHealthStatus(
            target["Id"], str(port), self.health_check_port, state, reason, description
        )

    return health_for


def answer_at(address: Callable[[], str | None] | None) -> None:
    """New application load balancers get `address()` (HAProxy's) as their DNSName; it is
    asked when the load balancer is made, once the sandbox has saved where HAProxy runs."""
    _LB_ADDRESS[:] = [address] if address else []


_LB_ADDRESS: list[Callable[[], str | None]] = []


def _load_balancer_init(original: Any) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        address = _LB_ADDRESS[0]() if _LB_ADDRESS else None
        if address and getattr(self, "type", "application") == "application":
            self.dns_name = address

    return init


def install(hooks: Hooks | None) -> Callable[[], None]:
    """Put the patches in (once per process) and route them to `hooks` (None: to nobody,
    so RunTask, StopTask and UpdateService are moto's own); the result takes them out."""
    _HOOKS[:] = [hooks] if hooks is not None else []
    undo_patches = moto_seam.install("ecs_scheduler", build_area)

    def undo() -> None:
        undo_patches()
        _HOOKS.clear()

    return undo


def build_area(patches: PatchSet) -> None:
    """Every patch of the scheduler's area: ECS's and ELBv2's, then the stack's secret."""
    build(patches)
    secret_resource.build(patches)


_CFN_CREATE = ("resource_name", "cloudformation_json", "account_id", "region_name", "kwargs")
_CFN_UPDATE = (
    "original_resource",
    "new_resource_name",
    "cloudformation_json",
    "account_id",
    "region_name",
)
_CFN_DELETE = ("resource_name", "cloudformation_json", "account_id", "region_name")
_LB_INIT = (
    "self",
    "name",
    "security_groups",
    "subnets",
    "vpc_id",
    "arn",
    "dns_name",
    "state",
    "scheme",
    "loadbalancer_type",
    "ip_address_type",
)


def build(patches: PatchSet) -> None:
    """The ECS and ELBv2 patches (see the module's docstring)."""
    _build_cloudformation(patches)
    _build_operations(patches)
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
    from moto.moto_api import state_manager

    patches.replace(
        FakeTargetGroup,
        "health_for",
        _health_for,
        params=("self", "target", "ec2_backend"),
        why="a task's target reports the scheduler's health checks",
    )
    patches.replace(
        FakeLoadBalancer,
        "__init__",
        _load_balancer_init,
        params=_LB_INIT,
        why="an application load balancer's DNSName is the sandbox's HAProxy (it answers)",
    )
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})


def _build_cloudformation(patches: PatchSet) -> None:
    from moto.ecs.models import Service, TaskDefinition
    from moto.elbv2.models import FakeTargetGroup

    patches.replace(
        Service,
        "create_from_cloudformation_json",
        lambda original: _service_cfn(original, 1),
        params=_CFN_CREATE,
        why="AWS::ECS::Service keeps every property CloudFormation set",
        moto_bug="AWS::ECS::Service drops LaunchType, LoadBalancers, NetworkConfiguration, "
        "DeploymentConfiguration, HealthCheckGracePeriodSeconds",
    )
    patches.replace(
        Service,
        "update_from_cloudformation_json",
        lambda original: _service_cfn(original, 2),
        params=_CFN_UPDATE,
        why="an updated AWS::ECS::Service keeps every property CloudFormation set",
        moto_bug="AWS::ECS::Service update drops the same properties as create",
    )
    patches.replace(
        Service,
        "delete_from_cloudformation_json",
        _delete_service,
        params=_CFN_DELETE,
        why="deleting a stack deletes its service (INACTIVE), so its tasks stop",
        moto_bug="DeleteStack leaves an AWS::ECS::Service behind",
    )
    patches.replace(
        TaskDefinition,
        "create_from_cloudformation_json",
        _task_definition_cfn,
        params=_CFN_CREATE,
        why="AWS::ECS::TaskDefinition keeps every property CloudFormation set",
        moto_bug="AWS::ECS::TaskDefinition drops Cpu, NetworkMode, RequiresCompatibilities, "
        "ExecutionRoleArn, TaskRoleArn, RuntimePlatform",
    )
    patches.replace(
        FakeTargetGroup,
        "create_from_cloudformation_json",
        _target_group_cfn,
        params=_CFN_CREATE,
        why="the template's deregistration delay applies",
        moto_bug="AWS::ElasticLoadBalancingV2::TargetGroup drops TargetGroupAttributes",
    )


def _build_operations(patches: PatchSet) -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    patches.replace(
        EC2ContainerServiceBackend,
        "describe_task_definition",
        _describe_task_definition,
        params=("self", "task_definition_str"),
        why="a family without a revision names its latest ACTIVE revision",
        moto_bug="a family names its latest revision even when that one is INACTIVE",
    )
    patches.operation(
        "ecs",
        "CreateService",
        _create_service_response,
        why="the service keeps its deploymentConfiguration and grace period",
        moto_bug="CreateService drops deploymentConfiguration and healthCheckGracePeriodSeconds",
    )
    patches.operation(
        "ecs",
        "ListTasks",
        _list_tasks_response,
        why="serviceName filters; desiredStatus defaults to RUNNING; maxResults/nextToken page",
        moto_bug="ListTasks ignores serviceName, lists STOPPED tasks unasked, does not page",
    )
    patches.operation(
        "ecs", "StopTask", _stop_task_response, why="the scheduler stops its tasks as ECS does"
    )
    patches.operation(
        "ecs",
        "UpdateService",
        _update_service_response,
        why="the answer shows the new deployment; counts stay those of real tasks",
    )
    patches.operation(
        "ecs", "RunTask", _run_task_response, why="standalone FARGATE tasks run as containers"
    )
