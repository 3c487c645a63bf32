"""`ecslab logs` against moto: a window of events, and follow mode stopped by Ctrl-C."""

from __future__ import annotations

import time

import boto3
import pytest

from ecslab.core.clock import FakeClock
from ecslab.core.errors import UsageError
from ecslab.views.service_logs import FOLLOW_INTERVAL, show_logs
from tests.helpers import make_app
from tests.verify_support import LOG_GROUP, events

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
