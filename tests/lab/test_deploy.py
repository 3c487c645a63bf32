"""The deploy engine in the stack states moto cannot produce, with botocore's Stubber.

Responses are shaped like CloudFormation's (ids, event ids, reasons as AWS writes them).
The clock is fake: waiting never sleeps, and the sleeps asked for are checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ecslab.aws.cloudformation import CloudFormation, StackEvent, first_failure
from ecslab.compose.app import App
from ecslab.core.clock import FakeClock
from ecslab.core.errors import DeployFailed, ExitCode, Interrupted
from ecslab.lab.deploy import DesiredStack, deploy
from ecslab.lab.stack_wait import wait_for_stack
from tests.helpers import make_app, output

NAME = "ecslab-dev"
ARN = "arn:aws:cloudformation:us-east-1:123456789012"
STACK_ID = f"{ARN}:stack/{NAME}/0f6a2f30-7c1e-11ef-9d2a-0affd4c1b5e3"
NEW_STACK_ID = f"{ARN}:stack/{NAME}/5b1e9c70-7c1f-11ef-a1b2-12c4e8f0a9d1"
CHANGE_SET_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:changeSet/ecslab-0123456789abcdef/"
    "8e5b3f0c-2a1d-4c6e-9f7a-3b2d1c0e9f8a"
)
T0 = datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC)
TEMPLATE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "EcrRepository": {
            "Type": "AWS::ECR::Repository",
            "DeletionPolicy": "Retain",
            "Properties": {"RepositoryName": "ecslab-dev-microservice"},
        }
    },
}
DESIRED = DesiredStack(name=NAME, template=TEMPLATE, parameters={}, resume="ecslab step x")


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


@pytest.fixture
def app(session: boto3.Session) -> App:
    return make_app(session)


@pytest.fixture
def stub(app: App) -> Iterator[Stubber]:
    stubber = Stubber(app.aws.client("cloudformation"))
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()


# --- AWS-shaped responses --------------------------------------------------------------


def stack(status: str, stack_id: str = STACK_ID, reason: str | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "StackId": stack_id,
        "StackName": NAME,
        "Description": "ecslab",
        "Parameters": [],
        "CreationTime": T0,
        "LastUpdatedTime": T0 + timedelta(minutes=1),
        "RollbackConfiguration": {},
        "StackStatus": status,
        "DisableRollback": False,
        "NotificationARNs": [],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        "Tags": [],
        "EnableTerminationProtection": False,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    }
    if reason:
        raw["StackStatusReason"] = reason
    return {"Stacks": [raw]}


_clock = iter(range(1, 10_000))


def event(
    logical: str, status: str, reason: str = "", *, rtype: str = "", stack_id: str = STACK_ID
) -> dict[str, Any]:
    """One event; resource events have ids like AWS's ('Logical-STATUS-timestamp')."""
    second = next(_clock)
    when = T0 + timedelta(seconds=second)
    is_stack = logical == NAME
    raw: dict[str, Any] = {
        "StackId": stack_id,
        "EventId": (
            f"{second:08x}-7c1e-11ef-9d2a-0affd4c1b5e3"
            if is_stack
            else f"{logical}-{status}-{when.strftime('%Y-%m-%dT%H:%M:%S.000Z')}"
        ),
        "StackName": NAME,
        "LogicalResourceId": logical,
        "PhysicalResourceId": stack_id if is_stack else f"{logical.lower()}-physical",
        "ResourceType": "AWS::CloudFormation::Stack" if is_stack else rtype,
        "Timestamp": when,
        "ResourceStatus": status,
    }
    if reason:
        raw["ResourceStatusReason"] = reason
    return raw


def events(*newest_first: dict[str, Any]) -> dict[str, Any]:
    return {"StackEvents": list(newest_first)}


def describe(
    stub: Stubber, status: str, stack_id: str = STACK_ID, reason: str | None = None
) -> None:
    stub.add_response("describe_stacks", stack(status, stack_id, reason), {"StackName": ANY})


def stream(stub: Stubber, *newest_first: dict[str, Any], stack_id: str = STACK_ID) -> None:
    stub.add_response("describe_stack_events", events(*newest_first), {"StackName": stack_id})


# --- deploy: states and outcomes -----------------------------------------------------------


def test_rollback_complete_stack_is_deleted_and_created_again(app: App, stub: Stubber) -> None:
    failed_create = event(
        "EcrRepository",
        "CREATE_FAILED",
        "Resource handler returned message: \"Resource of type 'AWS::ECR::Repository' with "
        "identifier 'ecslab-dev-microservice' already exists.\"",
        rtype="AWS::ECR::Repository",
    )
    rolled_back = event(NAME, "ROLLBACK_COMPLETE")
    describe(
        stub,
        "ROLLBACK_COMPLETE",
        reason="The following resource(s) failed to create: [EcrRepository]. "
        "Rollback requested by user.",
    )
    stream(stub, rolled_back, failed_create)
    stub.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY})
    describe(stub, "DELETE_COMPLETE")
    stream(
        stub,
        event(NAME, "DELETE_COMPLETE"),
        event(NAME, "DELETE_IN_PROGRESS", "User Initiated"),
        rolled_back,
    )
    stub.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": NEW_STACK_ID},
        {
            "StackName": NAME,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": ANY,
            "Parameters": [],
            "Capabilities": ANY,
            "Tags": [],
            "Description": ANY,
        },
    )
    stub.add_response(
        "describe_change_set",
        {
            "ChangeSetName": "ecslab-0123456789abcdef",
            "ChangeSetId": CHANGE_SET_ID,
            "StackId": NEW_STACK_ID,
            "StackName": NAME,
            "CreationTime": T0,
            "ExecutionStatus": "AVAILABLE",
            "Status": "CREATE_COMPLETE",
            "Changes": [
                {
                    "Type": "Resource",
                    "ResourceChange": {
                        "Action": "Add",
                        "LogicalResourceId": "EcrRepository",
                        "ResourceType": "AWS::ECR::Repository",
                        "Scope": [],
                        "Details": [],
                    },
                }
            ],
        },
        {"ChangeSetName": CHANGE_SET_ID},
    )
    review = event(NAME, "REVIEW_IN_PROGRESS", "User Initiated", stack_id=NEW_STACK_ID)
    stream(stub, review, stack_id=NEW_STACK_ID)
    stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "ClientRequestToken": ANY}
    )
    describe(stub, "CREATE_COMPLETE", NEW_STACK_ID)
    stream(
        stub,
        event(NAME, "CREATE_COMPLETE", stack_id=NEW_STACK_ID),
        event(
            "EcrRepository", "CREATE_COMPLETE", rtype="AWS::ECR::Repository", stack_id=NEW_STACK_ID
        ),
        event(NAME, "CREATE_IN_PROGRESS", "User Initiated", stack_id=NEW_STACK_ID),
        review,
        stack_id=NEW_STACK_ID,
    )

    result = deploy(app, DESIRED)

    assert result.outcome == "created"
    assert result.stack.stack_id == NEW_STACK_ID
    shown = output(app)
    warning = next(e for e in shown if e["event"] == "warning")
    assert "ROLLBACK_COMPLETE" in warning["message"] and "creates it again" in warning["message"]
    table = next(e for e in shown if e["event"] == "table")
    assert table["rows"] == [
        {
            "Action": "Add",
            "Logical id": "EcrRepository",
            "Type": "AWS::ECR::Repository",
            "Replacement": "-",
        }
    ]
    streamed = [e["status"] for e in shown if e["event"] == "detail"]
    assert streamed[-3:] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE", "CREATE_COMPLETE"]
    assert app.clock.sleeps == []  # type: ignore[attr-defined]  # settled states: no waiting


def test_a_change_set_without_changes_is_up_to_date(app: App, stub: Stubber) -> None:
    describe(stub, "UPDATE_COMPLETE")
    old = {**TEMPLATE, "Description": "an older version"}
    stub.add_response(
        "get_template",
        {"TemplateBody": json.dumps(old), "StagesAvailable": ["Original", "Processed"]},
        {"StackName": STACK_ID},
    )
    stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, None)
    stub.add_response(
        "describe_change_set",
        {
            "ChangeSetName": "ecslab-0123456789abcdef",
            "ChangeSetId": CHANGE_SET_ID,
            "StackId": STACK_ID,
            "StackName": NAME,
            "CreationTime": T0,
            "ExecutionStatus": "UNAVAILABLE",
            "Status": "FAILED",
            "StatusReason": "The submitted information didn't contain changes. Submit different "
            "information to create a change set.",
            "Changes": [],
        },
        {"ChangeSetName": CHANGE_SET_ID},
    )
    stub.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})

    result = deploy(app, DESIRED)

    assert result.outcome == "up-to-date"
    assert not [e for e in output(app) if e["event"] in ("table", "warning", "error")]


def test_a_rejected_change_set_fails_and_changes_nothing(app: App, stub: Stubber) -> None:
    describe(stub, "UPDATE_COMPLETE")
    stub.add_response(
        "get_template", {"TemplateBody": json.dumps({**TEMPLATE, "Description": "x"})}, None
    )
    stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, None)
    stub.add_response(
        "describe_change_set",
        {
            "ChangeSetId": CHANGE_SET_ID,
            "StackId": STACK_ID,
            "StackName": NAME,
            "ExecutionStatus": "UNAVAILABLE",
            "Status": "FAILED",
            "StatusReason": "Parameter validation failed: parameter value sg-0 for parameter "
            "name VpcId does not exist.",
        },
        None,
    )
    stub.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})

    with pytest.raises(DeployFailed) as failure:
        deploy(app, DESIRED)

    assert "VpcId does not exist" in failure.value.message
    assert failure.value.exit_code == ExitCode.DEPLOY_FAILED


def test_an_in_progress_stack_is_waited_for_before_acting(app: App, stub: Stubber) -> None:
    describe(stub, "UPDATE_IN_PROGRESS")
    started = event(NAME, "UPDATE_IN_PROGRESS", "User Initiated")
    stream(stub, started)  # the marker
    describe(stub, "UPDATE_IN_PROGRESS")
    stream(stub, started)
    describe(stub, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    cleanup = event(NAME, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    stream(stub, cleanup, started)
    describe(stub, "UPDATE_COMPLETE")
    stream(stub, event(NAME, "UPDATE_COMPLETE"), cleanup, started)
    stub.add_response(
        "get_template", {"TemplateBody": json.dumps(TEMPLATE)}, {"StackName": STACK_ID}
    )

    result = deploy(app, DESIRED)

    assert result.outcome == "up-to-date"  # compared only once the stack settled
    sleeps = app.clock.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == 2 and all(2.0 <= s <= 5.0 for s in sleeps)
    assert any("waiting for it to settle" in e["message"] for e in output(app))


# --- waiting: root cause, throttling, Ctrl-C, timeout ---------------------------------------


def _wait(app: App) -> Any:
    cfn = CloudFormation(app.aws)
    return wait_for_stack(app, cfn, STACK_ID, "marker", NAME, "ecslab step deploy-service")


def test_a_rolled_back_update_fails_with_the_first_failed_resource(app: App, stub: Stubber) -> None:
    first = event(
        "EcsService",
        "UPDATE_FAILED",
        "Resource handler returned message: \"Error occurred during operation 'ECS Deployment "
        "Circuit Breaker was triggered'.\"",
        rtype="AWS::ECS::Service",
    )
    cancelled = event(
        "TaskDefinition",
        "UPDATE_FAILED",
        "Resource update cancelled",
        rtype="AWS::ECS::TaskDefinition",
    )
    rollback = event(
        NAME,
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to update: [EcsService].",
    )
    describe(stub, "UPDATE_ROLLBACK_IN_PROGRESS")
    stream(
        stub,
        rollback,
        cancelled,
        first,
        event(NAME, "UPDATE_IN_PROGRESS", "User Initiated"),
        {**event(NAME, "UPDATE_COMPLETE"), "EventId": "marker"},
    )
    describe(stub, "UPDATE_ROLLBACK_COMPLETE")
    stream(stub, event(NAME, "UPDATE_ROLLBACK_COMPLETE"), rollback)

    with pytest.raises(DeployFailed) as failure:
        _wait(app)

    error = failure.value
    assert error.exit_code == ExitCode.DEPLOY_FAILED
    assert int(error.exit_code) == 5
    assert error.message.startswith(f"stack {NAME} ended UPDATE_ROLLBACK_COMPLETE")
    assert "Root cause: EcsService (AWS::ECS::Service) UPDATE_FAILED" in error.message
    assert "Circuit Breaker" in error.message
    assert "ecslab step deploy-service" in (error.hint or "")


def test_root_cause_skips_resources_only_cancelled_because_of_it() -> None:
    def ev(logical: str, status: str, reason: str) -> StackEvent:
        return StackEvent(logical, None, logical, "AWS::X::Y", status, reason)

    cancelled = ev("A", "CREATE_FAILED", "Resource creation cancelled")
    real = ev("B", "CREATE_FAILED", "Invalid request provided: bad subnet")
    assert first_failure([ev("A", "CREATE_IN_PROGRESS", ""), cancelled, real]) == real
    assert first_failure([cancelled]) == cancelled
    assert first_failure([ev("A", "CREATE_COMPLETE", "")]) is None


def test_throttling_while_waiting_is_polled_through(app: App, stub: Stubber) -> None:
    stub.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400)
    describe(stub, "UPDATE_IN_PROGRESS")
    stub.add_client_error("describe_stack_events", "Throttling", "Rate exceeded", 400)
    describe(stub, "UPDATE_COMPLETE")
    stream(
        stub,
        event(NAME, "UPDATE_COMPLETE"),
        {**event(NAME, "UPDATE_IN_PROGRESS"), "EventId": "marker"},
    )

    final = _wait(app)

    assert final is not None and final.status == "UPDATE_COMPLETE"
    assert len(app.clock.sleeps) == 2  # type: ignore[attr-defined]


class InterruptingClock(FakeClock):
    """Ctrl-C arrives while ecslab sleeps between polls."""

    def sleep(self, seconds: float) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_while_waiting_says_the_deploy_continues(session: boto3.Session) -> None:
    app = make_app(session, clock=InterruptingClock())
    with Stubber(app.aws.client("cloudformation")) as stub:
        describe(stub, "UPDATE_IN_PROGRESS")
        stream(stub, {**event(NAME, "UPDATE_IN_PROGRESS"), "EventId": "marker"})
        with pytest.raises(Interrupted) as stopped:
            _wait(app)
    assert stopped.value.exit_code == ExitCode.INTERRUPTED
    assert "carries on in AWS" in stopped.value.message
    assert "ecslab step deploy-service" in (stopped.value.hint or "")


def test_the_timeout_restarts_whenever_progress_is_seen(session: boto3.Session) -> None:
    app = make_app(session, timeout=10)
    newest = {**event(NAME, "UPDATE_IN_PROGRESS"), "EventId": "marker"}
    with Stubber(app.aws.client("cloudformation")) as stub:
        for n in range(8):  # 8 polls with a new event each: 14+ s in all, never 10 s idle
            describe(stub, "UPDATE_IN_PROGRESS")
            fresh = event(f"Resource{n}", "CREATE_IN_PROGRESS", rtype="AWS::Logs::LogGroup")
            stream(stub, fresh, newest)
            newest = fresh
        for _ in range(6):  # then nothing new: sleeps of 2-5 s, so > 10 s idle by the 5th
            describe(stub, "UPDATE_IN_PROGRESS")
            stream(stub, newest)
        with pytest.raises(DeployFailed) as gave_up:
            _wait(app)
    clock: FakeClock = app.clock  # type: ignore[assignment]
    assert clock.now() > 16  # far longer than the timeout, yet it went on while progressing
    assert all(2.0 <= s <= 5.0 for s in clock.sleeps)
    assert re.search(r"no progress for 1\d s", gave_up.value.message)
    assert "continues in AWS" in gave_up.value.message


# --- states that need a person: failed rollback, failed delete ----------------------------


def _failed_resource(logical: str, rtype: str, status: str, reason: str) -> dict[str, Any]:
    return {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": logical,
                "PhysicalResourceId": f"{logical.lower()}-physical",
                "ResourceType": rtype,
                "LastUpdatedTimestamp": T0,
                "ResourceStatus": status,
                "ResourceStatusReason": reason,
            }
        ]
    }


ROLLBACK_REASON = (
    'Resource handler returned message: "Unable to assume role and validate the listeners '
    'configured on your load balancer." (RequestToken: 1f0e, HandlerErrorCode: InvalidRequest)'
)


def test_update_rollback_failed_is_continued_with_yes(app: App, stub: Stubber) -> None:
    describe(stub, "UPDATE_ROLLBACK_FAILED")
    stub.add_response(
        "list_stack_resources",
        _failed_resource("EcsService", "AWS::ECS::Service", "UPDATE_FAILED", ROLLBACK_REASON),
        {"StackName": STACK_ID},
    )
    failed_event = event(NAME, "UPDATE_ROLLBACK_FAILED", "The following resource(s) failed ...")
    stream(stub, failed_event)
    stub.add_response(
        "continue_update_rollback", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY}
    )
    describe(stub, "UPDATE_ROLLBACK_COMPLETE")
    stream(stub, event(NAME, "UPDATE_ROLLBACK_COMPLETE"), failed_event)
    stub.add_response("get_template", {"TemplateBody": json.dumps(TEMPLATE)}, None)

    result = deploy(app, DESIRED)

    assert result.outcome == "up-to-date"
    messages = " ".join(e["message"] for e in output(app))
    assert "UPDATE_ROLLBACK_FAILED" in messages and "EcsService" in messages


def test_update_rollback_failed_without_a_terminal_explains(session: boto3.Session) -> None:
    app = make_app(session, yes=False, interactive=False)
    with Stubber(app.aws.client("cloudformation")) as stub:
        describe(stub, "UPDATE_ROLLBACK_FAILED")
        stub.add_response(
            "list_stack_resources",
            _failed_resource("EcsService", "AWS::ECS::Service", "UPDATE_FAILED", ROLLBACK_REASON),
            None,
        )
        with pytest.raises(DeployFailed) as failure:
            deploy(app, DESIRED)
        stub.assert_no_pending_responses()  # nothing was continued
    assert "continue-update-rollback --stack-name ecslab-dev" in (failure.value.hint or "")


def test_delete_failed_names_what_blocks_it(app: App, stub: Stubber) -> None:
    describe(stub, "DELETE_FAILED")
    stub.add_response(
        "list_stack_resources",
        _failed_resource(
            "LoadBalancerSecurityGroup",
            "AWS::EC2::SecurityGroup",
            "DELETE_FAILED",
            "resource sg-0123 has a dependent object",
        ),
        None,
    )
    with pytest.raises(DeployFailed) as failure:
        deploy(app, DESIRED)
    assert "DELETE_FAILED" in failure.value.message
    assert "LoadBalancerSecurityGroup" in failure.value.message
    assert "dependent object" in failure.value.message


# --- AWS's timing: a status read from before the call (aws-cdk-cli #1802) ------------------


def _change_set_ready(stub: Stubber, stack_id: str, action: str) -> None:
    stub.add_response(
        "describe_change_set",
        {
            "ChangeSetName": "ecslab-0123456789abcdef",
            "ChangeSetId": CHANGE_SET_ID,
            "StackId": stack_id,
            "StackName": NAME,
            "CreationTime": T0,
            "ExecutionStatus": "AVAILABLE",
            "Status": "CREATE_COMPLETE",
            "Changes": [
                {
                    "Type": "Resource",
                    "ResourceChange": {
                        "Action": action,
                        "LogicalResourceId": "EcrRepository",
                        "ResourceType": "AWS::ECR::Repository",
                        "Scope": [],
                        "Details": [],
                    },
                }
            ],
        },
        {"ChangeSetName": CHANGE_SET_ID},
    )


def test_a_first_create_is_not_failed_on_a_stale_review_in_progress(
    app: App, stub: Stubber
) -> None:
    """Right after ExecuteChangeSet, DescribeStacks still says REVIEW_IN_PROGRESS."""
    stub.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {NAME} does not exist", 400
    )
    stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, None)
    _change_set_ready(stub, STACK_ID, "Add")
    review = event(NAME, "REVIEW_IN_PROGRESS", "User Initiated")
    stream(stub, review)  # the marker
    stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "ClientRequestToken": ANY}
    )
    describe(stub, "REVIEW_IN_PROGRESS")  # stale
    stream(stub, review)
    describe(stub, "REVIEW_IN_PROGRESS")  # still stale, and the first event has arrived
    started = event(NAME, "CREATE_IN_PROGRESS", "User Initiated")
    stream(stub, started, review)
    describe(stub, "CREATE_IN_PROGRESS")
    repo = event("EcrRepository", "CREATE_COMPLETE", rtype="AWS::ECR::Repository")
    stream(stub, repo, started, review)
    describe(stub, "CREATE_COMPLETE")
    stream(stub, event(NAME, "CREATE_COMPLETE"), repo, started, review)

    result = deploy(app, DESIRED)

    assert result.outcome == "created" and result.stack.status == "CREATE_COMPLETE"
    assert len(app.clock.sleeps) == 3  # type: ignore[attr-defined]


def test_an_update_is_not_done_before_it_starts(app: App, stub: Stubber) -> None:
    """The phase-1 -> full update: the first reads still show the phase-1 UPDATE_COMPLETE."""
    describe(stub, "UPDATE_COMPLETE")
    old = {**TEMPLATE, "Description": "phase 1"}
    stub.add_response("get_template", {"TemplateBody": json.dumps(old)}, {"StackName": STACK_ID})
    stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, None)
    _change_set_ready(stub, STACK_ID, "Modify")
    before = event(NAME, "UPDATE_COMPLETE")
    stream(stub, before)  # the marker
    stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "ClientRequestToken": ANY}
    )
    for _ in range(2):
        describe(stub, "UPDATE_COMPLETE")  # from before the call
        stream(stub, before)
    started = event(NAME, "UPDATE_IN_PROGRESS", "User Initiated")
    describe(stub, "UPDATE_IN_PROGRESS")
    stream(stub, started, before)
    cleanup = event(NAME, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    done = event(NAME, "UPDATE_COMPLETE")
    describe(stub, "UPDATE_COMPLETE")
    stream(stub, done, cleanup, started, before)

    result = deploy(app, DESIRED)

    assert result.outcome == "updated"
    streamed = [e["status"] for e in output(app) if e["event"] == "detail"]
    assert streamed == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]
    assert len(app.clock.sleeps) == 3  # type: ignore[attr-defined]
    assert app.clock.now() < 30  # type: ignore[attr-defined]  # seconds, not the grace
