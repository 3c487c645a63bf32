"""`ecslab doctor` end to end in the sandbox: on a lab deployed by `run-all`, each test
breaks one precondition of the tasks through plain boto3 against the sandbox's moto
endpoint, runs `ecslab --sandbox -o json doctor` through the CLI, reads the finding
(check, level, fix) from its table, and repairs what it broke so the next test starts
from a healthy lab.

The image check reads ECR's control plane (moto's BatchGetImage), where the push
registered the manifest the sandbox's registry serves: removing the image from ECR is
what doctor sees, whatever the registry still holds. The target group's port cannot be
broken here: ELBv2 has no call that changes a target group's port, and a mismatch is
only a warning anyway (ECS registers targets on the service's containerPort). The
database check says "not checked" in the sandbox (no RDS instance to read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ecslab.aws.ecr import INDEX_TYPES, SINGLE_MANIFEST_TYPES
from ecslab.cli import run
from ecslab.lab.doctor import RECREATE
from ecslab.sandbox import PrivateDockerd
from ecslab.sandbox.state import SandboxState
from tests.sandbox.lab_support import deployed_lab

LOG_GROUP = "ecslab-dev-microservice"
REPOSITORY = "ecslab-dev-microservice"
TRUST_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass
class Doctor:
    code: int
    events: list[dict[str, Any]]
    err: str

    def rows(self) -> dict[str, list[dict[str, str]]]:
        """The findings' rows by check name."""
        (table,) = [e for e in self.events if e.get("event") == "table"]
        found: dict[str, list[dict[str, str]]] = {}
        for row in table["rows"]:
            found.setdefault(row["Check"], []).append(row)
        return found

    def only(self, check: str) -> dict[str, str]:
        (row,) = self.rows()[check]
        return row

    def shown(self, check: str) -> str:
        row = self.only(check)
        return f"{row['Level']} {check}: {row['Finding']} | fix: {row['Fix']}"


@pytest.fixture(scope="module")
def state(
    dockerd: PrivateDockerd, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxState]:
    """A sandbox with the lab deployed by `run-all`; taken down after the module."""
    folder = tmp_path_factory.mktemp("doctor")
    with deployed_lab(dockerd.docker_host, base_image, folder) as lab:
        yield lab.state


def _doctor(capsys: pytest.CaptureFixture[str], *options: str) -> Doctor:
    capsys.readouterr()
    code = run(["--sandbox", "-o", "json", "doctor", *options])
    captured = capsys.readouterr()
    events = []
    for line in captured.out.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return Doctor(code, events, captured.err)


def _client(state: SandboxState, service: str) -> Any:
    import boto3

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client(service, endpoint_url=state.endpoint_url)


def _role(state: SandboxState, logical: str) -> str:
    roles = _client(state, "iam").list_roles()["Roles"]
    return str(next(r["RoleName"] for r in roles if logical in r["RoleName"]))


def _blocker(found: Doctor, check: str) -> dict[str, str]:
    assert found.code == 7, found.err + json.dumps(found.events)[-2000:]
    row = found.only(check)
    assert row["Level"] == "blocker", row
    print(f"\n{found.shown(check)}")
    return row


def test_a_healthy_lab_has_no_blocker(
    state: SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _doctor(capsys)

    assert found.code == 0, found.err + json.dumps(found.events)[-2000:]
    levels = {check: [r["Level"] for r in rows] for check, rows in found.rows().items()}
    print(f"\n{levels}")
    for check in ("task role", "execution role", "image", "secret", "log group", "subnets"):
        assert levels[check] == ["ok"], (check, found.rows()[check])


def test_a_task_role_that_no_longer_trusts_ecs_tasks(
    state: SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    iam, name = _client(state, "iam"), _role(state, "TaskRole")
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=TRUST_EC2)
    try:
        row = _blocker(_doctor(capsys), "task role")
    finally:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=_text(trust))

    assert "does not trust ecs-tasks.amazonaws.com (trusts: ec2.amazonaws.com)" in row["Finding"]
    assert f"aws iam update-assume-role-policy --role-name {name}" in row["Fix"]
    assert "ecs-tasks.amazonaws.com" in row["Fix"]


def test_an_execution_role_that_no_longer_trusts_ecs_tasks(
    state: SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    iam, name = _client(state, "iam"), _role(state, "TaskExecutionRole")
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=TRUST_EC2)
    try:
        row = _blocker(_doctor(capsys), "execution role")
    finally:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=_text(trust))

    assert "does not trust ecs-tasks.amazonaws.com" in row["Finding"]
    assert "aws iam update-assume-role-policy" in row["Fix"]


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def test_a_deleted_log_group(state: SandboxState, capsys: pytest.CaptureFixture[str]) -> None:
    logs = _client(state, "logs")
    logs.delete_log_group(logGroupName=LOG_GROUP)
    try:
        row = _blocker(_doctor(capsys), "log group")
    finally:
        logs.create_log_group(logGroupName=LOG_GROUP)

    assert f"log group {LOG_GROUP} does not exist" in row["Finding"]
    assert row["Fix"] == f"aws logs create-log-group --log-group-name {LOG_GROUP}"


def test_the_deployed_image_missing_from_ecr(
    state: SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    ecr = _client(state, "ecr")
    images = ecr.batch_get_image(
        repositoryName=REPOSITORY,
        imageIds=ecr.list_images(repositoryName=REPOSITORY)["imageIds"],
        acceptedMediaTypes=list(INDEX_TYPES + SINGLE_MANIFEST_TYPES),
    )["images"]
    assert images
    ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[i["imageId"] for i in images])
    try:
        row = _blocker(_doctor(capsys), "image")
    finally:
        _put_back(ecr, images)

    assert "is not in ECR" in row["Finding"]
    assert row["Fix"] == "ecslab step push-image && ecslab step deploy-service"


def _put_back(ecr: Any, images: list[dict[str, Any]]) -> None:
    """Each (digest, tag) once, with its digest as the push registered it (moto derives
    another digest from the manifest text it serves back)."""
    seen = set()
    for image in images:
        ident = image["imageId"]
        key = (ident["imageDigest"], ident.get("imageTag"))
        if key in seen:
            continue
        seen.add(key)
        where = {"imageDigest": key[0], **({"imageTag": key[1]} if key[1] else {})}
        try:
            ecr.put_image(
                repositoryName=REPOSITORY,
                imageManifest=image["imageManifest"],
                imageManifestMediaType=image["imageManifestMediaType"],
                **where,
            )
        except ecr.exceptions.ImageAlreadyExistsException:
            continue


def test_the_execution_role_without_its_secret_policy_is_a_warning(
    state: SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    iam, name = _client(state, "iam"), _role(state, "TaskExecutionRole")
    saved = {
        policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    }
    assert saved, "the stack gives the execution role an inline policy for the secret"
    for policy in saved:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    try:
        found = _doctor(capsys)
    finally:
        for policy, document in saved.items():
            iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=_text(document))

    assert found.code == 0, found.err
    row = found.only("secret")
    print(f"\n{found.shown('secret')}")
    assert row["Level"] == "warning"
    assert "allows secretsmanager:GetSecretValue" in row["Finding"]
    assert row["Fix"].startswith(f"aws iam put-role-policy --role-name {name} --policy-name ")
    assert '"Action": "secretsmanager:GetSecretValue"' in row["Fix"]


def test_a_subnet_in_a_zone_without_fargate(
    state: SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    ec2 = _client(state, "ec2")
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    zone = next(z["ZoneName"] for z in zones if z["ZoneId"] == "use1-az3")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    good = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    fine = next(s["SubnetId"] for s in good["Subnets"] if s["AvailabilityZone"] != zone)
    # a subnet record in moto (a CIDR inside its default VPC): data only, never contacted
    created = ec2.create_subnet(
        VpcId=vpc["VpcId"], CidrBlock="172.31.200.0/24", AvailabilityZone=zone
    )["Subnet"]["SubnetId"]
    try:
        row = _blocker(_doctor(capsys, "--subnet-ids", f"{fine},{created}"), "subnets")
    finally:
        ec2.delete_subnet(SubnetId=created)

    assert f"{created} (use1-az3): no Fargate in that zone" in row["Finding"]
    assert fine not in row["Finding"]
    assert row["Fix"] == "ecslab run-all --subnet-ids A,B (subnets in other zones)"


def test_a_deleted_password_secret(state: SandboxState, capsys: pytest.CaptureFixture[str]) -> None:
    """Last but one: the secret is not put back (a new one would have another ARN)."""
    secrets = _client(state, "secretsmanager")
    listed = secrets.list_secrets()["SecretList"]
    assert listed
    for secret in listed:
        secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)

    row = _blocker(_doctor(capsys), "secret")

    assert "is missing" in row["Finding"]
    assert row["Fix"] == RECREATE


def test_a_deleted_execution_role(state: SandboxState, capsys: pytest.CaptureFixture[str]) -> None:
    """Last: the role is not put back."""
    iam, name = _client(state, "iam"), _role(state, "TaskExecutionRole")
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)

    row = _blocker(_doctor(capsys), "execution role")

    assert row["Finding"].endswith(f"{name} does not exist")
    assert row["Fix"] == RECREATE
