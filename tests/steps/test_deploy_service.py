"""Step deploy-service against moto: image by digest, parameters, password, idempotency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecslab.core.config import Secret
from ecslab.core.errors import UsageError
from ecslab.lab.images import default_tag
from ecslab.steps import deploy_ecr, deploy_service
from ecslab.steps.base import Outcome
from tests.helpers import DB_PASSWORD, all_text, make_app, put_fake_image, run_step

REPOSITORY = "ecslab-dev-microservice"
URI = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPOSITORY}"


@pytest.fixture
def ecr_stack(aws: boto3.Session, moto_server: str) -> boto3.Session:
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    return aws


def _template(session: boto3.Session) -> dict[str, Any]:
    body = session.client("cloudformation").get_template(StackName="ecslab-dev")["TemplateBody"]
    parsed: dict[str, Any] = json.loads(body if isinstance(body, str) else json.dumps(body))
    return parsed


def test_no_image_yet_says_to_push_first(ecr_stack: boto3.Session, moto_server: str) -> None:
    step = deploy_service.build(make_app(ecr_stack, moto_server))
    check = step.assess()
    assert not check.done and "no image" in check.reason
    assert any("@<the digest push-image pushes>" in line for line in list(step.assess().changes))
    with pytest.raises(UsageError, match=r"image tag v1 .* is not in ECR") as error:
        run_step(step)
    assert "push-image" in (error.value.hint or "")
    untagged = deploy_service.build(make_app(ecr_stack, moto_server, image_tag=None))
    with pytest.raises(UsageError, match="no image in ECR repository") as error:
        run_step(untagged)
    assert "push-image" in (error.value.hint or "")


def test_deploys_the_image_by_digest(ecr_stack: boto3.Session, moto_server: str) -> None:
    digest = put_fake_image(ecr_stack, REPOSITORY, "v1")
    app = make_app(ecr_stack, moto_server, fargate_cpu=512, fargate_memory=1024)

    result = run_step(deploy_service.build(app))

    assert result.outcome == Outcome.DONE
    stack = app.aws.cloudformation.describe("ecslab-dev", fresh=True)
    assert stack is not None and stack.status == "UPDATE_COMPLETE"
    params = stack.parameters
    assert params["DockerImageTag"] == f"{URI}@{digest}"
    assert (params["FargateCpu"], params["FargateMemory"]) == ("512", "1024")
    assert params["CpuArchitecture"] == "X86_64"  # the default platform, linux/amd64
    assert params["DbHost"] == "db.example.internal" and params["DbUser"] == "microsite"
    default_vpc = ecr_stack.client("ec2").describe_vpcs(
        Filters=[{"Name": "isDefault", "Values": ["true"]}]
    )["Vpcs"][0]["VpcId"]
    assert params["VpcId"] == default_vpc
    clusters = ecr_stack.client("ecs").list_clusters()["clusterArns"]
    assert [c.rsplit("/", 1)[1] for c in clusters] == ["ecslab-dev-cluster"]
    template = _template(ecr_stack)
    digest_meta = template["Metadata"]["ecslab"]["NoEchoDigest"]
    assert digest_meta.startswith("pbkdf2-sha256$")
    assert DB_PASSWORD not in json.dumps(template)
    assert DB_PASSWORD not in all_text(app)


def test_second_run_is_up_to_date(ecr_stack: boto3.Session, moto_server: str) -> None:
    put_fake_image(ecr_stack, REPOSITORY, "v1")
    run_step(deploy_service.build(make_app(ecr_stack, moto_server)))

    step = deploy_service.build(make_app(ecr_stack, moto_server))
    check = step.assess()
    assert check.done and "up to date" in check.reason
    assert list(step.assess().changes) == []
    assert run_step(step).outcome == Outcome.ALREADY_DONE


def test_a_new_image_or_password_is_an_update(ecr_stack: boto3.Session, moto_server: str) -> None:
    put_fake_image(ecr_stack, REPOSITORY, "v1")
    run_step(deploy_service.build(make_app(ecr_stack, moto_server)))
    new_digest = put_fake_image(ecr_stack, REPOSITORY, "v2")

    new_password = "another-Secret-4412"
    app = make_app(ecr_stack, moto_server, image_tag="v2", db_password=Secret(new_password))
    app.ui.register_secret(new_password)
    step = deploy_service.build(app)
    assert not step.assess().done
    lines = list(step.assess().changes)
    assert any("DockerImageTag" in line and new_digest in line for line in lines)
    assert any("hidden parameter(s) DbPassword (values not shown)" in line for line in lines)
    assert run_step(step).outcome == Outcome.DONE
    assert new_password not in all_text(app) and new_password not in json.dumps(lines)
    # moto names no resource for a parameter-only change: no empty table, a sentence
    assert "new parameter values; CloudFormation lists no resource change" in all_text(app)

    same = make_app(ecr_stack, moto_server, image_tag="v2", db_password=Secret(new_password))
    assert deploy_service.build(same).assess().done
    old_password = make_app(ecr_stack, moto_server, image_tag="v2")
    assert not deploy_service.build(old_password).assess().done


def test_an_image_tag_not_in_ecr_is_an_error(ecr_stack: boto3.Session, moto_server: str) -> None:
    put_fake_image(ecr_stack, REPOSITORY, "v1")
    app = make_app(ecr_stack, moto_server, image_tag="nope")
    assert not deploy_service.build(app).assess().done
    with pytest.raises(UsageError, match="image tag nope"):
        run_step(deploy_service.build(app))


def test_without_image_tag_the_derived_tag_then_the_newest(
    ecr_stack: boto3.Session, moto_server: str, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    app = make_app(ecr_stack, moto_server, image_tag=None, microsite_dir=str(tmp_path))
    newest = put_fake_image(ecr_stack, REPOSITORY, "some-other-build")
    step = deploy_service.build(app)
    run_step(step)
    params = app.aws.cloudformation.describe("ecslab-dev", fresh=True).parameters  # type: ignore[union-attr]
    assert params["DockerImageTag"].endswith(newest)

    derived = put_fake_image(ecr_stack, REPOSITORY, default_tag(app), seed="derived")
    again = make_app(ecr_stack, moto_server, image_tag=None, microsite_dir=str(tmp_path))
    run_step(deploy_service.build(again))
    params = app.aws.cloudformation.describe("ecslab-dev", fresh=True).parameters  # type: ignore[union-attr]
    assert params["DockerImageTag"].endswith(derived)


def test_missing_database_inputs_are_usage_errors(
    ecr_stack: boto3.Session, moto_server: str
) -> None:
    put_fake_image(ecr_stack, REPOSITORY, "v1")
    with pytest.raises(UsageError, match="db_host is not set"):
        deploy_service.build(make_app(ecr_stack, moto_server, db_host=None)).assess()
    no_password = make_app(ecr_stack, moto_server, db_password=None)
    with pytest.raises(UsageError) as error:
        deploy_service.build(no_password).assess()
    assert "ECSLAB_DB_PASSWORD" in (error.value.hint or "")
    assert (
        no_password.aws.cloudformation.describe("ecslab-dev", fresh=True).status
        == "CREATE_COMPLETE"
    )  # type: ignore[union-attr]


def test_validate_checks_inputs_without_aws(tmp_path: Path) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    ok = make_app(session)  # no endpoint, stubbed-style: any AWS call would fail
    deploy_service.build(ok).validate()
    deploy_ecr.build(ok).validate()
    with pytest.raises(UsageError, match="db_host"):
        deploy_service.build(make_app(session, db_host=None)).validate()
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [\n")
    with pytest.raises(UsageError, match="not valid"):
        deploy_ecr.build(make_app(session, template=str(broken))).validate()


def test_an_arm64_image_gets_arm64_tasks(ecr_stack: boto3.Session, moto_server: str) -> None:
    put_fake_image(ecr_stack, REPOSITORY, "v1")
    app = make_app(ecr_stack, moto_server, image_tag="v1", platform="linux/arm64")

    run_step(deploy_service.build(app))

    stack = app.aws.cloudformation.describe("ecslab-dev", fresh=True)
    assert stack is not None
    assert stack.parameters["CpuArchitecture"] == "ARM64"
