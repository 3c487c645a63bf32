"""Step deploy-ecr against moto: the phase-1 stack, and never shrinking a full stack."""

from __future__ import annotations

import boto3
import pytest

from ecslab.core.errors import Interrupted, UsageError
from ecslab.steps import deploy_ecr, deploy_service
from ecslab.steps.base import Outcome
from tests.helpers import all_text, make_app, output, put_fake_image, run_step

REPOSITORY = "ecslab-dev-microservice"


def test_plan_then_create_then_already_done(aws: boto3.Session, moto_server: str) -> None:
    app = make_app(aws, moto_server)
    step = deploy_ecr.build(app)
    assert not step.assess().done
    assert list(step.assess().changes) == [
        "create stack ecslab-dev (phase 1: the ECR repository)",
        "add resource EcrRepository (AWS::ECR::Repository)",
    ]
    assert (
        app.aws.cloudformation.describe("ecslab-dev", fresh=True) is None
    )  # planning changed nothing

    result = run_step(step)

    assert result.outcome == Outcome.DONE
    stack = app.aws.cloudformation.describe("ecslab-dev", fresh=True)
    assert stack is not None and stack.status == "CREATE_COMPLETE"
    assert stack.parameters == {"ProjectName": "ecslab", "Environment": "dev"}
    repos = aws.client("ecr").describe_repositories()["repositories"]
    assert [r["repositoryName"] for r in repos] == [REPOSITORY]
    table = next(e for e in output(app) if e["event"] == "table")
    assert table["rows"][0]["Logical id"] == "EcrRepository"

    again = deploy_ecr.build(make_app(aws, moto_server))
    check = again.assess()
    assert check.done and "up to date" in check.reason
    assert list(again.assess().changes) == []


def test_a_changed_repository_definition_is_an_update(aws: boto3.Session, moto_server: str) -> None:
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    app = make_app(aws, moto_server, environment="dev")
    step = deploy_ecr.build(app)
    desired = step.desired()
    desired.template["Resources"]["EcrRepository"]["Properties"]["ImageTagMutability"] = "IMMUTABLE"
    assert not step.assess().done
    assert list(step.assess().changes) == [
        "update stack ecslab-dev (phase 1: the ECR repository):",
        "modify resource EcrRepository (AWS::ECR::Repository)",
    ]


def test_a_full_stack_is_never_shrunk_back(aws: boto3.Session, moto_server: str) -> None:
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    put_fake_image(aws, REPOSITORY, "v1")
    run_step(deploy_service.build(make_app(aws, moto_server)))
    resources = aws.client("cloudformation").list_stack_resources(StackName="ecslab-dev")
    count = len(resources["StackResourceSummaries"])

    app = make_app(aws, moto_server)
    step = deploy_ecr.build(app)
    check = step.assess()
    assert check.done and "past phase 1" in check.reason
    assert run_step(step).outcome == Outcome.ALREADY_DONE
    after = aws.client("cloudformation").list_stack_resources(StackName="ecslab-dev")
    assert len(after["StackResourceSummaries"]) == count > 1
    assert "Changes to stack" not in all_text(app)


def test_answering_no_discards_the_change_set(
    aws: boto3.Session, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(aws, moto_server, yes=False, interactive=True, stdin="n\n")
    with pytest.raises(Interrupted, match="you answered no"):
        run_step(deploy_ecr.build(app))
    assert (
        app.aws.cloudformation.describe("ecslab-dev", fresh=True) is None
    )  # not even REVIEW_IN_PROGRESS
    assert aws.client("ecr").describe_repositories()["repositories"] == []


def test_without_a_terminal_and_without_yes_nothing_changes(
    aws: boto3.Session, moto_server: str
) -> None:
    app = make_app(aws, moto_server, yes=False, interactive=False)
    with pytest.raises(UsageError) as error:
        run_step(deploy_ecr.build(app))
    assert "--yes" in (error.value.hint or "")
    assert app.aws.cloudformation.describe("ecslab-dev", fresh=True) is None


def test_a_repository_left_from_a_deleted_stack_is_explained(
    aws: boto3.Session, moto_server: str
) -> None:
    aws.client("ecr").create_repository(repositoryName=REPOSITORY)
    with pytest.raises(UsageError, match="already exists but stack ecslab-dev does not") as error:
        run_step(deploy_ecr.build(make_app(aws, moto_server)))
    assert "ecslab destroy" in (error.value.hint or "")
    assert make_app(aws, moto_server).aws.cloudformation.describe("ecslab-dev", fresh=True) is None
