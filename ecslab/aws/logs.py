"""CloudWatch Logs: the service's log events, read forward from a point in time.

`LogReader` remembers the event ids it returned at the newest timestamp, so that polling
again from that timestamp (CloudWatch's start time is inclusive) never repeats an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors

if TYPE_CHECKING:
    from ecslab.aws.session import Aws

_PAGE_LIMIT = 20  # pages per call: a bound, so one poll cannot run away on a huge group


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    stream: str
    message: str
    event_id: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)


class LogGroupMissing(Exception):
    """The log group does not exist (not an AWS failure: nothing was deployed yet)."""


class Logs:
    """Typed reads of CloudWatch Logs."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("logs")

    def events(self, group: str, start_ms: int, end_ms: int | None = None) -> list[LogEvent]:
        """Events of every stream in `group` from `start_ms` on, oldest first.

        Raises LogGroupMissing when the group does not exist.
        """
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        if end_ms is not None:
            kwargs["endTime"] = end_ms
        found: list[LogEvent] = []
        with aws_errors(f"read log group {group}"):
            try:
                for _ in range(_PAGE_LIMIT):
                    response = self._client.filter_log_events(**kwargs)
                    found += [_event(raw) for raw in response.get("events", [])]
                    token = response.get("nextToken")
                    if not token or not response.get("events"):
                        break
                    kwargs["nextToken"] = token
            except self._client.exceptions.ResourceNotFoundException as exc:
                raise LogGroupMissing(group) from exc
        found.sort(key=lambda e: (e.timestamp_ms, e.event_id))
        return found

    def tail(self, group: str, start_ms: int, lines: int) -> list[LogEvent]:
        """The last `lines` events since `start_ms` ([] when the group does not exist)."""
        try:
            return self.events(group, start_ms)[-lines:]
        except LogGroupMissing:
            return []


@dataclass
class LogReader:
    """Reads a group forward: each `read_new()` returns only events not returned before."""

    logs: Logs
    group: str
    start_ms: int
    _seen_at_start: set[str] = field(default_factory=set)

    def read_new(self) -> list[LogEvent]:
        fresh = [
            e
            for e in self.logs.events(self.group, self.start_ms)
            if not (e.timestamp_ms == self.start_ms and e.event_id in self._seen_at_start)
        ]
        if fresh:
            newest = fresh[-1].timestamp_ms
            at_newest = {e.event_id for e in fresh if e.timestamp_ms == newest}
            self._seen_at_start = (
                self._seen_at_start | at_newest if newest == self.start_ms else at_newest
            )
            self.start_ms = newest
        return fresh


def _event(raw: dict[str, Any]) -> LogEvent:
    return LogEvent(
        timestamp_ms=int(raw.get("timestamp", 0)),
        stream=str(raw.get("logStreamName", "")),
        message=str(raw.get("message", "")).rstrip("\n"),
        event_id=str(raw.get("eventId", "")),
    )
