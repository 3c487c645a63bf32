"""Root-cause rules: which evidence wins, and what the one-line cause and fix say."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecslab.aws.cloudformation import Stack, StackEvent
from ecslab.aws.ecs import Container, Deployment, Service, Task
from ecslab.aws.elbv2 import TargetHealth
from ecslab.lab.db_access import DbAccess
from ecslab.lab.diagnose import Evidence, root_cause, timeline
from ecslab.lab.observe import Snapshot
from ecslab.lab.probe import classify

T = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DB_DOWN = classify("http://lb/", 503, b'{"error":"database_unavailable","message":"x"}', 0.01)
ALB_503 = classify("http://lb/", 503, b"<html>503</html>", 0.01)


def _stack(status: str = "CREATE_COMPLETE", reason: str = "") -> Stack:
    return Stack("ecslab-dev", "arn:stack", status, reason, {}, {"DbHost": "db.internal"})


def _service(rollout: str = "COMPLETED", running: int = 2) -> Service:
    deployment = Deployment(
        "ecs-svc/1",
        "PRIMARY",
        "td:3",
        2,
        running,
        0,
        0,
        rollout,
        "circuit breaker" if rollout == "FAILED" else "",
        T,
    )
    return Service("svc", "arn:svc", "ACTIVE", 2, running, 0, "td:3", (deployment,), (), ())


def _task(reason: str, exit_code: int | None = None, container_reason: str = "") -> Task:
    container = Container("web", "STOPPED", exit_code, container_reason, "img", "")
    return Task("arn:task/abc123", "td:3", "STOPPED", reason, "", T, None, (container,))


def _evidence(probe=ALB_503, snapshot=None, **kwargs) -> Evidence:  # type: ignore[no-untyped-def]
    return Evidence("http://lb/", probe, snapshot, "db.internal:5432", **kwargs)


def test_database_down_wins_over_old_stopped_tasks() -> None:
    e = _evidence(
        DB_DOWN,
        Snapshot(_stack(), _service()),
        stopped_tasks=[_task("CannotPullContainerError: not found")],
    )
    cause = root_cause(e)
    assert cause.cause.startswith("database unreachable from the tasks")
    assert "db.internal:5432" in cause.cause
    assert cause.source == "probe"


def test_database_down_gives_the_ingress_command_when_the_group_is_closed() -> None:
    closed = DbAccess("sg-0task", ("sg-0db",), 5432, (), "eu-west-1")
    fix = root_cause(_evidence(DB_DOWN, Snapshot(_stack(), _service()), db_access=closed)).fix
    assert (
        "run `aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-0db "
        "--protocol tcp --port 5432 --source-group sg-0task`" in fix
    )
    opened = DbAccess("sg-0task", ("sg-0db",), 5432, ("sg-0db",), "eu-west-1")
    fix = root_cause(_evidence(DB_DOWN, Snapshot(_stack(), _service()), db_access=opened)).fix
    assert "authorize-security-group-ingress" not in fix and "security group" in fix


def test_rolled_back_stack_names_the_first_failed_resource() -> None:
    events = [
        StackEvent(
            "1",
            T,
            "EcsService",
            "AWS::ECS::Service",
            "CREATE_FAILED",
            "Resource handler returned message: Invalid request provided",
        ),
        StackEvent(
            "2",
            T,
            "Listener",
            "AWS::ElasticLoadBalancingV2::Listener",
            "CREATE_FAILED",
            "Resource creation cancelled",
        ),
        StackEvent("3", T, "ecslab-dev", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", ""),
    ]
    e = _evidence(snapshot=Snapshot(_stack("ROLLBACK_COMPLETE"), None), stack_events=events)
    cause = root_cause(e)
    assert cause.cause == (
        "stack ecslab-dev is ROLLBACK_COMPLETE: EcsService: Resource handler returned message: "
        "Invalid request provided"
    )
    assert "ecslab run-all" in cause.fix


def test_out_of_memory_exit() -> None:
    task = _task("Essential container in task exited", 137, "OutOfMemoryError: Container killed")
    cause = root_cause(_evidence(snapshot=Snapshot(_stack(), _service()), stopped_tasks=[task]))
    assert "exit code 137" in cause.cause
    assert "FargateMemory" in cause.fix


def test_failed_health_checks() -> None:
    target = TargetHealth(
        "10.0.1.5",
        8080,
        "unhealthy",
        "Target.FailedHealthChecks",
        "Health checks failed with these codes: [503]",
    )
    cause = root_cause(_evidence(snapshot=Snapshot(_stack(), _service(), (target,))))
    assert "Target.FailedHealthChecks" in cause.cause and "[503]" in cause.cause
    assert "/health" in cause.fix


def test_rollout_failed_without_other_evidence() -> None:
    cause = root_cause(_evidence(snapshot=Snapshot(_stack(), _service("FAILED", 0))))
    assert cause.cause == "deployment ecs-svc/1 failed: circuit breaker"


def test_fallback_uses_the_probe() -> None:
    cause = root_cause(_evidence(snapshot=Snapshot(_stack(), _service())))
    assert "no healthy target" in cause.cause and cause.source == "probe"


def test_timeline_is_ordered_and_ends_with_the_current_state() -> None:
    later = T.replace(minute=5)
    e = _evidence(
        snapshot=Snapshot(
            _stack(), _service(), (TargetHealth("10.0.1.5", 8080, "draining", "", ""),)
        ),
        stopped_tasks=[_task("Essential container in task exited", 1)],
        stack_events=[
            StackEvent(
                "1", later, "ecslab-dev", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", ""
            )
        ],
    )
    entries = timeline(e)
    assert [x.source for x in entries] == ["task", "stack", "target", "probe"]
    assert entries[0].when() == "02:00:00" and entries[-1].when() == "now"
    assert entries[0].text == "task abc123 stopped: Essential container in task exited; web exit 1"


def _db_503(cause: str, sqlstate: str) -> bytes:
    return (
        b'{"error":"database_unavailable","message":"the database is not available: x",'
        b'"cause":"%s","sqlstate":"%s"}' % (cause.encode(), sqlstate.encode())
    )


def _stack_with_db() -> Stack:
    params = {"DbHost": "db.internal", "DbName": "microsite", "DbUser": "app"}
    return Stack("ecslab-dev", "arn:stack", "CREATE_COMPLETE", "", {}, params)


@pytest.mark.parametrize(
    ("cause", "sqlstate", "says", "fix"),
    [
        ("database_missing", "3D000", "database microsite does not exist", "CREATE DATABASE "
         "microsite OWNER app;"),
        ("permission_denied", "42501", "42501", "GRANT CREATE ON SCHEMA public TO app;"),
        ("bad_password", "28P01", "password authentication failed for user app",
         "DbPassword must be app's password"),
    ],
)  # fmt: skip
def test_database_error_class_names_its_fix(cause: str, sqlstate: str, says: str, fix: str) -> None:
    probe = classify("http://lb/", 503, _db_503(cause, sqlstate), 0.01)
    e = _evidence(probe, Snapshot(_stack_with_db(), _service()))
    found = root_cause(e)
    assert says in found.cause
    assert "db.internal:5432" in found.cause
    assert fix in found.fix
    assert found.source == "probe"


def test_unreachable_database_keeps_the_network_advice() -> None:
    probe = classify("http://lb/", 503, _db_503("unreachable", ""), 0.01)
    found = root_cause(_evidence(probe, Snapshot(_stack_with_db(), _service())))
    assert found.cause.startswith("database unreachable from the tasks")
    assert "security group" in found.fix
