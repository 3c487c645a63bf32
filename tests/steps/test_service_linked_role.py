"""Step service-linked-role against moto."""

from __future__ import annotations

import boto3

from ecslab.steps.base import Outcome
from ecslab.steps.service_linked_role import build
from tests.helpers import make_app


def test_creates_the_role_once(aws: boto3.Session, moto_server: str) -> None:
    step = build(make_app(aws, moto_server))
    before = step.check()
    assert not before.done and "no service-linked role" in before.reason
    assert step.plan() == [
        "create the IAM service-linked role AWSServiceRoleForECS for ecs.amazonaws.com"
    ]
    assert step.run().outcome == Outcome.DONE
    after = build(make_app(aws, moto_server)).check()
    assert after.done and "aws-service-role/ecs.amazonaws.com" in after.reason
    roles = aws.client("iam").list_roles(PathPrefix="/aws-service-role/ecs.amazonaws.com/")
    assert len(roles["Roles"]) == 1


def test_running_again_is_success(aws: boto3.Session, moto_server: str) -> None:
    aws.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    result = build(make_app(aws, moto_server)).run()  # as if check could not see the role
    assert result.outcome == Outcome.ALREADY_DONE
    assert result.message.startswith("already done")
