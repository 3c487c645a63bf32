"""Step service-linked-role against moto."""

from __future__ import annotations

import boto3

from ecslab.steps.base import Outcome
from ecslab.steps.service_linked_role import build
from tests.helpers import make_app, run_step


def test_creates_the_role_once(aws: boto3.Session, moto_server: str) -> None:
    step = build(make_app(aws, moto_server))
    before = step.assess()
    assert not before.done and "no service-linked role" in before.reason
    assert list(step.assess().changes) == [
        "create the IAM service-linked role AWSServiceRoleForECS for ecs.amazonaws.com"
    ]
    assert run_step(step).outcome == Outcome.DONE
    after = build(make_app(aws, moto_server)).assess()
    assert after.done and "aws-service-role/ecs.amazonaws.com" in after.reason
    roles = aws.client("iam").list_roles(PathPrefix="/aws-service-role/ecs.amazonaws.com/")
    assert len(roles["Roles"]) == 1


def test_running_again_is_success(aws: boto3.Session, moto_server: str) -> None:
    aws.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    result = run_step(build(make_app(aws, moto_server)))  # as if check could not see the role
    assert result.outcome == Outcome.ALREADY_DONE
    assert result.message.startswith("already done")
