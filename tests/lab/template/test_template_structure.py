"""The lab's template, read with its CloudFormation tags: the lab's resources and settings,
the names ecslab relies on, and each departure from the lab text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ecslab.core.naming import Names
from ecslab.lab.template import TEMPLATE_PATH, load_template

T = load_template()
RESOURCES: dict[str, Any] = T["Resources"]

CONTRACT_PARAMETERS = {
    "ProjectName", "Environment", "DockerImageTag", "CpuArchitecture", "FargateCpu",
    "FargateMemory",
    "ContainerPort", "DbHost", "DbPort", "DbName", "DbUser", "DbPassword", "VpcId",
    "SubnetIds", "DeploymentMaximumPercent", "DeploymentMinimumHealthyPercent",
    "DbPasswordVersion", "DesiredCount", "MinCapacity", "MaxCapacity", "DeploymentStrategy",
    "CanaryPercent", "LinearStepPercent", "TrafficShiftMinutes", "BakeTimeMinutes",
}  # fmt: skip
CONTRACT_OUTPUTS = [
    "RepositoryUri", "RepositoryName", "ClusterName", "ServiceName", "LoadBalancerUrl",
    "LogGroupName", "TaskDefinitionArn", "TaskSecurityGroupId",
]  # fmt: skip
EXPECTED_TYPES = {
    "EcrRepository": "AWS::ECR::Repository",
    "EcsCluster": "AWS::ECS::Cluster",
    "TaskRole": "AWS::IAM::Role",
    "TaskExecutionRole": "AWS::IAM::Role",
    "DbPasswordSecret": "AWS::SecretsManager::Secret",
    "CloudWatchLogsGroup": "AWS::Logs::LogGroup",
    "TaskDefinition": "AWS::ECS::TaskDefinition",
    "LoadBalancerSecurityGroup": "AWS::EC2::SecurityGroup",
    "TaskSecurityGroup": "AWS::EC2::SecurityGroup",
    "TaskSecurityGroupIngressFromLoadBalancer": "AWS::EC2::SecurityGroupIngress",
    "LoadBalancer": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "TargetGroup": "AWS::ElasticLoadBalancingV2::TargetGroup",
    "Listener": "AWS::ElasticLoadBalancingV2::Listener",
    "EcsService": "AWS::ECS::Service",
    "ScalableTarget": "AWS::ApplicationAutoScaling::ScalableTarget",
    "ScaleDownPolicy": "AWS::ApplicationAutoScaling::ScalingPolicy",
    "ScaleUpPolicy": "AWS::ApplicationAutoScaling::ScalingPolicy",
    "LowMemoryUsageAlarm": "AWS::CloudWatch::Alarm",
    "HighMemoryUsageAlarm": "AWS::CloudWatch::Alarm",
    "AlternateTargetGroup": "AWS::ElasticLoadBalancingV2::TargetGroup",
    "ProductionListenerRule": "AWS::ElasticLoadBalancingV2::ListenerRule",
    "TestListenerRule": "AWS::ElasticLoadBalancingV2::ListenerRule",
    "EcsInfrastructureRole": "AWS::IAM::Role",
    "TargetErrorsAlarm": "AWS::CloudWatch::Alarm",
}
TRAFFIC_SHIFTING = {
    "AlternateTargetGroup", "ProductionListenerRule", "TestListenerRule",
    "EcsInfrastructureRole", "TargetErrorsAlarm",
}  # fmt: skip


def props(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = RESOURCES[name]["Properties"]
    return properties


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def container() -> dict[str, Any]:
    (definition,) = props("TaskDefinition")["ContainerDefinitions"]
    return dict(definition)


def resolve_name(value: Any, project: str = "shop", env: str = "qa") -> str:
    """The name a `!Sub ${ProjectName}-${Environment}...` value gives."""
    assert isinstance(value, dict) and set(value) == {"Fn::Sub"}, value
    return str(value["Fn::Sub"]).replace("${ProjectName}", project).replace("${Environment}", env)


# -- contract -------------------------------------------------------------------------------


def test_every_resource_of_the_lab_with_its_type() -> None:
    assert {name: body["Type"] for name, body in RESOURCES.items()} == EXPECTED_TYPES


def test_parameters_are_the_contract_with_its_defaults() -> None:
    parameters = T["Parameters"]
    defaults = {name: body.get("Default") for name, body in parameters.items()}

    assert set(parameters) == CONTRACT_PARAMETERS
    assert defaults["CpuArchitecture"] == "X86_64"
    assert parameters["CpuArchitecture"]["AllowedValues"] == ["X86_64", "ARM64"]
    assert defaults["FargateCpu"] == 256
    assert defaults["FargateMemory"] == 512
    assert defaults["ContainerPort"] == 8080
    assert defaults["DbPort"] == 5432
    assert defaults["DbName"] == "microsite"
    assert defaults["DeploymentMaximumPercent"] == 200
    assert defaults["DeploymentMinimumHealthyPercent"] == 100
    # the lab's counts, now parameters `ecslab scale` changes through the stack
    assert (defaults["DesiredCount"], defaults["MinCapacity"], defaults["MaxCapacity"]) == (
        2,
        2,
        10,
    )
    assert parameters["DbPassword"]["NoEcho"] is True
    assert "Default" not in parameters["DbPassword"]
    assert parameters["VpcId"]["Type"] == "AWS::EC2::VPC::Id"
    assert parameters["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"


def test_outputs_are_the_contract() -> None:
    outputs = T["Outputs"]

    assert list(outputs) == CONTRACT_OUTPUTS
    assert outputs["RepositoryUri"]["Value"] == {"Fn::GetAtt": ["EcrRepository", "RepositoryUri"]}
    assert outputs["RepositoryName"]["Value"] == ref("EcrRepository")
    assert outputs["ClusterName"]["Value"] == ref("EcsCluster")
    assert outputs["ServiceName"]["Value"] == {"Fn::GetAtt": ["EcsService", "Name"]}
    assert outputs["LoadBalancerUrl"]["Value"] == {"Fn::Sub": "http://${LoadBalancer.DNSName}"}
    assert outputs["LogGroupName"]["Value"] == ref("CloudWatchLogsGroup")
    assert outputs["TaskDefinitionArn"]["Value"] == ref("TaskDefinition")
    assert outputs["TaskSecurityGroupId"]["Value"] == {
        "Fn::GetAtt": ["TaskSecurityGroup", "GroupId"]
    }


def test_names_agree_with_ecslab_naming() -> None:
    names = Names("shop", "qa")

    assert resolve_name(props("EcrRepository")["RepositoryName"]) == names.repository
    assert resolve_name(props("EcsCluster")["ClusterName"]) == names.cluster
    assert resolve_name(props("EcsService")["ServiceName"]) == names.service
    assert resolve_name(props("TaskDefinition")["Family"]) == names.task_family
    assert resolve_name(container()["Name"]) == names.container
    assert resolve_name(props("CloudWatchLogsGroup")["LogGroupName"]) == names.log_group
    assert resolve_name(props("LoadBalancer")["Name"]) == names.load_balancer
    # CloudFormation names the target group, so a port change can replace it.
    assert "Name" not in props("TargetGroup")


def test_name_parameters_accept_what_ecslab_config_accepts() -> None:
    parameters = T["Parameters"]
    project = re.compile(parameters["ProjectName"]["AllowedPattern"])
    environment = re.compile(parameters["Environment"]["AllowedPattern"])

    assert project.fullmatch("ecslab") and project.fullmatch("my-shop-2")
    assert not project.fullmatch("My_Shop") and not project.fullmatch("shop-")
    assert environment.fullmatch("dev") and environment.fullmatch("prod2")
    assert not environment.fullmatch("Dev") and not environment.fullmatch("a" * 11)


def test_outputs_avoid_resources_moto_skips() -> None:
    # moto answers CreateStack with HTTP 500 for a GetAtt on a resource it does not create.
    skipped = {
        name
        for name, body in RESOURCES.items()
        if body["Type"].startswith(
            ("AWS::SecretsManager::", "AWS::ApplicationAutoScaling::", "AWS::CloudWatch::")
        )
    }
    text = repr(T["Outputs"])

    assert not [name for name in skipped if name in text]


# -- repository, cluster, logs --------------------------------------------------------------


def test_repository_is_retained_and_named() -> None:
    repository = RESOURCES["EcrRepository"]

    assert repository["DeletionPolicy"] == "Retain"
    assert repository["UpdateReplacePolicy"] == "Retain"
    assert props("EcrRepository")["RepositoryName"]
    assert props("EcrRepository")["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_log_group_keeps_seven_days() -> None:
    assert props("CloudWatchLogsGroup")["RetentionInDays"] == 7


# -- task definition ------------------------------------------------------------------------


def test_task_definition_is_fargate_awsvpc_sized_by_parameters() -> None:
    task = props("TaskDefinition")

    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    assert task["Cpu"] == ref("FargateCpu")
    assert task["Memory"] == ref("FargateMemory")
    assert task["TaskRoleArn"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}
    assert task["ExecutionRoleArn"] == {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}
    assert container()["Image"] == ref("DockerImageTag")
    assert container()["Cpu"] == ref("FargateCpu")
    assert container()["Memory"] == ref("FargateMemory")


def test_container_listens_on_the_container_port() -> None:
    assert container()["PortMappings"] == [
        {"ContainerPort": ref("ContainerPort"), "Protocol": "tcp"}
    ]


def test_container_environment_has_the_lab_variables_as_strings() -> None:
    environment = {item["Name"]: item["Value"] for item in container()["Environment"]}
    parameters = T["Parameters"]

    assert environment == {
        "ENVIRONMENT": ref("Environment"),
        "PORT": {"Fn::Sub": "${ContainerPort}"},
        "HOST": ref("DbHost"),
        "DB_PORT": {"Fn::Sub": "${DbPort}"},
        "DB_NAME": ref("DbName"),
        "USER": ref("DbUser"),
    }
    for value in environment.values():
        if "Ref" in value:
            assert parameters[value["Ref"]]["Type"] == "String"


def test_password_comes_from_secrets_manager() -> None:
    names = [item["Name"] for item in container()["Environment"]]

    assert "PASSWORD" not in names
    assert container()["Secrets"] == [{"Name": "PASSWORD", "ValueFrom": ref("DbPasswordSecret")}]
    assert props("DbPasswordSecret")["SecretString"] == ref("DbPassword")
    assert "Name" not in props("DbPasswordSecret")


def test_a_new_password_gives_a_new_task_definition_revision() -> None:
    """The secret's new value alone would leave the task definition, and the tasks, as they are."""
    assert container()["DockerLabels"] == {"ecslab.db-password-version": ref("DbPasswordVersion")}
    assert "NoEcho" not in T["Parameters"]["DbPasswordVersion"]


def test_logs_go_to_the_log_group() -> None:
    assert container()["LogConfiguration"] == {
        "LogDriver": "awslogs",
        "Options": {
            "awslogs-group": ref("CloudWatchLogsGroup"),
            "awslogs-region": ref("AWS::Region"),
            "awslogs-stream-prefix": ref("AWS::StackName"),
        },
    }


def test_container_health_check_calls_health_on_the_port() -> None:
    check = container()["HealthCheck"]
    kind, command = check["Command"]

    assert kind == "CMD-SHELL"
    assert "http://127.0.0.1:${ContainerPort}/health" in command["Fn::Sub"]
    assert command["Fn::Sub"].startswith("python ")
    assert check["StartPeriod"] > 0


def test_container_hardening() -> None:
    definition = container()

    assert definition["LinuxParameters"] == {"InitProcessEnabled": True}
    assert definition["ReadonlyRootFilesystem"] is True
    assert definition["MountPoints"][0]["ContainerPath"] == "/tmp"
    assert props("TaskDefinition")["Volumes"] == [{"Name": "tmp"}]


# -- IAM ------------------------------------------------------------------------------------


def _statements(role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in props(role).get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_execution_role_has_the_correctly_spelled_managed_policy() -> None:
    assert props("TaskExecutionRole")["ManagedPolicyArns"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AmazonECSTaskExecutionRolePolicy"
        }
    ]


def test_execution_role_reads_that_one_secret_only() -> None:
    assert _statements("TaskExecutionRole") == [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": ref("DbPasswordSecret"),
        }
    ]


# ECS Exec's channels: IAM defines no resource for them, so they can only be granted on "*".
ECS_EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def test_task_role_grants_only_ecs_exec_channels() -> None:
    role = props("TaskRole")

    assert "ManagedPolicyArns" not in role
    (allowed,) = _statements("TaskRole")
    assert (allowed["Effect"], allowed["Action"]) == ("Allow", ECS_EXEC_ACTIONS)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}


def test_no_policy_grants_a_wildcard() -> None:
    for name, body in RESOURCES.items():
        if body["Type"] == "AWS::IAM::Role":
            for statement in _statements(name):
                assert "*" not in repr(statement["Action"]), name
                if statement["Action"] != ECS_EXEC_ACTIONS:
                    assert statement.get("Resource") != "*", name


# -- network --------------------------------------------------------------------------------


def test_load_balancer_security_group_opens_80_and_reaches_only_the_tasks() -> None:
    group = props("LoadBalancerSecurityGroup")

    assert [(r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupIngress"]] == [
        (80, 80, "0.0.0.0/0")
    ]
    assert [
        (r["FromPort"], r["ToPort"], r["DestinationSecurityGroupId"])
        for r in group["SecurityGroupEgress"]
    ] == [(ref("ContainerPort"), ref("ContainerPort"), ref("TaskSecurityGroup"))]


def test_tasks_accept_only_the_load_balancer_on_the_container_port() -> None:
    rules = [
        body for body in RESOURCES.values() if body["Type"] == "AWS::EC2::SecurityGroupIngress"
    ]

    assert "SecurityGroupIngress" not in props("TaskSecurityGroup")
    assert [rule["Properties"] for rule in rules] == [
        {
            "Description": "From the load balancer on the container port only",
            "GroupId": ref("TaskSecurityGroup"),
            "IpProtocol": "tcp",
            "FromPort": ref("ContainerPort"),
            "ToPort": ref("ContainerPort"),
            "SourceSecurityGroupId": ref("LoadBalancerSecurityGroup"),
        }
    ]


def test_tasks_reach_https_and_the_database_only() -> None:
    egress = props("TaskSecurityGroup")["SecurityGroupEgress"]

    assert [(rule["FromPort"], rule["ToPort"]) for rule in egress] == [
        (443, 443),
        (ref("DbPort"), ref("DbPort")),
    ]


def test_load_balancer_listener_and_target_group() -> None:
    balancer, listener, group = props("LoadBalancer"), props("Listener"), props("TargetGroup")

    assert balancer["Scheme"] == "internet-facing"
    assert balancer["Subnets"] == ref("SubnetIds")
    assert balancer["SecurityGroups"] == [ref("LoadBalancerSecurityGroup")]
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    assert listener["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": ref("TargetGroup")}]
    assert group["TargetType"] == "ip"
    assert group["Port"] == ref("ContainerPort")
    assert group["VpcId"] == ref("VpcId")
    assert group["HealthCheckPath"] == "/health"


# -- service --------------------------------------------------------------------------------


def test_service_runs_two_fargate_tasks_behind_the_load_balancer() -> None:
    service = props("EcsService")

    assert service["LaunchType"] == "FARGATE"
    assert service["DesiredCount"] == ref("DesiredCount")
    assert service["EnableExecuteCommand"] is True
    assert service["Cluster"] == ref("EcsCluster")
    assert service["TaskDefinition"] == ref("TaskDefinition")
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"] == [
        ref("TaskSecurityGroup")
    ]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == ref("SubnetIds")
    assert [
        {k: v for k, v in balancer.items() if k != "AdvancedConfiguration"}
        for balancer in service["LoadBalancers"]
    ] == [
        {
            "ContainerName": container()["Name"],
            "ContainerPort": ref("ContainerPort"),
            "TargetGroupArn": ref("TargetGroup"),
        }
    ]
    assert RESOURCES["EcsService"]["DependsOn"] == "Listener"


def test_deployment_is_a_rolling_update_with_circuit_breaker() -> None:
    deployment = props("EcsService")["DeploymentConfiguration"]

    assert deployment["MaximumPercent"] == ref("DeploymentMaximumPercent")
    assert deployment["MinimumHealthyPercent"] == ref("DeploymentMinimumHealthyPercent")
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    description = T["Parameters"]["DeploymentMaximumPercent"]["Description"]
    assert "100 / 0" in description  # the lab's values are documented


def _if(value: Any) -> list[Any]:
    assert isinstance(value, dict) and set(value) == {"Fn::If"}, value
    branches: list[Any] = value["Fn::If"]
    return branches


def test_rolling_keeps_the_service_as_it_was() -> None:
    """Every strategy property is `!If [condition, value, NoValue]`, every strategy
    resource has the ShiftsTraffic condition, which ROLLING (the default) makes false."""
    deployment = props("EcsService")["DeploymentConfiguration"]
    no_value = ref("AWS::NoValue")

    assert T["Parameters"]["DeploymentStrategy"]["Default"] == "ROLLING"
    assert T["Conditions"]["ShiftsTraffic"] == {
        "Fn::Not": [{"Fn::Equals": [ref("DeploymentStrategy"), "ROLLING"]}]
    }
    for key, condition in (
        ("Strategy", "ShiftsTraffic"),
        ("BakeTimeInMinutes", "ShiftsTraffic"),
        ("Alarms", "ShiftsTraffic"),
        ("CanaryConfiguration", "IsCanary"),
        ("LinearConfiguration", "IsLinear"),
    ):
        branches = _if(deployment[key])
        assert branches[0] == condition and branches[2] == no_value, key
    (balancer,) = props("EcsService")["LoadBalancers"]
    assert _if(balancer["AdvancedConfiguration"])[0] == "ShiftsTraffic"
    for name in TRAFFIC_SHIFTING:
        assert RESOURCES[name]["Condition"] == "ShiftsTraffic", name
    assert all("Condition" not in RESOURCES[name] for name in set(RESOURCES) - TRAFFIC_SHIFTING)


def test_traffic_shifting_names_what_ecs_needs() -> None:
    deployment = props("EcsService")["DeploymentConfiguration"]
    (balancer,) = props("EcsService")["LoadBalancers"]

    assert _if(balancer["AdvancedConfiguration"])[1] == {
        "AlternateTargetGroupArn": ref("AlternateTargetGroup"),
        "ProductionListenerRule": ref("ProductionListenerRule"),
        "TestListenerRule": ref("TestListenerRule"),
        "RoleArn": {"Fn::GetAtt": ["EcsInfrastructureRole", "Arn"]},
    }
    assert _if(deployment["CanaryConfiguration"])[1] == {
        "CanaryPercent": ref("CanaryPercent"),
        "CanaryBakeTimeInMinutes": ref("TrafficShiftMinutes"),
    }
    assert _if(deployment["LinearConfiguration"])[1] == {
        "StepPercent": ref("LinearStepPercent"),
        "StepBakeTimeInMinutes": ref("TrafficShiftMinutes"),
    }
    assert _if(deployment["Alarms"])[1] == {
        "AlarmNames": [props("TargetErrorsAlarm")["AlarmName"]],
        "Enable": True,
        "Rollback": True,
    }
    role = props("EcsInfrastructureRole")
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs.amazonaws.com"}
    (policy,) = role["ManagedPolicyArns"]
    assert str(policy["Fn::Sub"]).endswith(
        ":iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
    )
    alarm = props("TargetErrorsAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
    )
    rule = props("ProductionListenerRule")["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert [g["Weight"] for g in rule] == [100, 0]


# -- autoscaling ----------------------------------------------------------------------------


def test_scalable_target_is_the_service_desired_count_between_min_and_max() -> None:
    target = props("ScalableTarget")

    assert target["ServiceNamespace"] == "ecs"
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        ref("MinCapacity"),
        ref("MaxCapacity"),
    )
    assert target["ResourceId"] == {
        "Fn::Join": ["/", ["service", ref("EcsCluster"), {"Fn::GetAtt": ["EcsService", "Name"]}]]
    }
    # The service-linked role is used: no RoleARN and no AutoScalingRole.
    assert "RoleARN" not in target
    assert "AutoScalingRole" not in RESOURCES


def step(lower: int | None, upper: int | None, adjustment: int) -> dict[str, int]:
    bounds = {"MetricIntervalLowerBound": lower, "MetricIntervalUpperBound": upper}
    return {**{k: v for k, v in bounds.items() if v is not None}, "ScalingAdjustment": adjustment}


@pytest.mark.parametrize(
    ("policy", "steps"),
    [
        ("ScaleDownPolicy", [step(None, 0, -1)]),
        ("ScaleUpPolicy", [step(0, 15, 1), step(15, 25, 2), step(25, None, 3)]),
    ],
)
def test_scaling_policies_keep_the_lab_steps(policy: str, steps: list[dict[str, int]]) -> None:
    body = props(policy)
    config = body["StepScalingPolicyConfiguration"]

    assert body["PolicyType"] == "StepScaling"
    assert body["ScalingTargetId"] == ref("ScalableTarget")
    assert config["AdjustmentType"] == "ChangeInCapacity"
    assert config["MetricAggregationType"] == "Average"
    assert config["Cooldown"] == 60
    assert config["StepAdjustments"] == steps


@pytest.mark.parametrize(
    ("alarm", "threshold", "operator", "policy"),
    [
        ("LowMemoryUsageAlarm", 20, "LessThanOrEqualToThreshold", "ScaleDownPolicy"),
        ("HighMemoryUsageAlarm", 70, "GreaterThanOrEqualToThreshold", "ScaleUpPolicy"),
    ],
)
def test_memory_alarms(alarm: str, threshold: int, operator: str, policy: str) -> None:
    body = props(alarm)

    assert (body["Namespace"], body["MetricName"]) == ("AWS/ECS", "MemoryUtilization")
    assert body["Statistic"] == "Average"
    assert (body["Period"], body["EvaluationPeriods"]) == (60, 1)
    assert (body["Threshold"], body["ComparisonOperator"]) == (threshold, operator)
    assert body["AlarmActions"] == [ref(policy)]
    assert body["Dimensions"] == [
        {"Name": "ServiceName", "Value": {"Fn::GetAtt": ["EcsService", "Name"]}},
        {"Name": "ClusterName", "Value": ref("EcsCluster")},
    ]
    assert "${EcsService.Name}" in body["AlarmDescription"]["Fn::Sub"]


def _adjustment(alarm: str, policy: str, memory: float) -> int | None:
    """The change in tasks Application Auto Scaling makes at a memory percentage."""
    threshold = props(alarm)["Threshold"]
    below = props(alarm)["ComparisonOperator"].startswith("LessThan")
    if (memory > threshold) if below else (memory < threshold):
        return None
    difference = memory - threshold  # step bounds are relative to the threshold
    for step in props(policy)["StepScalingPolicyConfiguration"]["StepAdjustments"]:
        lower = step.get("MetricIntervalLowerBound", float("-inf"))
        upper = step.get("MetricIntervalUpperBound", float("inf"))
        # AWS: above the threshold a step is [lower, upper); below it, (lower, upper].
        if (lower < difference <= upper) if below else (lower <= difference < upper):
            return int(step["ScalingAdjustment"])
    raise AssertionError(f"no step covers {memory} % for {policy}")


@pytest.mark.parametrize(
    ("memory", "change"),
    [(0, -1), (20, -1), (21, None), (69, None), (70, 1), (84, 1), (85, 2), (94, 2), (95, 3)],
)
def test_step_bounds_are_relative_to_the_thresholds(memory: float, change: int | None) -> None:
    down = _adjustment("LowMemoryUsageAlarm", "ScaleDownPolicy", memory)
    up = _adjustment("HighMemoryUsageAlarm", "ScaleUpPolicy", memory)

    assert (down if down is not None else up) == change


# -- the template's own notes ---------------------------------------------------------------


def test_every_checkov_skip_gives_a_reason() -> None:
    skips = [
        (name, skip)
        for name, body in RESOURCES.items()
        for skip in body.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
        assert len(skip.get("comment", "").split()) >= 6, (name, skip)


def test_departures_are_commented_in_the_template() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")

    for marker in (
        "AmazoneCSTaskExecutionRolePolicy",
        "s3:*",
        "MaximumPercent 100 / MinimumHealthyPercent 0",
        "no AutoScalingRole",
        "Secrets Manager",
        "circuit breaker",
    ):
        assert marker in text, marker
    assert text.count("# LAB:") >= 10


def test_task_architecture_follows_the_cpu_architecture_parameter() -> None:
    platform = RESOURCES["TaskDefinition"]["Properties"]["RuntimePlatform"]

    assert platform == {"OperatingSystemFamily": "LINUX", "CpuArchitecture": ref("CpuArchitecture")}
