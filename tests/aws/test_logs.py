"""CloudWatch Logs reads against moto (order, windows, no repeats, a missing group) and,
with AWS-shaped Stubber answers, what moto never does: empty pages with a token, late events."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from ecslab.aws.logs import LogGroupMissing, LogReader, Logs
from ecslab.aws.session import Aws
from ecslab.core.config import Config
from tests.verify_support import StubbedAws

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


# -- AWS behaviours moto does not show (botocore Stubber, AWS-shaped answers) --------------

STREAM_A = "ecslab-dev/ecslab-dev-microservice/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
STREAM_B = "ecslab-dev/ecslab-dev-microservice/9a8b7c6d5e4f30211203f4e5d6c7b8a9"


def _raw(stream: str, ts: int, message: str, event_id: str) -> dict[str, object]:
    return {
        "logStreamName": stream,
        "timestamp": ts,
        "message": message,
        "ingestionTime": ts + 900,
        "eventId": event_id,
    }


def _page(events: list[dict[str, object]], token: str | None) -> dict[str, object]:
    # AWS has answered searchedLogStreams as [] since 2020
    page: dict[str, object] = {"events": events, "searchedLogStreams": []}
    if token:
        page["nextToken"] = token
    return page


@pytest.fixture
def stubbed(aws: boto3.Session, moto_server: str) -> Iterator[tuple[Logs, Stubber]]:
    stubbed_aws = StubbedAws(Config(region="us-east-1", endpoint_url=moto_server), aws, ("logs",))
    stubber = stubbed_aws.stubbers["logs"]
    yield Logs(stubbed_aws), stubber
    stubber.assert_no_pending_responses()


def test_empty_and_partial_pages_with_a_token_are_not_the_end(
    stubbed: tuple[Logs, Stubber],
) -> None:
    logs, stubber = stubbed
    expected = {"logGroupName": GROUP, "startTime": 1000}
    stubber.add_response("filter_log_events", _page([], "t1"), expected)
    stubber.add_response(
        "filter_log_events",
        _page([_raw(STREAM_A, 2000, "first\n", "e1")], "t2"),
        {**expected, "nextToken": "t1"},
    )
    stubber.add_response("filter_log_events", _page([], "t3"), {**expected, "nextToken": "t2"})
    stubber.add_response(
        "filter_log_events",
        _page([_raw(STREAM_B, 1500, "earlier, other task", "e0")], None),
        {**expected, "nextToken": "t3"},
    )

    found = logs.events(GROUP, 1000)

    assert [(e.message, e.task_id[:8]) for e in found] == [
        ("earlier, other task", "9a8b7c6d"),
        ("first", "0f1e2d3c"),
    ]


def test_follow_shows_a_late_event_once_and_forgets_old_ids(
    stubbed: tuple[Logs, Stubber],
) -> None:
    logs, stubber = stubbed
    reader = LogReader(logs, GROUP, 1_000, overlap_ms=10_000)
    a = _raw(STREAM_A, 50_000, "a", "e-a")
    b = _raw(STREAM_A, 52_000, "b", "e-b")
    late = _raw(STREAM_B, 45_000, "late", "e-late")  # arrives after b, stamped before it
    c = _raw(STREAM_A, 70_000, "c", "e-c")
    stubber.add_response(
        "filter_log_events", _page([a, b], None), {"logGroupName": GROUP, "startTime": 1_000}
    )
    # each later poll starts overlap_ms before the newest event shown
    stubber.add_response(
        "filter_log_events", _page([late, a, b], None), {"logGroupName": GROUP, "startTime": 42_000}
    )
    stubber.add_response(
        "filter_log_events", _page([b, c], None), {"logGroupName": GROUP, "startTime": 42_000}
    )
    stubber.add_response(
        "filter_log_events", _page([c], None), {"logGroupName": GROUP, "startTime": 60_000}
    )

    assert [e.message for e in reader.read_new()] == ["a", "b"]
    assert [e.message for e in reader.read_new()] == ["late"]
    assert [e.message for e in reader.read_new()] == ["c"]
    assert reader.read_new() == []
    assert set(reader._seen) == {"e-c"}  # ids older than the window are forgotten


def test_a_task_filter_is_a_stream_prefix(stubbed: tuple[Logs, Stubber]) -> None:
    logs, stubber = stubbed
    prefix = "ecslab-dev/ecslab-dev-microservice/0f1e2d3c"
    stubber.add_response(
        "filter_log_events",
        _page([_raw(STREAM_A, 2000, "mine", "e1")], None),
        {"logGroupName": GROUP, "startTime": 0, "logStreamNamePrefix": prefix},
    )
    assert [e.message for e in logs.events(GROUP, 0, stream_prefix=prefix)] == ["mine"]
