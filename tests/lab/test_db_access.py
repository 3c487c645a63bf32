"""The database's ingress rule: found, checked and printed against moto's RDS and EC2.

The printed command is run with the AWS CLI (a real client, when installed) or, failing
that, as the same EC2 call through boto3; either way a second deploy must see the rule.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import boto3
import pytest

from ecslab.lab.db_access import DB_GROUP_PLACEHOLDER
from ecslab.steps import deploy_ecr, deploy_service
from ecslab.steps.base import Outcome
from tests.helpers import make_app, output, put_fake_image, run_step

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")
REPOSITORY = "ecslab-dev-microservice"


def _database(session: boto3.Session) -> tuple[str, str]:
    """An RDS PostgreSQL instance in its own security group: (endpoint, group id)."""
    ec2 = session.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    group = ec2.create_security_group(
        GroupName="shop-db", Description="the database", VpcId=vpc["VpcId"]
    )["GroupId"]
    instance = session.client("rds").create_db_instance(
        DBInstanceIdentifier="shop-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="postgres",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        VpcSecurityGroupIds=[group],
    )["DBInstance"]
    return str(instance["Endpoint"]["Address"]), str(group)


def _deploy(session: boto3.Session, moto_server: str, db_host: str) -> tuple[Outcome, dict]:  # type: ignore[type-arg]
    app = make_app(session, moto_server, db_host=db_host)
    result = run_step(deploy_service.build(app))
    warnings = [e["message"] for e in output(app) if e.get("event") in ("warning", "info")]
    return result.outcome, {**result.data, "said": warnings}


def _run(command: str, moto_server: str, session: boto3.Session) -> None:
    """The printed command as a user runs it: the AWS CLI, else the same call via boto3."""
    args = shlex.split(command)
    assert args[:3] == ["aws", "ec2", "authorize-security-group-ingress"]
    cli = shutil.which("aws")
    if cli is not None:
        subprocess.run([cli, "--endpoint-url", moto_server, *args[1:]], check=True, timeout=60)
        return
    flags = dict(zip(args[3::2], args[4::2], strict=True))
    session.client("ec2").authorize_security_group_ingress(
        GroupId=flags["--group-id"],
        IpPermissions=[
            {
                "IpProtocol": flags["--protocol"],
                "FromPort": int(flags["--port"]),
                "ToPort": int(flags["--port"]),
                "UserIdGroupPairs": [{"GroupId": flags["--source-group"]}],
            }
        ],
    )


def test_rds_database_gets_the_exact_command_then_is_seen_open(
    aws: boto3.Session, moto_server: str
) -> None:
    host, db_group = _database(aws)
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    put_fake_image(aws, REPOSITORY, "v1")

    outcome, data = _deploy(aws, moto_server, host)

    assert outcome == Outcome.DONE and data["database_open_to_tasks"] is False
    task_group = data["task_security_group"]
    resources = aws.client("cloudformation").list_stack_resources(StackName="ecslab-dev")
    physical = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId")
        for r in resources["StackResourceSummaries"]
    }
    assert task_group == physical["TaskSecurityGroup"]
    (command,) = data["database_access_commands"]
    assert command == (
        f"aws ec2 authorize-security-group-ingress --region us-east-1 --group-id {db_group} "
        f"--protocol tcp --port 5432 --source-group {task_group}"
    )
    assert any(command in line for line in data["said"])

    _run(command, moto_server, aws)
    outcome, data = _deploy(aws, moto_server, host)

    assert outcome == Outcome.ALREADY_DONE and data["database_open_to_tasks"] is True
    assert data["database_access_commands"] == []
    assert any(f"security group {db_group} admits the tasks" in line for line in data["said"])


def test_a_database_outside_rds_gets_the_command_with_a_placeholder(
    aws: boto3.Session, moto_server: str
) -> None:
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    put_fake_image(aws, REPOSITORY, "v1")

    _, data = _deploy(aws, moto_server, "db.example.internal")

    (command,) = data["database_access_commands"]
    assert f"--group-id {DB_GROUP_PLACEHOLDER} --protocol tcp --port 5432" in command
    assert any("Connectivity & security" in line for line in data["said"])
    json.dumps(data)  # the step's data stays JSON for -o json
