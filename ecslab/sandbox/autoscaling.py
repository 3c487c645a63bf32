"""Sandbox only: the template's autoscaling, made in moto through the plain APIs.

moto's CloudFormation skips AWS::ApplicationAutoScaling::ScalableTarget and ::ScalingPolicy
and AWS::CloudWatch::Alarm (the stack still completes), so verify would find no scaling at
all. `AutoscalingEmulator` reads the *deployed* template (GetTemplate) with the stack's
parameters and physical resources, resolves what those resources use (Ref, Fn::Sub,
Fn::Join, Fn::Select, Fn::GetAtt, pseudo parameters; a resource whose Condition is false
is left out, as CloudFormation leaves it out), then registers the scalable targets,
puts the scaling policies, and puts the alarms with the policies' ARNs as actions, the
order CloudFormation would make them in. Only what differs from moto's current state is
called, so a second run changes nothing and an edited template updates what it changed.
Each resource's properties are checked against the API's input shape: a property the API
has no field for (or an intrinsic not listed above) fails with its name, rather than being
dropped, so "matches the template" stays true. Renamed or removed resources are left in
moto as they were.

moto specifics met here:
- PutScalingPolicy gives a policy a new ARN on every call (AWS keeps it), so an unchanged
  policy is never put again, and a changed one also re-puts the alarms that point at it.
- RegisterScalableTarget for ECS requires the service to exist in moto's ECS.
- DescribeScalingPolicies ignores PolicyNames; the policies are filtered by name here.
- Skipped resources have no stack resource, so their Refs are resolved here: a scalable
  target's Ref is AWS's "RESOURCE_ID|DIMENSION|NAMESPACE", which a policy's
  ScalingTargetId is split back into for PutScalingPolicy; a policy's Ref is its ARN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors
from ecslab.core.errors import DeployFailed

if TYPE_CHECKING:
    from ecslab.aws.cloudformation import Stack
    from ecslab.aws.session import Aws

TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
ALARM = "AWS::CloudWatch::Alarm"
# The order they are made in: a policy names a target, an alarm a policy.
EMULATED = (TARGET, POLICY, ALARM)
SUPPORTED = "Ref, Fn::Sub, Fn::Join, Fn::Select and Fn::GetAtt"
# Fields the describe calls never return: compared nowhere, sent on every put.
_WRITE_ONLY = frozenset({"Tags"})
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NO_VALUE = object()  # AWS::NoValue: the property is left out


class Unsupported(Exception):
    """A construct of the template the sandbox cannot resolve or map to an API call."""


@dataclass(frozen=True)
class Change:
    """One call the emulation makes (or would make)."""

    logical_id: str
    action: str
    name: str

    def __str__(self) -> str:
        return f"{self.action} {self.name} ({self.logical_id})"


@dataclass(frozen=True)
class Emulation:
    """What the template asks for (its resources) and what differs in moto (changes)."""

    resources: tuple[str, ...]
    changes: tuple[Change, ...]

    @property
    def matches(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class _Call:
    """The API call one template resource stands for."""

    service: str
    operation: str
    kwargs: dict[str, Any]
    action: str
    name: str


class AutoscalingEmulator:
    """Makes the stack's skipped autoscaling resources in moto, from its deployed template."""

    def __init__(self, aws: Aws, stack_name: str) -> None:
        self._aws = aws
        self._stack_name = stack_name

    def pending(self) -> Emulation:
        """What differs between the deployed template and moto; changes nothing."""
        return self._reconcile(apply=False)

    def apply(self) -> Emulation:
        """Make moto match the deployed template; the changes made."""
        return self._reconcile(apply=True)

    def _reconcile(self, *, apply: bool) -> Emulation:
        stack = self._aws.cloudformation.describe(self._stack_name)
        template = self._aws.cloudformation.template(stack.stack_id) if stack else None
        if stack is None or template is None:
            return Emulation((), ())
        resolver = Resolver(template, stack, self._physical_ids(stack))
        names: list[str] = []
        changes: list[Change] = []
        for kind in EMULATED:
            for logical_id, resource in template.get("Resources", {}).items():
                if isinstance(resource, dict) and resource.get("Type") == kind:
                    if not self._made(resolver, logical_id, resource):
                        continue  # its Condition is false: CloudFormation leaves it out
                    names.append(logical_id)
                    change = self._one(resolver, logical_id, resource, apply=apply)
                    changes += [change] if change else []
        return Emulation(tuple(names), tuple(changes))

    def _one(
        self, resolver: Resolver, logical_id: str, resource: dict[str, Any], *, apply: bool
    ) -> Change | None:
        try:
            properties = resolver.resolve(resource.get("Properties", {}))
            call = _BUILDERS[resource["Type"]](self._aws, resolver, logical_id, properties)
        except Unsupported as exc:
            raise DeployFailed(
                f"the sandbox cannot emulate {logical_id} ({resource['Type']}): {exc}",
                f"the sandbox resolves {SUPPORTED} in autoscaling resources and passes "
                "properties the API knows; simplify it, or deploy to AWS",
            ) from exc
        current = self._current(call)
        same = current is not None and _same(call.kwargs, current)
        answer = self._call(call) if apply and not same else {}
        resolver.refs[logical_id] = _ref_value(
            call, (current or {}) if same else answer, logical_id
        )
        return None if same else Change(logical_id, call.action, call.name)

    @staticmethod
    def _made(resolver: Resolver, logical_id: str, resource: dict[str, Any]) -> bool:
        """Whether CloudFormation makes the resource (its Condition, if any, is true)."""
        if "Condition" not in resource:
            return True
        try:
            return resolver.condition(str(resource["Condition"]))
        except Unsupported as exc:
            raise DeployFailed(
                f"the sandbox cannot emulate {logical_id} ({resource['Type']}): {exc}",
                "the sandbox evaluates Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition",
            ) from exc

    def _physical_ids(self, stack: Stack) -> dict[str, tuple[str, str]]:
        """Logical id -> (type, physical id) of what the stack really made."""
        client = self._aws.client("cloudformation")
        found: dict[str, tuple[str, str]] = {}
        with aws_errors(f"list the resources of stack {stack.name}"):
            for page in client.get_paginator("list_stack_resources").paginate(
                StackName=stack.stack_id
            ):
                for raw in page.get("StackResourceSummaries", []):
                    physical = raw.get("PhysicalResourceId") or ""
                    found[raw["LogicalResourceId"]] = (raw["ResourceType"], physical)
        return found

    def _current(self, call: _Call) -> dict[str, Any] | None:
        client = self._aws.client(call.service)
        args = call.kwargs
        with aws_errors(f"read {call.name}"):
            if call.operation == "RegisterScalableTarget":
                found = client.describe_scalable_targets(
                    ServiceNamespace=args["ServiceNamespace"],
                    ResourceIds=[args["ResourceId"]],
                    ScalableDimension=args["ScalableDimension"],
                )["ScalableTargets"]
            elif call.operation == "PutScalingPolicy":
                found = client.describe_scaling_policies(
                    ServiceNamespace=args["ServiceNamespace"],
                    ResourceId=args["ResourceId"],
                    ScalableDimension=args["ScalableDimension"],
                )["ScalingPolicies"]
            else:
                found = client.describe_alarms(AlarmNames=[args["AlarmName"]])["MetricAlarms"]
        # moto's DescribeScalingPolicies filters ResourceId by substring: match exactly.
        keys = ("ResourceId", "PolicyName", "AlarmName")
        exact = [f for f in found if all(f.get(k) == args[k] for k in keys if k in args)]
        return dict(exact[0]) if exact else None

    def _call(self, call: _Call) -> dict[str, Any]:
        client = self._aws.client(call.service)
        method = getattr(client, _snake(call.operation))
        with aws_errors(f"{call.action} {call.name}"):
            answer: dict[str, Any] = method(**call.kwargs)
        return answer


# -- resolving the template's intrinsic functions --------------------------------------


@dataclass
class Resolver:
    """Resolves intrinsic functions against one deployed stack."""

    template: Mapping[str, Any]
    stack: Stack
    physical: Mapping[str, tuple[str, str]]
    refs: dict[str, Any] = field(default_factory=dict)  # emulated resources, as made

    @property
    def _arn_parts(self) -> list[str]:
        # arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID
        parts = self.stack.stack_id.split(":")
        return parts if len(parts) >= 6 else ["arn", "aws", "", "", "", ""]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key.startswith("Fn::"):
                return self._function(key, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def condition(self, name: str) -> bool:
        """A template condition's value (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise Unsupported(f"the template has no condition {name}")
        return self._truth(conditions[name])

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Condition":
                return self.condition(str(arg))
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))
            if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not self._truth(arg[0])
            if key in ("Fn::And", "Fn::Or") and isinstance(arg, list):
                found = [self._truth(item) for item in arg]
                return all(found) if key == "Fn::And" else any(found)
        raise Unsupported(f"the condition {value!r} is not evaluated in the sandbox")

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Fn::Sub":
            return self._sub(arg)
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            items = self.resolve(arg[1])
            return str(arg[0]).join(str(item) for item in _as_list(items, name))
        if name == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
            items = _as_list(self.resolve(arg[1]), name)
            index = int(self.resolve(arg[0]))
            if not 0 <= index < len(items):
                raise Unsupported(f"Fn::Select index {index} is outside a list of {len(items)}")
            return items[index]
        if name == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2:
                return self.get_att(str(parts[0]), str(self.resolve(parts[1])))
        raise Unsupported(f"{name} {arg!r} is not resolved (the sandbox resolves {SUPPORTED})")

    def ref(self, name: str) -> Any:
        if name in self.refs:
            return self.refs[name]
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            return self._parameter(name, parameters[name])
        if name in self.physical:
            return self.physical[name][1]
        raise Unsupported(f"Ref {name}: the stack has no such parameter or resource")

    def _pseudo(self, name: str) -> Any:
        parts = self._arn_parts
        return {
            "AWS::NoValue": _NO_VALUE,
            "AWS::Partition": parts[1],
            "AWS::Region": parts[3],
            "AWS::AccountId": parts[4],
            "AWS::StackName": self.stack.name,
            "AWS::StackId": self.stack.stack_id,
            "AWS::URLSuffix": "amazonaws.com",
        }.get(name)

    def _parameter(self, name: str, declared: Mapping[str, Any]) -> Any:
        value = self.stack.parameters.get(name, declared.get("Default"))
        if value is None:
            raise Unsupported(f"parameter {name} has no value in the stack")
        kind = str(declared.get("Type", "String"))
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            return [item.strip() for item in str(value).split(",")]
        return str(value)

    def get_att(self, name: str, attribute: str) -> Any:
        kind, physical = self.physical.get(name, ("", ""))
        if name in self.refs and attribute == "Arn":
            return self.refs[name]  # a scaling policy's Arn is its Ref
        partition, region, account = self._arn_parts[1], self._arn_parts[3], self._arn_parts[4]
        getters: dict[tuple[str, str], Callable[[], str]] = {
            ("AWS::ECS::Service", "Name"): lambda: physical.rsplit("/", 1)[-1],
            ("AWS::ECS::Service", "ServiceArn"): lambda: physical,
            ("AWS::ECS::Cluster", "Arn"): lambda: (
                f"arn:{partition}:ecs:{region}:{account}:cluster/{physical}"
            ),
            # arn:...:loadbalancer/app/NAME/ID -> app/NAME/ID (its metrics' dimension)
            ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): lambda: (
                physical.split(":loadbalancer/", 1)[-1]
            ),
        }
        getter = getters.get((kind, attribute))
        if getter is None or not physical:
            raise Unsupported(f"Fn::GetAtt {name}.{attribute} is not resolved in the sandbox")
        return getter()

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in dict(variables).items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            resource, dot, attribute = name.partition(".")
            return str(self.get_att(resource, attribute) if dot else self.ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))


def _as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Unsupported(f"{where} needs a list, got {value!r}")
    return value


# -- one API call per resource type ----------------------------------------------------


def _target(aws: Aws, resolver: Resolver, logical_id: str, props: dict[str, Any]) -> _Call:
    kwargs = _shaped(aws, "application-autoscaling", "RegisterScalableTarget", props)
    return _Call(
        "application-autoscaling",
        "RegisterScalableTarget",
        kwargs,
        "register scalable target",
        str(kwargs.get("ResourceId", logical_id)),
    )


def _policy(aws: Aws, resolver: Resolver, logical_id: str, props: dict[str, Any]) -> _Call:
    props = dict(props)
    target_id = props.pop("ScalingTargetId", None)
    if target_id is not None:
        parts = str(target_id).split("|")
        if len(parts) != 3:
            raise Unsupported(f"ScalingTargetId {target_id!r} is not RESOURCE|DIMENSION|NAMESPACE")
        keys = ("ResourceId", "ScalableDimension", "ServiceNamespace")
        props.update(zip(keys, parts, strict=True))
    kwargs = _shaped(aws, "application-autoscaling", "PutScalingPolicy", props)
    name = str(kwargs.get("PolicyName", logical_id))
    return _Call("application-autoscaling", "PutScalingPolicy", kwargs, "put scaling policy", name)


def _alarm(aws: Aws, resolver: Resolver, logical_id: str, props: dict[str, Any]) -> _Call:
    # Without AlarmName CloudFormation makes one up; a stable one of the same spirit here.
    props = {"AlarmName": f"{resolver.stack.name}-{logical_id}", **props}
    kwargs = _shaped(aws, "cloudwatch", "PutMetricAlarm", props)
    return _Call("cloudwatch", "PutMetricAlarm", kwargs, "put alarm", str(kwargs["AlarmName"]))


_BUILDERS: dict[str, Callable[[Aws, Resolver, str, dict[str, Any]], _Call]] = {
    TARGET: _target,
    POLICY: _policy,
    ALARM: _alarm,
}


def _ref_value(call: _Call, answer: Mapping[str, Any], logical_id: str) -> str:
    """What Ref of the resource gives, as AWS documents it."""
    args = call.kwargs
    if call.operation == "RegisterScalableTarget":
        return f"{args['ResourceId']}|{args['ScalableDimension']}|{args['ServiceNamespace']}"
    if call.operation == "PutScalingPolicy":
        # Planning a change: the ARN is only known once the policy is put.
        return str(answer.get("PolicyARN") or f"<the ARN {logical_id} will get>")
    return str(args["AlarmName"])


def _shaped(aws: Aws, service: str, operation: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """The properties as the operation's parameters: known fields only, scalars typed."""
    model = aws.client(service).meta.service_model.operation_model(operation)
    shaped: dict[str, Any] = _coerce(model.input_shape, dict(props), operation)
    return shaped


def _coerce(shape: Any, value: Any, where: str) -> Any:
    """CloudFormation accepts "60" for 60 and "true" for true; the API wants the types."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise Unsupported(f"{where} needs a mapping, got {value!r}")
        unknown = sorted(set(value) - set(shape.members))
        if unknown:
            raise Unsupported(f"{where} has no field {', '.join(unknown)}")
        return {k: _coerce(shape.members[k], v, f"{where}.{k}") for k, v in value.items()}
    if kind == "list":
        return [_coerce(shape.member, item, where) for item in _as_list(value, where)]
    try:
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("double", "float"):
            return float(value)
    except (TypeError, ValueError) as exc:
        raise Unsupported(f"{where} needs a number, got {value!r}") from exc
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value) if kind == "string" else value


def _same(desired: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    return all(
        _normal(value) == _normal(current.get(key))
        for key, value in desired.items()
        if key not in _WRITE_ONLY
    )


def _normal(value: Any) -> Any:
    """Comparable form: numbers as floats (moto answers 20.0 for 20), Dimensions by name."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normal(item) for item in value]
        if all(isinstance(item, dict) and "Name" in item for item in items):
            items.sort(key=lambda item: str(item["Name"]))
        return items
    return value


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
