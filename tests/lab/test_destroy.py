"""`destroy_all`: stack, then the retained repository with every image; nothing left."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ecslab.aws.cloudformation import CloudFormation
from ecslab.core.clock import FakeClock
from ecslab.core.errors import DeployFailed, ExitCode, Interrupted, NothingToDo, UsageError
from ecslab.lab.destroy import destroy_all
from ecslab.lab.stack_wait import STALE_READ_GRACE, wait_for_stack
from ecslab.steps import deploy_ecr, deploy_service
from tests.helpers import make_app, output, put_fake_image, run_step

REPOSITORY = "ecslab-dev-microservice"


def _deployed(session: boto3.Session, moto_server: str) -> None:
    run_step(deploy_ecr.build(make_app(session, moto_server)))
    put_fake_image(session, REPOSITORY, "v1", seed="first")
    run_step(deploy_service.build(make_app(session, moto_server)))
    put_fake_image(session, REPOSITORY, None, seed="untagged")
    put_fake_image(session, REPOSITORY, "latest", seed="first")


def _repositories(session: boto3.Session) -> list[str]:
    return [
        r["repositoryName"] for r in session.client("ecr").describe_repositories()["repositories"]
    ]


def test_nothing_to_destroy(aws: boto3.Session, moto_server: str) -> None:
    app = make_app(aws, moto_server)
    with pytest.raises(NothingToDo):
        destroy_all(app)
    assert output(app)[-1]["message"].startswith("nothing to destroy")


def test_destroy_leaves_nothing(aws: boto3.Session, moto_server: str) -> None:
    _deployed(aws, moto_server)
    images = aws.client("ecr").describe_images(repositoryName=REPOSITORY)["imageDetails"]
    assert len(images) == 2 and any(not i.get("imageTags") for i in images)
    app = make_app(aws, moto_server)

    destroy_all(app)

    assert app.aws.cloudformation.describe("ecslab-dev", fresh=True) is None
    assert _repositories(aws) == []
    # (moto's DeleteStack leaves some resources, e.g. the ECS cluster; AWS deletes them all.)
    summary = output(app)[-1]
    assert summary["deleted"] == ["stack ecslab-dev", f"ECR repository {REPOSITORY} (2 image(s))"]
    with pytest.raises(NothingToDo):
        destroy_all(make_app(aws, moto_server))


def test_answering_no_deletes_nothing(
    aws: boto3.Session, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    app = make_app(aws, moto_server, yes=False, interactive=True, stdin="n\n")
    with pytest.raises(Interrupted, match="nothing was deleted"):
        destroy_all(app)
    assert app.aws.cloudformation.describe("ecslab-dev", fresh=True) is not None
    assert _repositories(aws) == [REPOSITORY]


def test_without_a_terminal_it_needs_yes(aws: boto3.Session, moto_server: str) -> None:
    run_step(deploy_ecr.build(make_app(aws, moto_server)))
    app = make_app(aws, moto_server, yes=False, interactive=False)
    with pytest.raises(UsageError) as error:
        destroy_all(app)
    assert "--yes" in (error.value.hint or "")
    assert _repositories(aws) == [REPOSITORY]


STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/ecslab-dev/"
    "0f6a2f30-7c1e-11ef-9d2a-0affd4c1b5e3"
)
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _stack(status: str) -> dict[str, object]:
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": "ecslab-dev",
                "CreationTime": T0,
                "StackStatus": status,
                "Parameters": [],
                "Tags": [],
            }
        ]
    }


def _event(n: int, logical: str, status: str, reason: str = "") -> dict[str, object]:
    raw: dict[str, object] = {
        "StackId": STACK_ID,
        "EventId": f"{logical}-{status}-2026-11-25T02:00:{n:02d}.000Z",
        "StackName": "ecslab-dev",
        "LogicalResourceId": logical,
        "PhysicalResourceId": "sg-0a1b2c3d4e5f60718",
        "ResourceType": "AWS::EC2::SecurityGroup",
        "Timestamp": T0,
        "ResourceStatus": status,
    }
    if reason:
        raw["ResourceStatusReason"] = reason
    return raw


def _stack_event(n: int, status: str, reason: str = "") -> dict[str, object]:
    """A stack-level event as AWS writes it: the stack's name, ARN and a UUID EventId."""
    raw: dict[str, object] = {
        "StackId": STACK_ID,
        "EventId": f"{n:08x}-7c1e-11ef-9d2a-0affd4c1b5e3",
        "StackName": "ecslab-dev",
        "LogicalResourceId": "ecslab-dev",
        "PhysicalResourceId": STACK_ID,
        "ResourceType": "AWS::CloudFormation::Stack",
        "Timestamp": T0,
        "ResourceStatus": status,
    }
    if reason:
        raw["ResourceStatusReason"] = reason
    return raw


def test_delete_failed_names_the_blocking_resource() -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    app = make_app(session)
    cfn = Stubber(app.aws.client("cloudformation"))
    ecr = Stubber(app.aws.client("ecr"))
    reason = "resource sg-0a1b2c3d4e5f60718 has a dependent object (Service: Ec2, Status Code: 400)"
    cfn.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": "ecslab-dev"})
    ecr.add_client_error(
        "describe_repositories", "RepositoryNotFoundException", "The repository does not exist", 400
    )
    cfn.add_response("describe_stack_events", {"StackEvents": [_event(1, "X", "UPDATE_COMPLETE")]})
    cfn.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY})
    cfn.add_response("describe_stacks", _stack("DELETE_FAILED"), {"StackName": STACK_ID})
    cfn.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                _stack_event(
                    4,
                    "DELETE_FAILED",
                    "The following resource(s) failed to delete: [TaskSecurityGroup]. ",
                ),
                _event(3, "TaskSecurityGroup", "DELETE_FAILED", reason),
                _stack_event(2, "DELETE_IN_PROGRESS", "User Initiated"),
            ]
        },
        {"StackName": STACK_ID},
    )
    cfn.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "TaskSecurityGroup",
                    "PhysicalResourceId": "sg-0a1b2c3d4e5f60718",
                    "ResourceType": "AWS::EC2::SecurityGroup",
                    "LastUpdatedTimestamp": T0,
                    "ResourceStatus": "DELETE_FAILED",
                    "ResourceStatusReason": reason,
                }
            ]
        },
        {"StackName": STACK_ID},
    )
    cfn.add_response("describe_stacks", _stack("DELETE_FAILED"), {"StackName": ANY})
    ecr.add_client_error(
        "describe_repositories", "RepositoryNotFoundException", "The repository does not exist", 400
    )
    with cfn, ecr, pytest.raises(DeployFailed) as failure:
        destroy_all(app)
    message = failure.value.message
    assert failure.value.exit_code == ExitCode.DEPLOY_FAILED
    assert "destroy left something behind" in message
    assert "TaskSecurityGroup (AWS::EC2::SecurityGroup sg-0a1b2c3d4e5f60718)" in message
    assert "dependent object" in message
    cfn.assert_no_pending_responses()


def test_a_status_read_from_before_the_delete_is_not_taken_as_final() -> None:
    """DescribeStacks right after DeleteStack may still say UPDATE_COMPLETE (aws-cdk-cli
    #1802); destroy waits for the stack's own events instead of reporting a leftover."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    clock = FakeClock()
    app = make_app(session, clock=clock)
    cfn = Stubber(app.aws.client("cloudformation"))
    ecr = Stubber(app.aws.client("ecr"))
    missing = ("describe_repositories", "RepositoryNotFoundException", "not found", 400)
    before = _stack_event(1, "UPDATE_COMPLETE")
    cfn.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": "ecslab-dev"})
    ecr.add_client_error(*missing)
    cfn.add_response("describe_stack_events", {"StackEvents": [before]})
    cfn.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY})
    # Two stale reads: the old status, no new event yet.
    for _ in range(2):
        cfn.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
        cfn.add_response("describe_stack_events", {"StackEvents": [before]})
    started = _stack_event(2, "DELETE_IN_PROGRESS", "User Initiated")
    cfn.add_response("describe_stacks", _stack("DELETE_IN_PROGRESS"), {"StackName": STACK_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [started, before]})
    done = _stack_event(3, "DELETE_COMPLETE")
    cfn.add_response("describe_stacks", _stack("DELETE_COMPLETE"), {"StackName": STACK_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [done, started, before]})
    ecr.add_client_error(*missing)

    with cfn, ecr:
        destroy_all(app)

    cfn.assert_no_pending_responses()
    assert output(app)[-1]["deleted"] == ["stack ecslab-dev"]
    assert len(clock.sleeps) == 3 and clock.now() < STALE_READ_GRACE


def test_a_stale_read_is_accepted_after_the_grace_when_no_event_comes() -> None:
    """Bounded: if no event ever confirms the read, it stands once the grace is over."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    clock = FakeClock()
    app = make_app(session, clock=clock)
    cfn = Stubber(app.aws.client("cloudformation"))
    for _ in range(40):  # more polls than the grace allows at 2 s apiece
        cfn.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
        cfn.add_response("describe_stack_events", {"StackEvents": []})
    with cfn:
        final = wait_for_stack(
            app,
            CloudFormation(app.aws),
            STACK_ID,
            None,
            "ecslab-dev",
            "ecslab destroy",
            expect_success=False,
            started=True,
        )
    assert final is not None and final.status == "UPDATE_COMPLETE"
    assert STALE_READ_GRACE <= clock.now() < STALE_READ_GRACE + 5
