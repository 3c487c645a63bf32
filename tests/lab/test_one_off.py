"""`ecslab run`: RunTask on the service's network, its logs, its exit code, bounded waits.

moto's RunTask with FARGATE answers HTTP 500 and its tasks never run a command, so ECS and
CloudWatch Logs are Stubber-wrapped with AWS-shaped answers; CloudFormation is moto's (no
stack: the names come from the naming rule).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ecslab.core.clock import FakeClock
from ecslab.core.errors import Interrupted
from ecslab.lab.one_off import RunRequest, TaskFailed, parse_environment, run_one_off
from tests.helpers import output
from tests.lab.ops_support import (
    CLUSTER,
    GROUPS,
    IMAGE_A,
    SERVICE,
    SUBNETS,
    TASK_ARN,
    describe_services,
    describe_task_definition,
    log_events,
    stubbed_app,
    task,
    td_arn,
)
from tests.verify_support import StubbedAws

PULL_FAILURE = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
    "resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/ecslab-dev-microservice@sha256:"
    + "a" * 64
    + ": not found"
)


def _app(aws: boto3.Session, moto_server: str, **settings: Any) -> tuple[Any, StubbedAws]:
    return stubbed_app(aws, moto_server, ("ecs", "logs"), **settings)


def _queue_start(stubbed: StubbedAws, command: list[str], env: list[dict[str, str]]) -> None:
    ecs = stubbed.stubbers["ecs"]
    ecs.add_response(
        "describe_services", describe_services(), {"cluster": CLUSTER, "services": [SERVICE]}
    )
    ecs.add_response(
        "describe_task_definition",
        describe_task_definition(3, IMAGE_A),
        {"taskDefinition": td_arn(3)},
    )
    override: dict[str, Any] = {"name": SERVICE, "command": command}
    if env:
        override["environment"] = env
    ecs.add_response(
        "run_task",
        {"tasks": [task("PROVISIONING")], "failures": []},
        {
            "cluster": CLUSTER,
            "taskDefinition": td_arn(3),
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "ecslab run",
            "enableExecuteCommand": False,
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": SUBNETS,
                    "securityGroups": GROUPS,
                    "assignPublicIp": "ENABLED",
                }
            },
            "overrides": {"containerOverrides": [override]},
        },
    )


def _poll(stubbed: StubbedAws, raw_task: dict[str, Any], logs: dict[str, Any]) -> None:
    stubbed.stubbers["ecs"].add_response(
        "describe_tasks",
        {"tasks": [raw_task], "failures": []},
        {"cluster": CLUSTER, "tasks": [TASK_ARN]},
    )
    stubbed.stubbers["logs"].add_response("filter_log_events", logs, None)


def test_run_streams_logs_and_exits_with_the_container_code(
    aws: boto3.Session, moto_server: str
) -> None:
    app, stubbed = _app(aws, moto_server)
    command = ["sh", "-c", "echo migrating; exit 3"]
    _queue_start(stubbed, command, [{"name": "MODE", "value": "once"}])
    _poll(stubbed, task("PENDING"), log_events())
    _poll(stubbed, task("RUNNING"), log_events("migrating"))
    _poll(stubbed, task("STOPPED", exit_code=3), log_events("migrating", "done"))
    stubbed.stubbers["logs"].add_response("filter_log_events", log_events(), None)

    code = run_one_off(app, RunRequest(tuple(command), parse_environment(["MODE=once"])))

    assert code == 3
    stubbed.stubbers["ecs"].assert_no_pending_responses()
    events = output(app)
    assert [e["message"] for e in events if e["event"] == "log"] == ["migrating", "done"]
    assert events[-1]["exit_code"] == 3 and events[-1]["status"] == "failed"


def test_a_task_that_never_started_names_the_stopped_reason(
    aws: boto3.Session, moto_server: str
) -> None:
    app, stubbed = _app(aws, moto_server)
    _queue_start(stubbed, ["true"], [])
    never = task("STOPPED", stopCode="TaskFailedToStart", stoppedReason=PULL_FAILURE)
    _poll(stubbed, never, log_events())
    stubbed.stubbers["logs"].add_response("filter_log_events", log_events(), None)

    with pytest.raises(TaskFailed) as caught:
        run_one_off(app, RunRequest(("true",)))

    assert "TaskFailedToStart" in caught.value.message
    assert "CannotPullContainerError" in caught.value.message
    assert caught.value.exit_code == 5
    assert caught.value.hint is not None and "ecslab doctor" in caught.value.hint


def test_the_wait_gives_up_after_the_timeout_without_progress(
    aws: boto3.Session, moto_server: str
) -> None:
    clock = FakeClock()
    app, stubbed = _app(aws, moto_server, clock=clock, timeout=30.0)
    _queue_start(stubbed, ["sleep", "3600"], [])
    _poll(stubbed, task("RUNNING"), log_events("started"))
    for _ in range(12):  # RUNNING and silent: no progress
        _poll(stubbed, task("RUNNING"), log_events())

    with pytest.raises(TaskFailed) as caught:
        run_one_off(app, RunRequest(("sleep", "3600")))

    assert "no progress for 3" in caught.value.message
    assert "aws ecs stop-task" in (caught.value.hint or "")
    assert 30 <= clock.time < 40  # bounded by the timeout, counted from the last progress


def test_ctrl_c_says_the_task_goes_on_and_how_to_stop_it(
    aws: boto3.Session, moto_server: str
) -> None:
    class InterruptingClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            raise KeyboardInterrupt

    app, stubbed = _app(aws, moto_server, clock=InterruptingClock())
    _queue_start(stubbed, ["sleep", "60"], [])
    _poll(stubbed, task("RUNNING"), log_events())

    with pytest.raises(Interrupted) as caught:
        run_one_off(app, RunRequest(("sleep", "60")))

    assert "goes on running" in caught.value.message
    assert f"aws ecs stop-task --cluster {CLUSTER} --task {TASK_ARN}" in (caught.value.hint or "")


def test_no_wait_only_starts_it(aws: boto3.Session, moto_server: str) -> None:
    app, stubbed = _app(aws, moto_server)
    _queue_start(stubbed, ["true"], [])

    assert run_one_off(app, RunRequest(("true",), wait=False)) == 0
    assert output(app)[-1]["task_arn"] == TASK_ARN


def test_environment_pairs_need_a_name_and_an_equals_sign() -> None:
    assert parse_environment(["A=1", "B=x=y", "C="]) == (("A", "1"), ("B", "x=y"), ("C", ""))
    with pytest.raises(Exception, match="NAME=VALUE"):
        parse_environment(["NOVALUE"])
