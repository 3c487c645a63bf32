"""cfn_plan: which events each resource gets, in which order, for each operation."""

from __future__ import annotations

from typing import Any

from ecslab.sandbox.emulator.cfn_plan import (
    REPLACING,
    Job,
    Snapshot,
    dependency_order,
    event_sequence,
    plan_create,
    plan_delete,
    plan_update,
)

RESOURCES: dict[str, Any] = {
    "Service": {
        "Type": "AWS::ECS::Service",
        "DependsOn": "Listener",
        "Properties": {"TaskDefinition": {"Ref": "Task"}, "Cluster": {"Ref": "Cluster"}},
    },
    "Task": {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "ContainerDefinitions": [{"Image": {"Ref": "Image"}}],
        },
    },
    "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"Path": {"Fn::Sub": "/${Cluster}/"}}},
    "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
    "Repo": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain", "Properties": {}},
}
IDS = {name: f"{name.lower()}-1" for name in RESOURCES}


def test_each_resource_comes_after_what_it_refers_to() -> None:
    order = dependency_order(RESOURCES)
    assert order.index("Cluster") < order.index("Role") < order.index("Task")
    assert order.index("Task") < order.index("Service")
    assert order.index("Listener") < order.index("Service")  # DependsOn


def test_create_waits_for_dependencies_and_shows_aws_sequence() -> None:
    jobs = {job.logical_id: job for job in plan_create(RESOURCES, IDS)}
    assert jobs["Service"].after == {"Task", "Cluster", "Listener"}
    assert jobs["Service"].waits_for_stability
    assert [(status, pid, reason) for _, status, pid, reason in event_sequence(jobs["Task"])] == [
        ("CREATE_IN_PROGRESS", "", ""),
        ("CREATE_IN_PROGRESS", "task-1", "Resource creation Initiated"),
        ("CREATE_COMPLETE", "task-1", ""),
    ]


def test_delete_goes_in_reverse_and_skips_retained_resources() -> None:
    jobs = {job.logical_id: job for job in plan_delete(RESOURCES, IDS)}
    assert "Service" in jobs["Task"].after and "Task" in jobs["Role"].after
    assert [status for _, status, _, _ in event_sequence(jobs["Repo"])] == ["DELETE_SKIPPED"]
    assert not jobs["Service"].waits_for_stability


def test_an_image_change_replaces_the_task_definition_and_updates_the_service() -> None:
    before = Snapshot(RESOURCES, {"Image": "a"}, IDS)
    after = Snapshot(RESOURCES, {"Image": "b"}, {**IDS, "Task": "task-2"})
    jobs, cleanup = plan_update(before, after)
    assert [(j.logical_id, j.action) for j in jobs] == [("Task", "replace"), ("Service", "update")]
    assert jobs[1].after == {"Task"}
    replace = event_sequence(jobs[0])
    assert replace[0][1:] == ("UPDATE_IN_PROGRESS", "task-1", REPLACING)
    assert replace[-1][1:3] == ("UPDATE_COMPLETE", "task-2")
    assert cleanup == [Job("Task", "AWS::ECS::TaskDefinition", "delete", "task-1")]


def test_added_and_removed_resources() -> None:
    old = {k: v for k, v in RESOURCES.items() if k != "Listener"}
    new = {k: v for k, v in RESOURCES.items() if k != "Repo"}
    jobs, cleanup = plan_update(Snapshot(old, {}, IDS), Snapshot(new, {}, IDS))
    actions = {j.logical_id: j.action for j in jobs}
    assert actions["Listener"] == "create"
    assert actions["Service"] == "update"  # it now depends on a new resource
    assert [(j.logical_id, j.action) for j in cleanup] == [("Repo", "retain")]
