"""`ecslab rollback`: the previous image from the task family's revisions (every page of
ListTaskDefinitions, Stubber-shaped as AWS answers), and the stack update on moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ecslab.core.errors import NothingToDo, UsageError
from ecslab.lab.rollback import previous_image, rollback
from ecslab.steps import deploy_ecr, deploy_service
from tests.helpers import make_app, output, put_fake_image, run_step
from tests.lab.ops_support import (
    FAMILY,
    IMAGE_A,
    IMAGE_B,
    describe_task_definition,
    stubbed_app,
    td_arn,
)
from tests.verify_support import StubbedAws

REPOSITORY = "ecslab-dev-microservice"
URI = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPOSITORY}"


def _stubbed(aws: boto3.Session, moto_server: str) -> tuple[Any, StubbedAws]:
    return stubbed_app(aws, moto_server, ("ecs",))


def _list_pages(stubbed: StubbedAws, pages: list[list[int]]) -> None:
    ecs = stubbed.stubbers["ecs"]
    for n, revisions in enumerate(pages):
        answer: dict[str, Any] = {"taskDefinitionArns": [td_arn(r) for r in revisions]}
        request: dict[str, Any] = {"familyPrefix": FAMILY, "status": "ACTIVE", "sort": "DESC"}
        if n + 1 < len(pages):
            answer["nextToken"] = f"token-{n + 1}"
        if n:
            request["nextToken"] = f"token-{n}"
        ecs.add_response("list_task_definitions", answer, request)


def test_the_previous_image_is_the_newest_revision_with_another_image(
    aws: boto3.Session, moto_server: str
) -> None:
    """Revisions 5 and 4 run the current image B; revision 3, on the second page, runs A."""
    app, stubbed = _stubbed(aws, moto_server)
    _list_pages(stubbed, [[5, 4], [3, 2]])
    ecs = stubbed.stubbers["ecs"]
    for revision, image in ((5, IMAGE_B), (4, IMAGE_B), (3, IMAGE_A)):
        ecs.add_response(
            "describe_task_definition",
            describe_task_definition(revision, image),
            {"taskDefinition": td_arn(revision)},
        )

    target = previous_image(app, IMAGE_B)

    assert target is not None
    assert (target.image, target.source) == (IMAGE_A, f"task definition {FAMILY}:3")


def test_nothing_to_roll_back_to_says_so(aws: boto3.Session, moto_server: str) -> None:
    app, stubbed = _stubbed(aws, moto_server)
    _list_pages(stubbed, [[2, 1]])
    for revision in (2, 1):
        stubbed.stubbers["ecs"].add_response(
            "describe_task_definition",
            describe_task_definition(revision, IMAGE_B),
            {"taskDefinition": td_arn(revision)},
        )

    assert previous_image(app, IMAGE_B) is None


@pytest.fixture
def two_deploys(aws: boto3.Session, moto_server: str) -> tuple[boto3.Session, str, str]:
    """The stack deployed with image v1, then with v2."""
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    first = put_fake_image(aws, REPOSITORY, "v1", seed="one")
    run_step(deploy_service.build(make_app(aws, moto_server)))
    second = put_fake_image(aws, REPOSITORY, "v2", seed="two")
    run_step(deploy_service.build(make_app(aws, moto_server, image_tag="v2")))
    return aws, first, second


def test_rollback_to_a_tag_updates_the_stack_image(
    two_deploys: tuple[boto3.Session, str, str], moto_server: str
) -> None:
    session, first, _ = two_deploys
    app = make_app(session, moto_server, image_tag=None)

    image = rollback(app, "v1")

    assert image == f"{URI}@{first}"
    stack = app.aws.cloudformation.describe("ecslab-dev", fresh=True)
    assert stack is not None and stack.status == "UPDATE_COMPLETE"
    assert stack.parameters["DockerImageTag"] == f"{URI}@{first}"
    started = [e for e in output(app) if e.get("target")]
    assert started and started[0]["current"] == f"{URI}@{two_deploys[2]}"


def test_rollback_to_the_running_image_is_nothing_to_do(
    two_deploys: tuple[boto3.Session, str, str], moto_server: str
) -> None:
    session, _, second = two_deploys
    app = make_app(session, moto_server, image_tag=None)

    with pytest.raises(NothingToDo):
        rollback(app, second)
    assert output(app)[-1]["status"] == "nothing-to-do"


def test_rollback_to_an_unknown_tag_names_the_repository(
    two_deploys: tuple[boto3.Session, str, str], moto_server: str
) -> None:
    app = make_app(two_deploys[0], moto_server, image_tag=None)
    with pytest.raises(UsageError, match="image tag v9 is not in ECR repository"):
        rollback(app, "v9")


def test_rollback_takes_the_previous_image_from_the_stacks_record(
    two_deploys: tuple[boto3.Session, str, str], moto_server: str
) -> None:
    """moto changes the task definition in place (one revision): the stack's own record
    of deployed images, kept in the template's Metadata, still knows the first image."""
    session, first, second = two_deploys
    app = make_app(session, moto_server, image_tag=None)
    recorded = _history(session)
    assert recorded == [f"{URI}@{second}", f"{URI}@{first}"]

    assert rollback(app, None) == f"{URI}@{first}"

    assert _history(session) == [f"{URI}@{first}", f"{URI}@{second}"]
    again = make_app(session, moto_server, image_tag=None)
    assert rollback(again, None) == f"{URI}@{second}"  # and back again


def _history(session: boto3.Session) -> list[str]:
    import json

    body = session.client("cloudformation").get_template(StackName="ecslab-dev")["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    return list(template["Metadata"]["ecslab"]["DeployedImages"])


def test_a_stack_record_with_only_the_current_image_is_nothing_to_roll_back_to(
    aws: boto3.Session, moto_server: str
) -> None:
    """The record is trusted alone: after a failed update that CloudFormation rolled back,
    the task family's newest revisions may run the very image that failed."""
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    put_fake_image(aws, REPOSITORY, "v1", seed="one")
    run_step(deploy_service.build(make_app(aws, moto_server)))
    app = make_app(aws, moto_server, image_tag=None)

    with pytest.raises(NothingToDo, match="nothing to roll back to"):
        rollback(app, None)
    assert output(app)[-1]["status"] == "nothing-to-do"
