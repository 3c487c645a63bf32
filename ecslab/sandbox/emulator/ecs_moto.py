"""Patches to moto's ECS and ELBv2 that let the scheduler be the one source of task state.

- CloudFormation: moto's AWS::ECS::Service drops LaunchType, LoadBalancers,
  NetworkConfiguration, DeploymentConfiguration and HealthCheckGracePeriodSeconds, and its
  AWS::ECS::TaskDefinition drops Cpu, NetworkMode, RequiresCompatibilities and the role
  ARNs; here they are kept as the template gave them (CreateService's
  deploymentConfiguration and grace period too).
- ListTasks: the serviceName filter (moto ignores it) and maxResults/nextToken pages.
- StopTask, UpdateService: routed to the scheduler, which stops tasks as ECS does and
  keeps the counts derived from real tasks (moto would copy desiredCount into runningCount).
- DescribeTargetHealth: a task's target reports the scheduler's health state.
- moto's AWS::ElasticLoadBalancingV2::TargetGroup drops TargetGroupAttributes (so the
  deregistration delay stayed 300 s); here they are applied.
- DeleteStack: moto's CloudFormation leaves an AWS::ECS::Service behind; here it is
  deleted (INACTIVE), so the scheduler stops its tasks as ECS does.
- An application load balancer's DNSName is the sandbox's HAProxy address (127.0.0.1:PORT),
  so the stack's LoadBalancerUrl output is a URL that answers.
- moto's own task state machine is set never to advance on its own.

`install(hooks)` applies them for the rest of the process; `hooks` is the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

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
}
_TASK_DEFINITION_FIELDS = {
    "Cpu": "cpu",
    "NetworkMode": "network_mode",
    "RequiresCompatibilities": "requires_compatibilities",
    "ExecutionRoleArn": "execution_role_arn",
    "TaskRoleArn": "task_role_arn",
    "RuntimePlatform": "runtime_platform",
}


class Hooks(Protocol):
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
            if key in ("DeploymentConfiguration", "HealthCheckGracePeriodSeconds", "LoadBalancers"):
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


def _delete_service(self: Any, account_id: str, region_name: str) -> None:
    from moto.ecs.models import ecs_backends

    ecs_backends[account_id][region_name].delete_service(self.cluster_name, self.name, force=True)


def _create_service_response(original: Any) -> Any:
    def create_service(self: Any) -> Any:
        result = original(self)
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), self._get_param("serviceName")
        )
        service.deployment_configuration = self._get_param("deploymentConfiguration")
        service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds")
        return result

    return create_service


def _list_tasks_response(original: Any) -> Any:
    def list_tasks(self: Any) -> Any:
        from moto.core.responses import ActionResult

        service = self._get_param("serviceName")
        tasks = self.ecs_backend.list_tasks(
            self._get_param("cluster", "default"),
            self._get_param("containerInstance"),
            self._get_param("family"),
            self._get_param("startedBy"),
            None,
            self._get_param("desiredStatus"),
        )
        if service:
            name = str(service).rsplit("/", 1)[-1]
            tasks = [t for t in tasks if getattr(t, "group", "") == f"service:{name}"]
        arns = [t.task_arn for t in tasks]
        start = int(self._get_param("nextToken") or 0)
        size = min(int(self._get_param("maxResults") or PAGE_MAX), PAGE_MAX)
        page: dict[str, Any] = {"taskArns": arns[start : start + size]}
        if start + size < len(arns):
            page["nextToken"] = str(start + size)
        return ActionResult(page)

    return list_tasks


def _stop_task(original: Any) -> Any:
    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        task = _HOOKS[0].stop_task(cluster_str, task_str, reason) if _HOOKS else None
        return task if task is not None else original(self, cluster_str, task_str, reason)

    return stop_task


def _update_service(original: Any) -> Any:
    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        force = bool(service_properties.get("force_new_deployment"))
        service = original(self, service_properties)
        if _HOOKS:
            _HOOKS[0].service_updated(service, force)
        return service

    return update_service


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


def install(hooks: Hooks | None) -> None:
    """Route the patches to `hooks` (None: to nobody); the patches go in once per process."""
    _HOOKS.clear()
    if hooks is not None:
        _HOOKS.append(hooks)
    if not _PATCHED:
        _patch()
        _PATCHED.append(True)


_PATCHED: list[bool] = []


def _patch() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskDefinition
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
    from moto.moto_api import state_manager

    Service.create_from_cloudformation_json = _service_cfn(  # type: ignore[method-assign]
        Service.create_from_cloudformation_json, 1
    )
    Service.update_from_cloudformation_json = _service_cfn(  # type: ignore[method-assign]
        Service.update_from_cloudformation_json, 2
    )
    TaskDefinition.create_from_cloudformation_json = _task_definition_cfn(  # type: ignore[method-assign]
        TaskDefinition.create_from_cloudformation_json
    )
    Service.delete = _delete_service  # type: ignore[attr-defined]
    response = EC2ContainerServiceResponse
    response.create_service = _create_service_response(response.create_service)  # type: ignore[method-assign]
    response.list_tasks = _list_tasks_response(response.list_tasks)  # type: ignore[method-assign]
    backend = EC2ContainerServiceBackend
    backend.stop_task = _stop_task(backend.stop_task)  # type: ignore[method-assign]
    backend.update_service = _update_service(backend.update_service)  # type: ignore[method-assign]
    FakeTargetGroup.health_for = _health_for(FakeTargetGroup.health_for)  # type: ignore[method-assign]
    FakeTargetGroup.create_from_cloudformation_json = _target_group_cfn(  # type: ignore[method-assign]
        FakeTargetGroup.create_from_cloudformation_json
    )
    FakeLoadBalancer.__init__ = _load_balancer_init(FakeLoadBalancer.__init__)  # type: ignore[method-assign]
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
