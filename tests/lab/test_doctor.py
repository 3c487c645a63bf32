"""`ecslab doctor` on moto: before the stack exists, and on the deployed lab."""

from __future__ import annotations

import boto3
import pytest

from ecslab.aws.iam import policies_allow
from ecslab.core.errors import VerifyFailed
from ecslab.lab.doctor import BLOCKER, OK, doctor, examine
from tests.helpers import make_app, output
from tests.lab.ops_support import deploy_lab


def test_before_the_stack_it_says_what_will_be_created_and_what_blocks(
    aws: boto3.Session, moto_server: str
) -> None:
    app = make_app(aws, moto_server)

    with pytest.raises(VerifyFailed) as caught:
        doctor(app)

    assert caught.value.exit_code == 7
    assert "no image in ECR repository ecslab-dev-microservice" in caught.value.message
    assert "ecslab step push-image" in (caught.value.hint or "")
    (table,) = [e for e in output(app) if e["event"] == "table"]
    rows = {row["Check"]: row for row in table["rows"]}
    assert "the deploy creates the cluster, both task roles" in rows["stack"]["Finding"]


@pytest.fixture
def deployed(aws: boto3.Session, moto_server: str) -> boto3.Session:
    return deploy_lab(aws, moto_server)


def test_on_the_deployed_lab_the_roles_log_group_and_port_are_fine(
    deployed: boto3.Session, moto_server: str
) -> None:
    app = make_app(deployed, moto_server)

    findings = {(f.check, f.level): f for f in examine(app)}

    assert (("task role", OK) in findings) and (("execution role", OK) in findings)
    assert ("log group", OK) in findings
    assert ("target group", OK) in findings
    assert not [f for f in findings.values() if f.level == BLOCKER], findings


def test_a_role_that_does_not_trust_ecs_tasks_is_a_blocker_with_the_fix(
    deployed: boto3.Session, moto_server: str
) -> None:
    iam = deployed.client("iam")
    role = next(r for r in iam.list_roles()["Roles"] if "TaskExecutionRole" in r["RoleName"])
    iam.update_assume_role_policy(
        RoleName=role["RoleName"],
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}',
    )
    deployed.client("logs").delete_log_group(logGroupName="ecslab-dev-microservice")
    app = make_app(deployed, moto_server)

    with pytest.raises(VerifyFailed) as caught:
        doctor(app)

    assert "execution role" in caught.value.message and "log group" in caught.value.message
    hint = caught.value.hint or ""
    assert "aws iam update-assume-role-policy" in hint and "ecs-tasks.amazonaws.com" in hint
    assert "aws logs create-log-group --log-group-name ecslab-dev-microservice" in hint


ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": ARN}], True),
        ([{"Effect": "Allow", "Action": ["secretsmanager:Get*"], "Resource": "*"}], True),
        ([{"Effect": "Allow", "Action": "SecretsManager:getsecretvalue", "Resource": ARN}], True),
        (
            [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": ARN[:-6] + "??????"}],
            True,
        ),
        ([{"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": ARN}], False),
        ([{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "x"}], False),
        (
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": ARN},
            ],
            False,
        ),
    ],
)
def test_policies_allow_follows_iam_matching(
    statements: list[dict[str, object]], allowed: bool
) -> None:
    document = {"Version": "2012-10-17", "Statement": statements}

    assert policies_allow([document], "secretsmanager:GetSecretValue", ARN) is allowed
