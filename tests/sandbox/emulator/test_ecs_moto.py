"""What the sandbox's moto keeps of an ECS service and task definition made by CloudFormation.

Through serve-moto (the sandbox's moto process with its patches) and plain boto3: the
fields moto's CloudFormation drops are there, an update moves the service to the new
revision, and deleting the stack deletes the service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.emulator.ecs_support import Sandbox, sandbox_api


def _template(image: str, subnets: list[str], group: str, vpc: str) -> str:
    resources: dict[str, Any] = {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "cfn"}},
        "TargetGroup": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "Name": "cfn-tg",
                "Port": 8080,
                "Protocol": "HTTP",
                "TargetType": "ip",
                "VpcId": vpc,
                "TargetGroupAttributes": [
                    {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}
                ],
            },
        },
        "TaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "cfn-web",
                "Cpu": "256",
                "Memory": "512",
                "NetworkMode": "awsvpc",
                "RequiresCompatibilities": ["FARGATE"],
                "ContainerDefinitions": [{"Name": "web", "Image": image, "Essential": True}],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": {"Ref": "Cluster"},
                "ServiceName": "cfn-web",
                "TaskDefinition": {"Ref": "TaskDefinition"},
                "DesiredCount": 0,
                "LaunchType": "FARGATE",
                "HealthCheckGracePeriodSeconds": 60,
                "DeploymentConfiguration": {
                    "MaximumPercent": 200,
                    "MinimumHealthyPercent": 100,
                    "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                },
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {"Subnets": subnets, "SecurityGroups": [group]}
                },
            },
        },
    }
    return json.dumps({"Resources": resources})


@pytest.fixture
def box(dockerd: Any, tmp_path: Path) -> Iterator[Sandbox]:
    # The ECS area alone: these tests read what its moto patches keep from a template,
    # with moto's own (instant) stack operations; the timed ones are tested on their own.
    with sandbox_api(tmp_path, dockerd.docker_host, areas="ecs_scheduler") as running:
        yield running


def test_cloudformation_keeps_the_service_and_task_definition_fields(box: Sandbox) -> None:
    ec2, cfn, ecs = box.client("ec2"), box.client("cloudformation"), box.client("ecs")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    cfn.create_stack(StackName="cfn", TemplateBody=_template("app:1", subnets, group, vpc))

    [service] = ecs.describe_services(cluster="cfn", services=["cfn-web"])["services"]
    assert service["launchType"] == "FARGATE"
    assert service["healthCheckGracePeriodSeconds"] == 60
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert service["deploymentConfiguration"]["maximumPercent"] == 200
    assert service["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == subnets
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    assert (definition["taskDefinition"]["cpu"], definition["taskDefinition"]["networkMode"]) == (
        "256",
        "awsvpc",
    )

    elbv2 = box.client("elbv2")
    group = elbv2.describe_target_groups(Names=["cfn-tg"])["TargetGroups"][0]["TargetGroupArn"]
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=group)["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in attributes

    cfn.update_stack(StackName="cfn", TemplateBody=_template("app:2", subnets, group, vpc))
    [updated] = ecs.describe_services(cluster="cfn", services=["cfn-web"])["services"]
    assert updated["taskDefinition"].endswith("task-definition/cfn-web:2")
    assert updated["launchType"] == "FARGATE"

    cfn.delete_stack(StackName="cfn")
    [deleted] = ecs.describe_services(cluster="cfn", services=["cfn-web"])["services"] or [
        {"status": "INACTIVE"}
    ]
    assert deleted["status"] == "INACTIVE"


# What ecs-deploy (and the AWS CLI's `register-task-definition --cli-input-json`) leaves out
# of a DescribeTaskDefinition answer before registering it again: AWS's read-only fields.
READ_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)


def _full_template(subnets: list[str], group: str, vpc: str) -> str:
    """The lab's kind of task definition and service: a secret, roles, every container field."""
    body = json.loads(_template("app:1", subnets, group, vpc))
    resources = body["Resources"]
    resources["DbSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"Description": "db password", "SecretString": "s3cret"},
    }
    resources["TaskDefinition"]["Properties"].update(
        {
            "TaskRoleArn": "arn:aws:iam::123456789012:role/task",
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/execution",
            "RuntimePlatform": {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64"},
            "Volumes": [{"Name": "tmp"}],
            "ContainerDefinitions": [
                {
                    "Name": "web",
                    "Image": "app:1",
                    "Essential": True,
                    "Cpu": 256,
                    "Memory": 512,
                    "ReadonlyRootFilesystem": True,
                    "MountPoints": [
                        {"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}
                    ],
                    "LinuxParameters": {"InitProcessEnabled": True},
                    "Environment": [{"Name": "PORT", "Value": "8080"}],
                    "DockerLabels": {"lab.version": "1"},
                    "Secrets": [{"Name": "PASSWORD", "ValueFrom": {"Ref": "DbSecret"}}],
                    "PortMappings": [{"ContainerPort": 8080, "Protocol": "tcp"}],
                    "HealthCheck": {
                        "Command": ["CMD-SHELL", "true"],
                        "Interval": 30,
                        "Timeout": 5,
                        "Retries": 3,
                        "StartPeriod": 15,
                    },
                    "LogConfiguration": {
                        "LogDriver": "awslogs",
                        "Options": {"awslogs-group": "/ecs/cfn", "awslogs-region": "us-east-1"},
                    },
                }
            ],
        }
    )
    resources["Service"]["Properties"].update(
        {
            "EnableExecuteCommand": True,
            "PropagateTags": "SERVICE",
            "EnableECSManagedTags": True,
            "LoadBalancers": [
                {
                    "ContainerName": "web",
                    "ContainerPort": 8080,
                    "TargetGroupArn": {"Ref": "TargetGroup"},
                }
            ],
        }
    )
    return json.dumps(body)


def test_a_task_definition_read_back_registers_again_unchanged(box: Sandbox) -> None:
    ec2, cfn, ecs = box.client("ec2"), box.client("cloudformation"), box.client("ecs")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    cfn.create_stack(StackName="full", TemplateBody=_full_template(subnets, group, vpc))

    read = ecs.describe_task_definition(taskDefinition="cfn-web")["taskDefinition"]
    [container] = read["containerDefinitions"]
    [secret] = container["secrets"]
    assert secret["name"] == "PASSWORD"
    assert secret["valueFrom"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")
    value = box.client("secretsmanager").get_secret_value(SecretId=secret["valueFrom"])
    assert value["SecretString"] == "s3cret"
    assert (read["cpu"], read["memory"], read["networkMode"]) == ("256", "512", "awsvpc")
    assert read["requiresCompatibilities"] == ["FARGATE"]
    assert "FARGATE" in read["compatibilities"]
    assert read["executionRoleArn"].endswith(":role/execution")
    assert read["taskRoleArn"].endswith(":role/task")
    assert read["runtimePlatform"] == {
        "operatingSystemFamily": "LINUX",
        "cpuArchitecture": "X86_64",
    }
    assert container["linuxParameters"] == {"initProcessEnabled": True}
    assert container["readonlyRootFilesystem"] is True
    assert container["healthCheck"]["startPeriod"] == 15

    # exactly what ecs-deploy does: the read fields minus the read-only ones, registered
    again = {k: v for k, v in read.items() if k not in READ_ONLY}
    registered = ecs.register_task_definition(**again)["taskDefinition"]
    assert registered["revision"] == read["revision"] + 1
    assert {k: v for k, v in registered.items() if k not in READ_ONLY} == again

    [service] = ecs.describe_services(cluster="cfn", services=["cfn-web"])["services"]
    assert service["enableExecuteCommand"] is True
    assert service["loadBalancers"][0]["containerPort"] == 8080
    assert service["loadBalancers"][0]["containerName"] == "web"
    assert service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [group]
    assert (service["launchType"], service["propagateTags"]) == ("FARGATE", "SERVICE")
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    updated = ecs.update_service(
        cluster="cfn", service="cfn-web", taskDefinition=registered["taskDefinitionArn"]
    )["service"]
    assert updated["taskDefinition"] == registered["taskDefinitionArn"]
    assert updated["enableExecuteCommand"] is True
