"""ecslab.aws.iam: the ECS service-linked role, in moto and in AWS's own answers."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ecslab.aws.iam import ECS_SERVICE, Iam, PermissionMissing
from tests.helpers import make_app


def test_create_then_find_then_create_again(aws: boto3.Session, moto_server: str) -> None:
    iam = Iam(make_app(aws, moto_server).aws)
    assert iam.find_service_linked_role(ECS_SERVICE) is None
    assert iam.create_service_linked_role(ECS_SERVICE) is True
    arn = iam.find_service_linked_role(ECS_SERVICE)
    assert arn is not None and "/aws-service-role/ecs.amazonaws.com/" in arn
    assert iam.create_service_linked_role(ECS_SERVICE) is False  # moto: EntityAlreadyExists


@pytest.fixture
def stubbed() -> tuple[Iam, Stubber]:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    app = make_app(session)
    return Iam(app.aws), Stubber(app.aws.client("iam"))


def test_aws_wording_of_already_exists_is_success(stubbed: tuple[Iam, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_client_error(
        "create_service_linked_role",
        "InvalidInput",
        "Service role name AWSServiceRoleForECS has been taken in this account, please try "
        "a different suffix.",
        400,
    )
    with stub:
        assert iam.create_service_linked_role(ECS_SERVICE) is False


def test_a_missing_permission_is_named(stubbed: tuple[Iam, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_client_error(
        "create_service_linked_role",
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/lab is not authorized to perform: "
        "iam:CreateServiceLinkedRole on resource: arn:aws:iam::123456789012:role/"
        "aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        403,
    )
    with stub, pytest.raises(PermissionMissing) as denied:
        iam.create_service_linked_role(ECS_SERVICE)
    assert denied.value.message.startswith("missing IAM permission iam:CreateServiceLinkedRole")
    assert "iam:CreateServiceLinkedRole" in (denied.value.hint or "")


def test_other_errors_are_not_swallowed(stubbed: tuple[Iam, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_client_error("create_service_linked_role", "InvalidInput", "Bad service name", 400)
    with stub, pytest.raises(Exception) as error:
        iam.create_service_linked_role(ECS_SERVICE)
    assert not isinstance(error.value, PermissionMissing)
    assert "Bad service name" in str(error.value)
