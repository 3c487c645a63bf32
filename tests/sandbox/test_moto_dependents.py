"""The sandbox's moto updates the resources that refer to a replaced one, as AWS does.

Without the patch, a new image gives the task definition a new revision while the ECS
service keeps running the old one, so a code change never reaches the sandbox's tasks.
"""

from __future__ import annotations

import boto3

from ecslab.sandbox.moto_patch import dependents_follow
from ecslab.steps import deploy_ecr, deploy_service
from tests.helpers import make_app, moto_fixes, put_fake_image, run_step

REPOSITORY = "ecslab-dev-microservice"


def _service_image(session: boto3.Session) -> tuple[str, str]:
    ecs = session.client("ecs")
    service = ecs.describe_services(
        cluster="ecslab-dev-cluster", services=["ecslab-dev-microservice"]
    )["services"][0]
    task_definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    # plain moto's updated revision may have no image at all (see the test below)
    image = task_definition["taskDefinition"]["containerDefinitions"][0].get("image", "")
    return service["taskDefinition"].rsplit(":", 1)[1], image


def _deploy_twice(session: boto3.Session, moto_server: str) -> tuple[str, str, str]:
    run_step(deploy_ecr.build(make_app(session, moto_server)))
    put_fake_image(session, REPOSITORY, "v1")
    run_step(deploy_service.build(make_app(session, moto_server, image_tag="v1")))
    new_digest = put_fake_image(session, REPOSITORY, "v2")
    run_step(deploy_service.build(make_app(session, moto_server, image_tag="v2")))
    revision, image = _service_image(session)
    return revision, image, new_digest


def test_a_new_image_reaches_the_service(aws: boto3.Session, moto_server: str) -> None:
    with moto_fixes(dependents_follow):
        revision, image, new_digest = _deploy_twice(aws, moto_server)
    assert revision == "2"
    assert image.endswith(f"@{new_digest}")


def test_plain_moto_leaves_the_service_on_the_old_revision(
    aws: boto3.Session, moto_server: str
) -> None:
    """The gap the patch closes; if moto fixes it, this test says the patch can go. Plain
    moto either leaves the service on the old revision, or (when the service's own
    properties changed too, as the template's DesiredCount now makes them) moves it to a
    revision built from the template's PascalCase keys, which has no image: either way the
    new image never reaches the service."""
    revision, image, new_digest = _deploy_twice(aws, moto_server)
    assert not image.endswith(f"@{new_digest}")
    assert revision == "1" or image == ""
