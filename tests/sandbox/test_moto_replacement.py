"""A new container port and a new database password, deployed by ecslab's steps.

On AWS a new port replaces the target group (its port cannot change in place), which only
works because CloudFormation names it; a new password must give the task definition a new
revision so the service rolls its tasks. moto cannot update a target group at all, so the
sandbox's fixes (ecslab/sandbox/moto_patch.py) are installed here as the sandbox does.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from ecslab.core.config import Secret
from ecslab.core.naming import TARGET_GROUP_ID
from ecslab.sandbox.moto_patch import (
    dependents_follow,
    target_group_replacement,
    unmade_resources_are_added,
)
from ecslab.steps import deploy_ecr, deploy_service
from ecslab.steps.base import Outcome
from tests.helpers import all_text, make_app, moto_fixes, put_fake_image, run_step

REPOSITORY = "ecslab-dev-microservice"
LABEL = "ecslab.db-password-version"


@pytest.fixture
def patched(aws: boto3.Session, moto_server: str) -> Iterator[str]:
    """The sandbox's moto: resources a false Condition never made are skipped (the
    template's blue/green ones), dependents follow a replaced resource, target groups replace."""
    with moto_fixes(unmade_resources_are_added, dependents_follow, target_group_replacement):
        run_step(deploy_ecr.build(make_app(aws, moto_server)))
        put_fake_image(aws, REPOSITORY, "v1")
        run_step(deploy_service.build(make_app(aws, moto_server)))
        yield moto_server


def _service_task_definition(session: boto3.Session) -> dict[str, object]:
    ecs = session.client("ecs")
    (service,) = ecs.describe_services(
        cluster="ecslab-dev-cluster", services=["ecslab-dev-microservice"]
    )["services"]
    answer = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    definition: dict[str, object] = answer["taskDefinition"]
    return definition


def _label(definition: dict[str, object]) -> str:
    (container,) = definition["containerDefinitions"]  # type: ignore[misc]
    return str(container["dockerLabels"][LABEL])


def test_a_new_container_port_replaces_the_target_group(aws: boto3.Session, patched: str) -> None:
    app = make_app(aws, patched)
    old = app.aws.cloudformation.resource_id("ecslab-dev", TARGET_GROUP_ID)

    moved = make_app(aws, patched, container_port=9090)
    assert run_step(deploy_service.build(moved)).outcome == Outcome.DONE

    new = moved.aws.cloudformation.resource_id("ecslab-dev", TARGET_GROUP_ID)
    assert old and new and new != old
    elbv2 = aws.client("elbv2")
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[new])["TargetGroups"]
    assert group["Port"] == 9090 and group["TargetGroupName"].startswith("ecslab-dev-Targe")
    assert [g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]] == [new]
    (balancer,) = elbv2.describe_load_balancers(Names=["ecslab-dev-alb"])["LoadBalancers"]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert listener["DefaultActions"][0]["TargetGroupArn"] == new
    stack = aws.client("cloudformation").describe_stacks(StackName="ecslab-dev")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"


def test_a_new_password_rolls_the_tasks_and_the_same_one_does_not(
    aws: boto3.Session, patched: str
) -> None:
    first = _service_task_definition(aws)
    new_password = "rotated-Secret-5521"
    app = make_app(aws, patched, db_password=Secret(new_password))
    app.ui.register_secret(new_password)

    assert run_step(deploy_service.build(app)).outcome == Outcome.DONE

    second = _service_task_definition(aws)
    assert (first["revision"], second["revision"]) == (1, 2)
    assert _label(first) != _label(second)
    assert new_password not in _label(second) and new_password not in all_text(app)
    again = make_app(aws, patched, db_password=Secret(new_password))
    assert run_step(deploy_service.build(again)).outcome == Outcome.ALREADY_DONE
    assert _service_task_definition(aws)["revision"] == 2
