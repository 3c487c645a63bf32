"""The sandbox's autoscaling emulation against moto: the lab template deployed by
deploy-service, then its scalable target, policies and alarms made through the plain APIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import boto3
import pytest

from ecslab.aws.autoscaling import Autoscaling
from ecslab.aws.cloudformation import Stack
from ecslab.compose.app import App
from ecslab.core.errors import DeployFailed
from ecslab.lab.template import TEMPLATE_PATH
from ecslab.sandbox.autoscaling import AutoscalingEmulator, Resolver, Unsupported
from ecslab.steps import deploy_ecr, deploy_service
from tests.helpers import make_app, put_fake_image, run_step

STACK = "ecslab-dev"
CLUSTER = "ecslab-dev-cluster"
SERVICE = "ecslab-dev-microservice"
RESOURCE_ID = f"service/{CLUSTER}/{SERVICE}"
DIMENSION: Final = "ecs:service:DesiredCount"


def _deploy(aws: boto3.Session, moto_server: str, **settings: Any) -> App:
    app = make_app(aws, moto_server, **settings)
    run_step(deploy_service.build(app))
    return app


@pytest.fixture
def deployed(aws: boto3.Session, moto_server: str) -> App:
    """The full lab template deployed to moto, as deploy-service deploys it."""
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    put_fake_image(aws, SERVICE, "v1")
    return _deploy(aws, moto_server)


def _policies(aws: boto3.Session) -> dict[str, dict[str, Any]]:
    found = aws.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION
    )["ScalingPolicies"]
    return {p["PolicyName"]: dict(p) for p in found}


def _alarms(aws: boto3.Session) -> dict[str, dict[str, Any]]:
    names = ["ecslab-dev-high-memory", "ecslab-dev-low-memory"]
    found = aws.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    return {a["AlarmName"]: dict(a) for a in found}


def _steps(policy: dict[str, Any]) -> list[tuple[float | None, float | None, int]]:
    return [
        (
            s.get("MetricIntervalLowerBound"),
            s.get("MetricIntervalUpperBound"),
            s["ScalingAdjustment"],
        )
        for s in policy["StepScalingPolicyConfiguration"]["StepAdjustments"]
    ]


def test_makes_the_templates_autoscaling_in_moto(deployed: App, aws: boto3.Session) -> None:
    emulator = AutoscalingEmulator(deployed.aws, STACK)
    planned = emulator.pending()
    assert planned.resources == (
        "ScalableTarget",
        "ScaleDownPolicy",
        "ScaleUpPolicy",
        "LowMemoryUsageAlarm",
        "HighMemoryUsageAlarm",
    )
    assert [c.logical_id for c in planned.changes] == list(planned.resources)
    assert _policies(aws) == {}  # planning changed nothing

    made = emulator.apply()

    assert [str(c) for c in made.changes] == [str(c) for c in planned.changes]
    targets = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(2, 10)]
    policies = _policies(aws)
    up, down = policies["ecslab-dev-scale-up"], policies["ecslab-dev-scale-down"]
    assert _steps(up) == [(0, 15, 1), (15, 25, 2), (25, None, 3)]
    assert _steps(down) == [(None, 0, -1)]
    for policy in (up, down):
        config = policy["StepScalingPolicyConfiguration"]
        assert policy["PolicyType"] == "StepScaling"
        assert (config["Cooldown"], config["AdjustmentType"]) == (60, "ChangeInCapacity")
        assert config["MetricAggregationType"] == "Average"
    alarms = _alarms(aws)
    high, low = alarms["ecslab-dev-high-memory"], alarms["ecslab-dev-low-memory"]
    assert (low["Threshold"], low["ComparisonOperator"]) == (20, "LessThanOrEqualToThreshold")
    assert (high["Threshold"], high["ComparisonOperator"]) == (
        70,
        "GreaterThanOrEqualToThreshold",
    )
    assert low["AlarmActions"] == [down["PolicyARN"]]
    assert high["AlarmActions"] == [up["PolicyARN"]]
    for alarm in (high, low):
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ECS", "MemoryUtilization")
        assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == (
            "Average",
            60,
            1,
        )
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions == {"ServiceName": SERVICE, "ClusterName": CLUSTER}
    assert low["AlarmDescription"] == (
        f"Low memory utilization for service {SERVICE} in environment dev"
    )
    # What verify reads finds nothing missing or mis-wired.
    setup = Autoscaling(deployed.aws).read(deployed.config.names, CLUSTER, SERVICE)
    assert setup.problems() == []


def test_a_second_run_changes_nothing(deployed: App, aws: boto3.Session) -> None:
    emulator = AutoscalingEmulator(deployed.aws, STACK)
    emulator.apply()
    arns = {name: p["PolicyARN"] for name, p in _policies(aws).items()}

    assert emulator.pending().matches
    again = emulator.apply()

    assert again.changes == () and len(again.resources) == 5
    # moto gives a policy a new ARN on every put: unchanged ARNs mean nothing was put.
    assert {name: p["PolicyARN"] for name, p in _policies(aws).items()} == arns


def test_a_changed_template_updates_what_changed(
    deployed: App, aws: boto3.Session, moto_server: str, tmp_path: Path
) -> None:
    AutoscalingEmulator(deployed.aws, STACK).apply()
    old_down = _policies(aws)["ecslab-dev-scale-down"]["PolicyARN"]
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    # The bound is a parameter whose deployed value every deploy keeps: the edit that
    # changes it is in the resource.
    text = text.replace("MaxCapacity: !Ref MaxCapacity", "MaxCapacity: 6")
    text = text.replace("ScalingAdjustment: 3", "ScalingAdjustment: 4")
    text = text.replace("Threshold: 20", "Threshold: 25")
    edited = tmp_path / "edited.yaml"
    edited.write_text(text, encoding="utf-8")
    app = _deploy(aws, moto_server, template=str(edited))
    emulator = AutoscalingEmulator(app.aws, STACK)

    changes = [c.logical_id for c in emulator.apply().changes]

    # The high alarm itself is unchanged, but moto gave the changed policy a new ARN.
    assert changes == [
        "ScalableTarget",
        "ScaleUpPolicy",
        "LowMemoryUsageAlarm",
        "HighMemoryUsageAlarm",
    ]
    targets = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID]
    )["ScalableTargets"]
    assert (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) == (2, 6)
    policies = _policies(aws)
    assert _steps(policies["ecslab-dev-scale-up"])[-1] == (25, None, 4)
    assert policies["ecslab-dev-scale-down"]["PolicyARN"] == old_down
    alarms = _alarms(aws)
    assert alarms["ecslab-dev-low-memory"]["Threshold"] == 25
    assert alarms["ecslab-dev-high-memory"]["AlarmActions"] == [
        policies["ecslab-dev-scale-up"]["PolicyARN"]
    ]
    assert emulator.pending().matches


def test_an_unresolvable_property_names_the_resource(
    deployed: App, aws: boto3.Session, moto_server: str, tmp_path: Path
) -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8").replace(
        "      MinCapacity: !Ref MinCapacity\n", "      MinCapacity: !Select [0, !GetAZs '']\n"
    )
    edited = tmp_path / "edited.yaml"
    edited.write_text(text, encoding="utf-8")
    app = _deploy(aws, moto_server, template=str(edited))

    with pytest.raises(DeployFailed, match=r"cannot emulate ScalableTarget .*Fn::GetAZs"):
        AutoscalingEmulator(app.aws, STACK).pending()


# -- the resolver on its own --------------------------------------------------------------

_STACK = Stack(
    name=STACK,
    stack_id="arn:aws:cloudformation:eu-west-1:111122223333:stack/ecslab-dev/abc",
    status="UPDATE_COMPLETE",
    parameters={"ProjectName": "shop", "SubnetIds": "subnet-1,subnet-2"},
)
_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "ProjectName": {"Type": "String"},
        "Environment": {"Type": "String", "Default": "dev"},
        "SubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>"},
    },
    "Resources": {},
}
_PHYSICAL = {
    "EcsCluster": ("AWS::ECS::Cluster", "shop-dev-cluster"),
    "EcsService": (
        "AWS::ECS::Service",
        "arn:aws:ecs:eu-west-1:111122223333:service/shop-dev-cluster/shop-dev-microservice",
    ),
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Fn::Sub": "${ProjectName}-${Environment}"}, "shop-dev"),
        (
            {"Fn::Sub": "${EcsService.Name} ${!Literal} ${AWS::Region}"},
            "shop-dev-microservice ${Literal} eu-west-1",
        ),
        ({"Fn::Sub": ["${A}-x", {"A": {"Ref": "AWS::AccountId"}}]}, "111122223333-x"),
        (
            {
                "Fn::Join": [
                    "/",
                    ["service", {"Ref": "EcsCluster"}, {"Fn::GetAtt": ["EcsService", "Name"]}],
                ]
            },
            "service/shop-dev-cluster/shop-dev-microservice",
        ),
        ({"Fn::Select": [1, {"Ref": "SubnetIds"}]}, "subnet-2"),
        (
            {"Fn::GetAtt": "EcsCluster.Arn"},
            "arn:aws:ecs:eu-west-1:111122223333:cluster/shop-dev-cluster",
        ),
        ({"A": 1, "B": {"Ref": "AWS::NoValue"}}, {"A": 1}),
    ],
)
def test_resolves_the_intrinsics_the_autoscaling_uses(expression: Any, expected: Any) -> None:
    assert Resolver(_TEMPLATE, _STACK, _PHYSICAL).resolve(expression) == expected


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ({"Ref": "Nope"}, "no such parameter or resource"),
        ({"Fn::GetAtt": ["EcsService", "Nope"]}, "EcsService.Nope"),
        ({"Fn::If": ["C", 1, 2]}, "Fn::If"),
    ],
)
def test_an_unknown_construct_is_named(expression: Any, why: str) -> None:
    with pytest.raises(Unsupported, match=why):
        Resolver(_TEMPLATE, _STACK, _PHYSICAL).resolve(expression)


def test_a_canary_stack_gets_its_rollback_alarm(aws: boto3.Session, moto_server: str) -> None:
    """The 5xx alarm exists only under the ShiftsTraffic condition: the rolling stack above
    has none, a canary stack has it, on its load balancer's full name."""
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    put_fake_image(aws, SERVICE, "v1")
    app = _deploy(aws, moto_server, deployment_strategy="canary:10:2")

    made = AutoscalingEmulator(app.aws, STACK).apply()

    assert "TargetErrorsAlarm" in made.resources
    (alarm,) = aws.client("cloudwatch").describe_alarms(AlarmNames=["ecslab-dev-target-5xx"])[
        "MetricAlarms"
    ]
    (balancer,) = aws.client("elbv2").describe_load_balancers(Names=["ecslab-dev-alb"])[
        "LoadBalancers"
    ]
    assert alarm["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": balancer["LoadBalancerArn"].split(":loadbalancer/")[1]}
    ]
    assert (alarm["MetricName"], alarm["TreatMissingData"]) == (
        "HTTPCode_Target_5XX_Count",
        "notBreaching",
    )
