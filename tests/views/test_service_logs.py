"""`ecslab logs` against moto: a window of events, and follow mode stopped by Ctrl-C."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import boto3
import pytest

from ecslab.core.clock import FakeClock
from ecslab.core.config import Config
from ecslab.core.errors import UsageError
from ecslab.views.service_logs import FOLLOW_INTERVAL, show_logs, show_previous
from tests.helpers import make_app
from tests.verify_support import LOG_GROUP, StubbedAws, events

STREAM = "ecslab-dev/ecslab-dev-microservice/0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def put(session: boto3.Session, *lines: tuple[int, str]) -> None:
    session.client("logs").put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=STREAM,
        logEvents=[{"timestamp": ts, "message": m} for ts, m in lines],
    )


@pytest.fixture
def group(aws: boto3.Session) -> str:
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=STREAM)
    return LOG_GROUP


def test_events_since(aws: boto3.Session, moto_server: str, group: str) -> None:
    now = int(time.time() * 1000)
    put(aws, (now - 20 * 60_000, "too old"), (now - 5 * 60_000, '{"event":"started"}'))
    app = make_app(aws, moto_server)

    assert show_logs(app, since_seconds=600) == 1

    shown = events(app)
    assert shown[0]["event"] == "log"
    assert shown[0]["log"] == '{"event":"started"}' and shown[0]["stream"] == STREAM
    assert "0f1e2d3c4b5a" in shown[0]["message"]
    assert shown[-1]["event"] == "summary" and shown[-1]["events"] == 1


class _InterruptingClock(FakeClock):
    """Adds a log line on each sleep; the third sleep is a Ctrl-C."""

    def __init__(self, session: boto3.Session) -> None:
        super().__init__()
        self.session = session

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.sleeps) == 3:
            raise KeyboardInterrupt
        put(self.session, (int(time.time() * 1000), f"line {len(self.sleeps)}"))


def test_follow_prints_each_event_once_and_stops_on_ctrl_c(
    aws: boto3.Session, moto_server: str, group: str
) -> None:
    put(aws, (int(time.time() * 1000) - 1000, "line 0"))
    clock = _InterruptingClock(aws)
    app = make_app(aws, moto_server, clock=clock)

    assert show_logs(app, since_seconds=60, follow=True) == 3

    shown = events(app)
    assert [e["log"] for e in shown if e["event"] == "log"] == ["line 0", "line 1", "line 2"]
    assert shown[-1]["event"] == "summary" and "stopped following" in shown[-1]["message"]
    assert clock.sleeps == [FOLLOW_INTERVAL] * 3


def test_missing_log_group(aws: boto3.Session, moto_server: str) -> None:
    with pytest.raises(UsageError) as caught:
        show_logs(make_app(aws, moto_server), since_seconds=60)
    assert "does not exist" in caught.value.message


def test_task_filter_shows_only_that_tasks_lines(
    aws: boto3.Session, moto_server: str, group: str
) -> None:
    other = "ecslab-dev/ecslab-dev-microservice/aaaabbbbccccdddd0000111122223333"
    aws.client("logs").create_log_stream(logGroupName=LOG_GROUP, logStreamName=other)
    now = int(time.time() * 1000)
    put(aws, (now - 2000, "mine"))
    aws.client("logs").put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=other,
        logEvents=[{"timestamp": now - 1000, "message": "not mine"}],
    )
    app = make_app(aws, moto_server)
    assert show_logs(app, since_seconds=60, task="0f1e2d3c") == 1
    assert [e["log"] for e in events(app) if e["event"] == "log"] == ["mine"]


def test_previous_shows_the_last_stopped_tasks_lines_and_why(
    aws: boto3.Session, moto_server: str, group: str
) -> None:
    stopped_at = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    task_arn = "arn:aws:ecs:us-east-1:123456789012:task/ecslab-dev-cluster/" + STREAM[-32:]
    stubbed = StubbedAws(Config(region="us-east-1", endpoint_url=moto_server), aws, ("ecs",))
    ecs = stubbed.stubbers["ecs"]
    ecs.add_response("list_tasks", {"taskArns": [task_arn]})
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": task_arn,
                    "lastStatus": "STOPPED",
                    "desiredStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                    "stoppedAt": stopped_at,
                    "containers": [
                        {"name": "ecslab-dev-microservice", "exitCode": 3, "lastStatus": "STOPPED"}
                    ],
                }
            ],
            "failures": [],
        },
    )
    now = int(time.time() * 1000)
    put(aws, (now - 3000, "starting"), (now - 2000, "database unreachable"), (now - 1000, "exit 3"))
    app = make_app(aws, moto_server, aws_factory=lambda c: stubbed)

    assert show_previous(app, lines=2) == 2

    shown = events(app)
    assert [e["log"] for e in shown if e["event"] == "log"] == ["database unreachable", "exit 3"]
    assert shown[-1]["message"] == (
        f"task {STREAM[-32:]} stopped at 2026-12-01 00:05:00: EssentialContainerExited: "
        "Essential container in task exited [ecslab-dev-microservice exit 3]; its last 2 line(s)"
    )
