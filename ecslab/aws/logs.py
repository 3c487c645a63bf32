"""CloudWatch Logs: the service's log events, read forward from a point in time.

FilterLogEvents may answer an empty or partly full page that still carries a nextToken:
only a page without a token ends the search, so `events()` keeps paging (up to
MAX_PAGES, a bound against a runaway loop on a huge group). Events may also arrive late
(a few seconds after the driver's 5 s flush, with their original timestamp), so
`LogReader` queries each time from OVERLAP_MS before the newest event it returned and
drops the events it already returned, by eventId; it remembers only the ids inside that
window, so its memory stays bounded however long it follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors

if TYPE_CHECKING:
    from ecslab.aws.session import Aws

MAX_PAGES = 500  # per call: a bound, so one poll cannot run away on a huge group
OVERLAP_MS = 120_000  # late events within two minutes of the newest one are still shown


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    stream: str
    message: str
    event_id: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)

    @property
    def task_id(self) -> str:
        """The ECS task id, the last part of an awslogs stream `prefix/container/task-id`."""
        return self.stream.rsplit("/", 1)[-1]


class LogGroupMissing(Exception):
    """The log group does not exist (not an AWS failure: nothing was deployed yet)."""


class Logs:
    """Typed reads of CloudWatch Logs."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("logs")

    def events(
        self,
        group: str,
        start_ms: int,
        end_ms: int | None = None,
        stream_prefix: str | None = None,
    ) -> list[LogEvent]:
        """Events of every stream in `group` (or those starting with `stream_prefix`) from
        `start_ms` on, oldest first. Raises LogGroupMissing when the group does not exist."""
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        if end_ms is not None:
            kwargs["endTime"] = end_ms
        if stream_prefix:
            kwargs["logStreamNamePrefix"] = stream_prefix
        found: list[LogEvent] = []
        with aws_errors(f"read log group {group}"):
            try:
                for _ in range(MAX_PAGES):
                    response = self._client.filter_log_events(**kwargs)
                    found += [_event(raw) for raw in response.get("events", [])]
                    token = response.get("nextToken")
                    if not token:  # an empty page with a token is not the end
                        break
                    kwargs["nextToken"] = token
            except self._client.exceptions.ResourceNotFoundException as exc:
                raise LogGroupMissing(group) from exc
        if stream_prefix:  # emulators that ignore logStreamNamePrefix must not widen it
            found = [e for e in found if e.stream.startswith(stream_prefix)]
        found.sort(key=lambda e: (e.timestamp_ms, e.event_id))
        return found

    def group_exists(self, group: str) -> bool:
        with aws_errors(f"look for log group {group}"):
            pages = self._client.get_paginator("describe_log_groups").paginate(
                logGroupNamePrefix=group
            )
            return any(g.get("logGroupName") == group for p in pages for g in p["logGroups"])

    def tail(self, group: str, start_ms: int, lines: int) -> list[LogEvent]:
        """The last `lines` events since `start_ms` ([] when the group does not exist)."""
        try:
            return self.events(group, start_ms)[-lines:]
        except LogGroupMissing:
            return []

    def stream_tail(self, group: str, stream: str, lines: int) -> list[LogEvent]:
        """The last `lines` events of one stream, oldest first ([] when it does not exist)."""
        with aws_errors(f"read log stream {stream}"):
            try:
                response = self._client.get_log_events(
                    logGroupName=group, logStreamName=stream, limit=lines, startFromHead=False
                )
            except self._client.exceptions.ResourceNotFoundException:
                return []
        return [
            LogEvent(
                int(raw.get("timestamp", 0)), stream, str(raw.get("message", "")).rstrip("\n"), ""
            )
            for raw in response.get("events", [])
        ]


@dataclass
class LogReader:
    """Reads a group forward: each `read_new()` returns only events not returned before,
    including late ones whose timestamp is at most OVERLAP_MS before the newest seen."""

    logs: Logs
    group: str
    start_ms: int
    stream_prefix: str | None = None
    overlap_ms: int = OVERLAP_MS
    _newest_ms: int | None = None
    _seen: dict[str, int] = field(default_factory=dict)  # eventId -> timestamp, in the window

    def read_new(self) -> list[LogEvent]:
        since = self.start_ms
        if self._newest_ms is not None:
            since = max(self.start_ms, self._newest_ms - self.overlap_ms)
        found = self.logs.events(self.group, since, stream_prefix=self.stream_prefix)
        fresh = [e for e in found if e.event_id not in self._seen]
        for event in fresh:
            self._seen[event.event_id] = event.timestamp_ms
        if fresh:
            newest = max(e.timestamp_ms for e in fresh)
            self._newest_ms = max(newest, self._newest_ms or newest)
            floor = self._newest_ms - self.overlap_ms
            self._seen = {k: ts for k, ts in self._seen.items() if ts >= floor}
        return fresh


def _event(raw: dict[str, Any]) -> LogEvent:
    return LogEvent(
        timestamp_ms=int(raw.get("timestamp", 0)),
        stream=str(raw.get("logStreamName", "")),
        message=str(raw.get("message", "")).rstrip("\n"),
        event_id=str(raw.get("eventId", "")),
    )
