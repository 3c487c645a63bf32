"""CloudWatch Logs reads against moto: order, windows, no repeats, a missing group."""

from __future__ import annotations

import contextlib
import time

import boto3
import pytest

from ecslab.aws.logs import LogGroupMissing, LogReader, Logs
from ecslab.aws.session import Aws
from ecslab.core.config import Config

GROUP = "ecslab-dev-microservice"


def put(session: boto3.Session, stream: str, *events: tuple[int, str]) -> None:
    client = session.client("logs")
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    client.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": msg} for ts, msg in events],
    )


@pytest.fixture
def logs(aws: boto3.Session, moto_server: str) -> Logs:
    aws.client("logs").create_log_group(logGroupName=GROUP)
    return Logs(Aws(Config(region="us-east-1", endpoint_url=moto_server), aws))


def test_events_from_every_stream_oldest_first(aws: boto3.Session, logs: Logs) -> None:
    now = int(time.time() * 1000)
    put(aws, "ecslab-dev/web/task1", (now - 3000, "one"), (now - 1000, "three"))
    put(aws, "ecslab-dev/web/task2", (now - 2000, "two"))

    found = logs.events(GROUP, now - 60_000)

    assert [e.message for e in found] == ["one", "two", "three"]
    assert found[1].stream == "ecslab-dev/web/task2"
    assert [e.message for e in logs.events(GROUP, now - 1500)] == ["three"]
    assert [e.message for e in logs.tail(GROUP, now - 60_000, 2)] == ["two", "three"]


def test_reader_never_repeats_an_event(aws: boto3.Session, logs: Logs) -> None:
    now = int(time.time() * 1000)
    put(aws, "s/a/1", (now - 2000, "a"), (now - 1000, "b"))
    reader = LogReader(logs, GROUP, now - 60_000)
    assert [e.message for e in reader.read_new()] == ["a", "b"]
    assert reader.read_new() == []
    put(aws, "s/a/2", (now - 1000, "b-twin"), (now, "c"))  # same ms as "b", then newer
    assert [e.message for e in reader.read_new()] == ["b-twin", "c"]
    assert reader.read_new() == []


def test_missing_group(logs: Logs) -> None:
    with pytest.raises(LogGroupMissing):
        logs.events("no-such-group", 0)
    assert logs.tail("no-such-group", 0, 5) == []
