"""Both deploys of the lab's template against a moto server over HTTP, read back through
each service's own API.

moto creates the cluster, roles, log group, task definition, service, load balancer,
listener, target group and security groups; it skips the Secrets Manager secret, the
Application Auto Scaling resources and the alarms (the stack still completes), and keeps
only part of some properties (PLATFORM.md). The assertions stick to what moto keeps.
"""

from __future__ import annotations

import urllib.request
from typing import Any, Literal

import boto3
import pytest

from ecslab.core.naming import Names
from ecslab.lab.template import load_template, phase1_template, template_body

# moto warns for each resource type it skips; the module docstring says which.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")

STACK = "ecslab-dev"
NAMES = Names("ecslab", "dev")
DIGEST = "sha256:" + "ab" * 32
FULL = load_template()
PHASE1 = phase1_template(FULL)


def _parameters(values: dict[str, str]) -> list[Any]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def _naming() -> dict[str, str]:
    return {"ProjectName": NAMES.project, "Environment": NAMES.environment}


def _full_parameters(aws: boto3.Session) -> dict[str, str]:
    ec2 = aws.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    vpc = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    by_zone = {subnet["AvailabilityZone"]: subnet["SubnetId"] for subnet in subnets}
    repository = aws.client("ecr").describe_repositories(repositoryNames=[NAMES.repository])
    uri = repository["repositories"][0]["repositoryUri"]
    return {
        **_naming(),
        "DockerImageTag": f"{uri}@{DIGEST}",
        "DbHost": "db.internal.example",
        "DbUser": "microsite",
        "DbPassword": "not-a-real-password",
        "VpcId": vpc,
        "SubnetIds": ",".join(sorted(by_zone.values())[:2]),
    }


def _deploy(
    aws: boto3.Session,
    document: dict[str, Any],
    values: dict[str, str],
    kind: Literal["CREATE", "UPDATE"],
) -> list[tuple[str, str]]:
    """One deploy the way ecslab does it: a change set, described, then executed."""
    cloudformation = aws.client("cloudformation")
    created = cloudformation.create_change_set(
        StackName=STACK,
        ChangeSetName=f"ecslab-{kind.lower()}",
        ChangeSetType=kind,
        TemplateBody=template_body(document),
        Parameters=_parameters(values),
        Capabilities=["CAPABILITY_IAM"],
    )
    change_set = cloudformation.describe_change_set(ChangeSetName=created["Id"])
    assert change_set["Status"] == "CREATE_COMPLETE", change_set.get("StatusReason")
    changes: list[tuple[str, str]] = [
        (change["ResourceChange"]["Action"], change["ResourceChange"]["LogicalResourceId"])
        for change in change_set["Changes"]
    ]
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    stack = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == f"{kind}_COMPLETE"
    return changes


def _physical_ids(aws: boto3.Session) -> dict[str, str]:
    summaries = aws.client("cloudformation").list_stack_resources(StackName=STACK)
    return {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in summaries["StackResourceSummaries"]
        if item["LogicalResourceId"]
    }


@pytest.fixture
def deployed(aws: boto3.Session) -> boto3.Session:
    """Both deploys done, each checked for the changes it announces."""
    first = _deploy(aws, PHASE1, _naming(), "CREATE")
    assert first == [("Add", "EcrRepository")]
    second = _deploy(aws, FULL, _full_parameters(aws), "UPDATE")
    assert sorted(second) == sorted(
        ("Add", name) for name in FULL["Resources"] if name != "EcrRepository"
    )
    return aws


# -- first deploy ---------------------------------------------------------------------------


def test_first_deploy_creates_only_the_repository(aws: boto3.Session) -> None:
    _deploy(aws, PHASE1, _naming(), "CREATE")

    repositories = aws.client("ecr").describe_repositories()["repositories"]
    assert [repository["repositoryName"] for repository in repositories] == [NAMES.repository]
    assert aws.client("ecs").list_clusters()["clusterArns"] == []
    assert set(_physical_ids(aws)) == {"EcrRepository"}


# -- second deploy --------------------------------------------------------------------------


def test_cluster(deployed: boto3.Session) -> None:
    clusters = deployed.client("ecs").describe_clusters(clusters=[NAMES.cluster])["clusters"]

    assert [cluster["status"] for cluster in clusters] == ["ACTIVE"]


def test_roles(deployed: boto3.Session) -> None:
    iam, ids = deployed.client("iam"), _physical_ids(deployed)

    for logical in ("TaskRole", "TaskExecutionRole"):
        role: Any = iam.get_role(RoleName=ids[logical])["Role"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    # The task role grants the application nothing: only ECS Exec's four channels.
    assert iam.list_role_policies(RoleName=ids["TaskRole"])["PolicyNames"] == ["ecs-exec"]
    exec_policy = iam.get_role_policy(RoleName=ids["TaskRole"], PolicyName="ecs-exec")
    # moto keeps a CloudFormation inline policy as the Python repr of the document
    document = str(exec_policy["PolicyDocument"])
    for action in ("CreateControlChannel", "CreateDataChannel", "OpenControlChannel"):
        assert f"ssmmessages:{action}" in document
    assert "ssmmessages:OpenDataChannel" in document
    execution_policies = iam.list_role_policies(RoleName=ids["TaskExecutionRole"])
    assert execution_policies["PolicyNames"] == ["read-db-password"]


def test_log_group(deployed: boto3.Session) -> None:
    groups = deployed.client("logs").describe_log_groups(logGroupNamePrefix=NAMES.log_group)

    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups["logGroups"]] == [
        (NAMES.log_group, 7)
    ]


def test_task_definition(deployed: boto3.Session) -> None:
    ecs = deployed.client("ecs")
    arn = _physical_ids(deployed)["TaskDefinition"]

    task = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]

    assert task["family"] == NAMES.task_family
    (container,) = task["containerDefinitions"]
    assert container["name"] == NAMES.container
    assert container["image"].endswith(f"/{NAMES.repository}@{DIGEST}")
    assert container["portMappings"][0]["containerPort"] == 8080
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert environment == {
        "ENVIRONMENT": "dev",
        "PORT": "8080",
        "HOST": "db.internal.example",
        "DB_PORT": "5432",
        "DB_NAME": "microsite",
        "USER": "microsite",
    }
    assert [secret["name"] for secret in container["secrets"]] == ["PASSWORD"]
    assert "not-a-real-password" not in repr(task)
    assert container["logConfiguration"]["options"]["awslogs-group"] == NAMES.log_group


def test_service(deployed: boto3.Session) -> None:
    ecs = deployed.client("ecs")

    (service,) = ecs.describe_services(cluster=NAMES.cluster, services=[NAMES.service])["services"]

    assert service["status"] == "ACTIVE"
    assert service["desiredCount"] == 2
    assert service["taskDefinition"] == _physical_ids(deployed)["TaskDefinition"]


def test_load_balancer_listener_and_target_group(deployed: boto3.Session) -> None:
    elbv2 = deployed.client("elbv2")

    (balancer,) = elbv2.describe_load_balancers(Names=[NAMES.load_balancer])["LoadBalancers"]
    arn = _physical_ids(deployed)["TargetGroup"]
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]

    assert (balancer["Scheme"], balancer["Type"]) == ("internet-facing", "application")
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    assert listener["DefaultActions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    assert (group["TargetType"], group["Port"], group["HealthCheckPath"]) == ("ip", 8080, "/health")
    assert group["LoadBalancerArns"] == [balancer["LoadBalancerArn"]]


def test_security_groups(deployed: boto3.Session) -> None:
    ec2, ids = deployed.client("ec2"), _physical_ids(deployed)
    balancer_id, task_id = ids["LoadBalancerSecurityGroup"], ids["TaskSecurityGroup"]

    groups = ec2.describe_security_groups(GroupIds=[balancer_id, task_id])["SecurityGroups"]
    by_id = {group["GroupId"]: group for group in groups}

    (public,) = by_id[balancer_id]["IpPermissions"]
    assert (public["FromPort"], public["ToPort"]) == (80, 80)
    assert public["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    (from_balancer,) = by_id[task_id]["IpPermissions"]
    assert (from_balancer["FromPort"], from_balancer["ToPort"]) == (8080, 8080)
    assert [pair["GroupId"] for pair in from_balancer["UserIdGroupPairs"]] == [balancer_id]
    assert from_balancer["IpRanges"] == []


def test_execution_role_policy_is_one_aws_has(
    aws: boto3.Session, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cfn-lint does not know AWS managed policy names; moto's copy of AWS's list does.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=30):
        pass
    iam = aws.client("iam")
    (arn,) = FULL["Resources"]["TaskExecutionRole"]["Properties"]["ManagedPolicyArns"]
    template_arn = arn["Fn::Sub"].replace("${AWS::Partition}", "aws")
    lab_arn = template_arn.replace("AmazonECS", "AmazoneCS")

    assert iam.get_policy(PolicyArn=template_arn)["Policy"]["PolicyName"] == (
        "AmazonECSTaskExecutionRolePolicy"
    )
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=lab_arn)
    (infrastructure,) = FULL["Resources"]["EcsInfrastructureRole"]["Properties"][
        "ManagedPolicyArns"
    ]
    infrastructure_arn = infrastructure["Fn::Sub"].replace("${AWS::Partition}", "aws")
    assert iam.get_policy(PolicyArn=infrastructure_arn)["Policy"]["PolicyName"] == (
        "AmazonECSInfrastructureRolePolicyForLoadBalancers"
    )


# -- outputs and deletion -------------------------------------------------------------------


def test_outputs(aws: boto3.Session) -> None:
    # moto fills Outputs on CreateStack/UpdateStack only (never after a change set), so
    # the outputs are checked through those two calls with the same two templates.
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK, TemplateBody=template_body(PHASE1), Parameters=_parameters(_naming())
    )
    first = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    cloudformation.update_stack(
        StackName=STACK,
        TemplateBody=template_body(FULL),
        Parameters=_parameters(_full_parameters(aws)),
        Capabilities=["CAPABILITY_IAM"],
    )
    second = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]

    assert {o["OutputKey"] for o in first} == {"RepositoryUri", "RepositoryName"}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in second}
    assert outputs["RepositoryUri"].endswith(f".amazonaws.com/{NAMES.repository}")
    assert outputs["RepositoryName"] == NAMES.repository
    assert outputs["ClusterName"] == NAMES.cluster
    assert outputs["ServiceName"] == NAMES.service
    assert outputs["LoadBalancerUrl"].startswith(f"http://{NAMES.load_balancer}-")
    assert outputs["LogGroupName"] == NAMES.log_group
    assert outputs["TaskDefinitionArn"].endswith(f":task-definition/{NAMES.task_family}:1")


def test_repository_outlives_the_stack(deployed: boto3.Session) -> None:
    cloudformation = deployed.client("cloudformation")
    stack_id = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]

    cloudformation.delete_stack(StackName=STACK)

    stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_COMPLETE"
    repositories = deployed.client("ecr").describe_repositories()["repositories"]
    assert [repository["repositoryName"] for repository in repositories] == [NAMES.repository]


def test_a_canary_stack_adds_what_traffic_shifting_needs(aws: boto3.Session) -> None:
    """DeploymentStrategy CANARY deploys in moto too: the second target group, the two
    listener rules, the infrastructure role with its managed policy, the rollback alarm."""
    _deploy(aws, PHASE1, _naming(), "CREATE")
    values = {**_full_parameters(aws), "DeploymentStrategy": "CANARY", "CanaryPercent": "10"}
    changes = _deploy(aws, FULL, values, "UPDATE")

    added = {name for action, name in changes if action == "Add"}
    assert {"AlternateTargetGroup", "ProductionListenerRule", "TestListenerRule"} <= added
    assert {"EcsInfrastructureRole", "TargetErrorsAlarm"} <= added
    ids = _physical_ids(aws)
    rules = aws.client("elbv2").describe_rules(ListenerArn=ids["Listener"])["Rules"]
    assert {r["Priority"] for r in rules} >= {"1", "2"}
    role: Any = aws.client("iam").get_role(RoleName=ids["EcsInfrastructureRole"])["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs.amazonaws.com"}
