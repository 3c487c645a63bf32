"""The CloudFormation area: stack operations timed as AWS times them, seen over HTTP.

The sandbox's moto server runs as a child process, sped up 10 times; the clients are plain
boto3 and ecslab's own deploy and destroy code, as against AWS.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from ecslab.core.clock import SystemClock
from ecslab.lab.deploy import DesiredStack, deploy
from ecslab.sandbox.emulator.cloudformation import (
    BREAKER,
    SandboxClock,
    StackOperations,
)
from tests.awscli_support import AwsCli, stack_events
from tests.helpers import make_app, output

RESOURCES: dict[str, Any] = {
    "Role": {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    },
    "Logs": {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": {"Fn::Sub": "${AWS::StackName}-logs"}},
    },
    "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
    "Task": {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": {"Fn::Sub": "${AWS::StackName}-task"},
            "ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "ContainerDefinitions": [
                {
                    "Name": "web",
                    "Image": {"Ref": "Image"},
                    "Memory": 512,
                    "LogConfiguration": {
                        "LogDriver": "awslogs",
                        "Options": {"awslogs-group": {"Ref": "Logs"}},
                    },
                }
            ],
        },
    },
}
TEMPLATE = {"Parameters": {"Image": {"Type": "String"}}, "Resources": RESOURCES}


@pytest.fixture
def cfn(sandbox_moto: str) -> Any:
    return _session(sandbox_moto).client("cloudformation")


def _session(endpoint: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def _client(endpoint: str, service: str) -> Any:
    return _session(endpoint).client(service, endpoint_url=endpoint)


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _status(client: Any, stack: str) -> str:
    return str(client.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])


def _events(client: Any, stack: str) -> list[dict[str, Any]]:
    """Every event, oldest first, through every page."""
    found: list[dict[str, Any]] = []
    for page in client.get_paginator("describe_stack_events").paginate(StackName=stack):
        found.extend(page["StackEvents"])
    return found[::-1]


def _with_image(image: str) -> dict[str, Any]:
    """TEMPLATE with the image written in the container (moto ignores parameter changes)."""
    template = json.loads(json.dumps(TEMPLATE))
    template["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["Image"] = image
    return template


def _change_set(
    client: Any, stack: str, kind: str, image: str, template: dict[str, Any] = TEMPLATE
) -> str:
    made = client.create_change_set(
        StackName=stack,
        ChangeSetName=f"cs-{int(time.monotonic() * 1000)}",
        ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "Image", "ParameterValue": image}],
        Capabilities=["CAPABILITY_IAM"],
    )
    return str(made["Id"])


def test_a_create_returns_at_once_and_resources_appear_one_by_one(sandbox_moto: str) -> None:
    cfn = _client(sandbox_moto, "cloudformation")
    change_set = _change_set(cfn, "timed-create", "CREATE", "web:1")
    cfn.execute_change_set(ChangeSetName=change_set, ClientRequestToken="ecslab-create-1")
    seen = [_status(cfn, "timed-create")]
    while seen[-1] != "CREATE_COMPLETE":
        time.sleep(0.05)
        status = _status(cfn, "timed-create")
        if status != seen[-1]:
            seen.append(status)
    # The call returned before the work: the first read is still the status from before it
    # (AWS's eventual consistency), then the stack is in progress (if a poll caught it).
    assert seen[0] == "REVIEW_IN_PROGRESS"
    assert seen[1:] in (["CREATE_IN_PROGRESS", "CREATE_COMPLETE"], ["CREATE_COMPLETE"])

    events = [
        e for e in _events(cfn, "timed-create") if e["ResourceStatus"] != "REVIEW_IN_PROGRESS"
    ]
    assert {e.get("ClientRequestToken") for e in events} == {"ecslab-create-1"}
    task = [e for e in events if e["LogicalResourceId"] == "Task"]
    assert [(e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in task] == [
        ("CREATE_IN_PROGRESS", ""),
        ("CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("CREATE_COMPLETE", ""),
    ]
    assert (
        task[0]["PhysicalResourceId"] == ""
        and ":task-definition/" in task[-1]["PhysicalResourceId"]
    )
    assert task[0]["EventId"].startswith("Task-CREATE_IN_PROGRESS-")
    position = {(e["LogicalResourceId"], e["ResourceStatus"]): i for i, e in enumerate(events)}
    for dependency in ("Role", "Logs"):  # the task definition refers to both
        assert position[(dependency, "CREATE_COMPLETE")] < position[("Task", "CREATE_IN_PROGRESS")]
    assert events[0]["ResourceType"] == "AWS::CloudFormation::Stack"
    assert [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == "timed-create"] == [
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
    ]
    assert events[-1]["Timestamp"] > events[0]["Timestamp"]


def test_an_update_replaces_cleans_up_and_refuses_a_second_operation(sandbox_moto: str) -> None:
    cfn = _client(sandbox_moto, "cloudformation")
    cfn.execute_change_set(ChangeSetName=_change_set(cfn, "timed-update", "CREATE", "web:1"))
    _until(lambda: _status(cfn, "timed-update") == "CREATE_COMPLETE")
    known = len(_events(cfn, "timed-update"))

    updated = _change_set(cfn, "timed-update", "UPDATE", "web:1", _with_image("web:2"))
    cfn.execute_change_set(ChangeSetName=updated)
    assert _status(cfn, "timed-update") == "CREATE_COMPLETE"  # stale, for a moment
    with pytest.raises(cfn.exceptions.ClientError, match="UPDATE_IN_PROGRESS state"):
        _change_set(cfn, "timed-update", "UPDATE", "web:3")
    _until(lambda: _status(cfn, "timed-update") == "UPDATE_COMPLETE")

    new = _events(cfn, "timed-update")[known:]
    stack = [e["ResourceStatus"] for e in new if e["LogicalResourceId"] == "timed-update"]
    assert stack == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"]
    task = [
        (e["ResourceStatus"], e["PhysicalResourceId"])
        for e in new
        if e["LogicalResourceId"] == "Task"
    ]
    old_arn, new_arn = task[0][1], task[2][1]
    assert old_arn.endswith(":1") and new_arn.endswith(":2")
    assert task == [
        ("UPDATE_IN_PROGRESS", old_arn),
        ("UPDATE_IN_PROGRESS", new_arn),
        ("UPDATE_COMPLETE", new_arn),
        ("DELETE_IN_PROGRESS", old_arn),  # the replaced one, during the cleanup
        ("DELETE_COMPLETE", old_arn),
    ]
    assert not any(e["LogicalResourceId"] in ("Role", "Cluster") for e in new)  # unchanged


def test_a_delete_is_in_progress_then_gone(sandbox_moto: str) -> None:
    cfn = _client(sandbox_moto, "cloudformation")
    cfn.execute_change_set(ChangeSetName=_change_set(cfn, "timed-delete", "CREATE", "web:1"))
    _until(lambda: _status(cfn, "timed-delete") == "CREATE_COMPLETE")
    stack_id = cfn.describe_stacks(StackName="timed-delete")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="timed-delete")
    _until(lambda: _status(cfn, "timed-delete") == "DELETE_IN_PROGRESS")
    _until(lambda: _status(cfn, stack_id) == "DELETE_COMPLETE")
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.describe_stacks(StackName="timed-delete")
    events = _events(cfn, stack_id)
    task = [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == "Task"]
    assert task[-2:] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    position = {(e["LogicalResourceId"], e["ResourceStatus"]): i for i, e in enumerate(events)}
    # the task definition refers to the role, so it goes first
    assert position[("Task", "DELETE_COMPLETE")] < position[("Role", "DELETE_IN_PROGRESS")]


def test_events_are_newest_first_in_pages(sandbox_moto: str) -> None:
    cfn = _client(sandbox_moto, "cloudformation")
    many = {f"Group{i}": {"Type": "AWS::Logs::LogGroup", "Properties": {}} for i in range(40)}
    cfn.create_stack(StackName="many-events", TemplateBody=json.dumps({"Resources": many}))
    _until(lambda: _status(cfn, "many-events") == "CREATE_COMPLETE")
    first = cfn.describe_stack_events(StackName="many-events")
    assert len(first["StackEvents"]) == 100 and "NextToken" in first
    events = _events(cfn, "many-events")
    assert len(events) == 40 * 3 + 2
    assert len({e["EventId"] for e in events}) == len(events)
    stamps = [e["Timestamp"] for e in events]
    assert stamps == sorted(stamps)
    for token in ("not-a-token", "0", "999"):
        with pytest.raises(cfn.exceptions.ClientError, match="ValidationError"):
            cfn.describe_stack_events(StackName="many-events", NextToken=token)


def test_ecslab_deploy_meets_the_stale_read_and_the_delayed_events(
    sandbox_moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deploy engine, real clock, against the timed sandbox: created, not failed."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    app = make_app(_session(sandbox_moto), sandbox_moto, clock=SystemClock())  # type: ignore[arg-type]
    desired = DesiredStack("ecslab-timed", TEMPLATE, {"Image": "web:1"})

    result = deploy(app, desired)

    assert result.outcome == "created" and result.stack.status == "CREATE_COMPLETE"
    streamed = [(e["logical_id"], e["status"]) for e in output(app) if e["event"] == "detail"]
    assert ("Task", "CREATE_IN_PROGRESS") in streamed
    assert streamed[-1] == ("ecslab-timed", "CREATE_COMPLETE")


# -- a failing ECS service rolls the stack back (the scheduler's verdict injected) ----------

SERVICE_TEMPLATE: dict[str, Any] = {
    "Parameters": {"Count": {"Type": "Number"}},
    "Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "rb"}},
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "rb",
                "ContainerDefinitions": [{"Name": "web", "Image": "web:1", "Memory": 512}],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "ServiceName": "rb-svc",
                "Cluster": {"Ref": "Cluster"},
                "TaskDefinition": {"Ref": "Task"},
                "DesiredCount": {"Ref": "Count"},
            },
        },
    },
}


@pytest.fixture
def in_process_operations() -> Iterator[tuple[StackOperations, dict[str, str]]]:
    """The area's patches in this process, with the scheduler's verdict set by the test."""
    verdict = {"outcome": "stable"}
    stop = threading.Event()
    operations = StackOperations(
        SandboxClock(50.0, stop), 0.0, services=lambda c, s: (verdict["outcome"], "exit 1")
    )
    undo = operations.install()
    try:
        yield operations, verdict
    finally:
        stop.set()
        undo()


def test_a_failed_service_deployment_rolls_the_update_back(
    in_process_operations: tuple[StackOperations, dict[str, str]],
) -> None:
    from moto.cloudformation.models import cloudformation_backends
    from moto.ecs.models import ecs_backends

    _, verdict = in_process_operations
    backend = cloudformation_backends["123456789012"]["eu-west-3"]
    body = json.dumps(SERVICE_TEMPLATE)
    stack = backend.create_stack("rollback", body, {"Count": "1"})
    _until(lambda: stack.status == "CREATE_COMPLETE")
    verdict["outcome"] = "failed"
    backend.update_stack(
        "rollback", body, None, [{"ParameterKey": "Count", "ParameterValue": "3"}], None
    )
    _until(lambda: stack.status == "UPDATE_ROLLBACK_COMPLETE")

    statuses = [(e.logical_resource_id, e.resource_status) for e in stack.events]
    update = statuses[statuses.index(("rollback", "UPDATE_IN_PROGRESS")) :]
    assert [s for n, s in update if n == "rollback"] == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]
    failed = next(e for e in stack.events if e.resource_status == "UPDATE_FAILED")
    assert failed.logical_resource_id == "Service" and failed.resource_status_reason == BREAKER
    rolling = next(e for e in stack.events if e.resource_status == "UPDATE_ROLLBACK_IN_PROGRESS")
    assert (
        rolling.resource_status_reason == "The following resource(s) failed to update: [Service]. "
    )
    assert stack.parameters == {"Count": "1"}
    service = ecs_backends["123456789012"]["eu-west-3"].describe_services("rb", ["rb-svc"])[0][0]
    assert service.desired_count == 1


# -- seen through the AWS CLI ---------------------------------------------------------------


def test_the_aws_cli_sees_resources_appear_one_by_one(
    sandbox_moto: str, awscli: Callable[[str], AwsCli]
) -> None:
    """A chain of 80 log groups (each after the previous) takes about 9 s at 10x: time
    for the CLI (about 1 s a command here, more on a busy machine) to look while it runs."""
    cli = awscli(sandbox_moto)
    size = 80
    chain: dict[str, Any] = {}
    for i in range(size):
        body: dict[str, Any] = {"Type": "AWS::Logs::LogGroup", "Properties": {}}
        if i:
            body["DependsOn"] = f"Group{i - 1}"
        chain[f"Group{i}"] = body
    _client(sandbox_moto, "cloudformation").create_stack(
        StackName="cli-chain", TemplateBody=json.dumps({"Resources": chain})
    )

    status = cli.json("cloudformation", "describe-stacks", "--stack-name", "cli-chain")
    during = stack_events(cli, "cli-chain")
    assert status["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    done = {e["LogicalResourceId"] for e in during if e["ResourceStatus"] == "CREATE_COMPLETE"}
    assert f"Group{size - 1}" not in done and "cli-chain" not in done

    cfn = _client(sandbox_moto, "cloudformation")
    _until(lambda: _status(cfn, "cli-chain") == "CREATE_COMPLETE", timeout=60)
    after = stack_events(cli, "cli-chain")
    assert len(after) == size * 3 + 2  # the CLI followed NextToken past the first 100
    completes = [e["LogicalResourceId"] for e in after if e["ResourceStatus"] == "CREATE_COMPLETE"]
    assert completes == [f"Group{i}" for i in range(size)] + ["cli-chain"]
    first = next(e for e in after if e["LogicalResourceId"] == "Group0")
    assert first["ResourceStatus"] == "CREATE_IN_PROGRESS" and not first.get("PhysicalResourceId")
