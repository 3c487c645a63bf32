"""ecslab.aws.cloudformation against a moto server over HTTP."""

from __future__ import annotations

import json

import boto3
import pytest

from ecslab.aws.cloudformation import (
    CloudFormation,
    failed,
    in_progress,
)
from ecslab.compose.app import App
from tests.helpers import make_app

TEMPLATE = {
    "Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "cfn-test"}}
    },
    "Outputs": {"Name": {"Value": {"Ref": "Logs"}}},
}


@pytest.fixture
def app(aws: boto3.Session, moto_server: str) -> App:
    return make_app(aws, moto_server)


def _create(cfn: CloudFormation, body: dict[str, object], kind: str = "CREATE") -> str:
    change_set = cfn.create_change_set(
        "cfn-test", "first", change_set_type=kind, body=json.dumps(body), parameters={}, tags={}
    )
    assert cfn.describe_change_set(change_set.change_set_id).status == "CREATE_COMPLETE"
    cfn.execute_change_set(change_set.change_set_id)
    return change_set.stack_id


def test_a_missing_stack_is_none(app: App) -> None:
    assert app.aws.cloudformation.describe("no-such-stack", fresh=True) is None


def test_change_set_lists_changes_and_creates_the_stack(app: App) -> None:
    cfn = CloudFormation(app.aws)
    change_set = cfn.create_change_set(
        "cfn-test",
        "first",
        change_set_type="CREATE",
        body=json.dumps(TEMPLATE),
        parameters={},
        tags={"ecslab:project": "ecslab"},
    )
    described = cfn.describe_change_set(change_set.change_set_id)
    assert [(c.action, c.logical_id, c.resource_type) for c in described.changes] == [
        ("Add", "Logs", "AWS::Logs::LogGroup")
    ]
    assert cfn.describe("cfn-test").status == "REVIEW_IN_PROGRESS"  # type: ignore[union-attr]
    marker = cfn.latest_event_id(change_set.stack_id)
    cfn.execute_change_set(change_set.change_set_id)
    stack = cfn.describe("cfn-test")
    assert stack is not None and stack.status == "CREATE_COMPLETE"
    assert stack.tags == {"ecslab:project": "ecslab"}
    new = cfn.events_since(stack.stack_id, marker)
    assert [e.status for e in new] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]  # oldest first
    assert cfn.events_since(stack.stack_id, new[-1].event_id) == []


def test_template_reads_back_as_data(app: App) -> None:
    cfn = CloudFormation(app.aws)
    stack_id = _create(cfn, TEMPLATE)
    assert cfn.template(stack_id) == TEMPLATE


def test_an_update_without_changes_is_recognised(app: App) -> None:
    cfn = CloudFormation(app.aws)
    _create(cfn, TEMPLATE)
    # moto answers like AWS here: a FAILED change set saying it "didn't contain changes"
    # (with parameters, moto's CreateChangeSet refuses at once: NoChanges).
    change_set = cfn.create_change_set(
        "cfn-test",
        "again",
        change_set_type="UPDATE",
        body=json.dumps(TEMPLATE),
        parameters={},
        tags={},
    )
    described = cfn.describe_change_set(change_set.change_set_id)
    assert described.status == "FAILED" and described.no_changes
    changed = {**TEMPLATE, "Description": "changed"}
    other = cfn.create_change_set(
        "cfn-test",
        "third",
        change_set_type="UPDATE",
        body=json.dumps(changed),
        parameters={},
        tags={},
    )
    assert not cfn.describe_change_set(other.change_set_id).no_changes


def test_delete_and_nothing_failed(app: App) -> None:
    cfn = CloudFormation(app.aws)
    stack_id = _create(cfn, TEMPLATE)
    assert cfn.failed_resources(stack_id) == []
    cfn.delete_stack(stack_id)
    assert cfn.describe("cfn-test") is None
    assert cfn.describe(stack_id).status == "DELETE_COMPLETE"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "busy", "bad"),
    [
        ("CREATE_IN_PROGRESS", True, False),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", True, False),
        ("REVIEW_IN_PROGRESS", False, False),
        ("UPDATE_ROLLBACK_COMPLETE", False, True),
        ("ROLLBACK_COMPLETE", False, True),
        ("DELETE_FAILED", False, True),
        ("UPDATE_COMPLETE", False, False),
    ],
)
def test_state_classes(status: str, busy: bool, bad: bool) -> None:
    assert in_progress(status) is busy
    assert failed(status) is bad
