"""Emulator area: CloudWatch metric alarms that are evaluated, act and keep a history.

moto stores alarms but never evaluates one, starts them in OK, resets their state when
PutMetricAlarm updates them, runs no action on SetAlarmState and has no
DescribeAlarmHistory. This area patches moto so that:
- a new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"), an
  updated one keeps its state, and both are "ConfigurationUpdate" history items;
- every state change (evaluation or SetAlarmState) is a "StateUpdate" history item and
  invokes the actions of the new state when ActionsEnabled ("Action" history items);
- an evaluator thread evaluates each metric alarm on every evaluation interval (a
  minute, compressed by the sandbox's time scale) with `alarm_rules`, from the datapoints
  in moto's CloudWatch backend, and invokes Auto Scaling actions again while in ALARM;
- DescribeAlarmHistory answers from that history, which outlives a deleted alarm, paged
  as `paging` pages (MaxRecords up to 100; a token not handed out: InvalidNextToken);
- GetMetricData matches dimensions in any order, as AWS does (moto sorts them with a
  `Dimension.__lt__` that compares a value with a name, so the order given mattered).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.sandbox import moto_seam
from ecslab.sandbox.emulator import actions
from ecslab.sandbox.emulator.alarm_rules import AlarmSpec, Sample, datapoints, evaluate
from ecslab.sandbox.emulator.paging import BadToken, page, page_newest_first
from ecslab.sandbox.moto_seam import PatchSet

if TYPE_CHECKING:
    from ecslab.sandbox.emulator import EmulatorContext

MAX_HISTORY = 500  # items per alarm; AWS keeps 30 days
INITIAL_REASON = "Unchecked: Initial alarm creation"


@dataclass(frozen=True)
class HistoryItem:
    alarm_name: str
    timestamp: datetime
    kind: str  # ConfigurationUpdate | StateUpdate | Action
    summary: str
    data: dict[str, Any]

    def as_api(self) -> dict[str, Any]:
        return {
            "AlarmName": self.alarm_name,
            "AlarmType": "MetricAlarm",
            "Timestamp": self.timestamp,
            "HistoryItemType": self.kind,
            "HistorySummary": self.summary,
            "HistoryData": json.dumps(self.data),
        }


class AlarmEngine:
    """History, transitions and evaluation of the alarms in moto's CloudWatch backends."""

    def __init__(self, time_scale: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.time_scale = time_scale
        self._clock = clock
        self.lock = threading.RLock()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    # -- history -------------------------------------------------------------------------

    def record(self, backend: Any, item: HistoryItem) -> None:
        queue = _history(backend).setdefault(item.alarm_name, deque(maxlen=MAX_HISTORY))
        queue.append(item)

    def history(self, backend: Any, name: str | None) -> list[HistoryItem]:
        """Oldest first."""
        with self.lock:
            items = [i for n, q in _history(backend).items() if name in (None, n) for i in q]
        return sorted(items, key=lambda i: i.timestamp)

    # -- configuration and state ---------------------------------------------------------

    def configured(self, backend: Any, alarm: Any, previous: Any | None) -> None:
        """After PutMetricAlarm: keep the old state, or start in INSUFFICIENT_DATA."""
        with self.lock:
            if previous is not None:
                for attr in ("state_value", "state_reason", "state_reason_data"):
                    setattr(alarm, attr, getattr(previous, attr))
                alarm.state_updated_timestamp = previous.state_updated_timestamp
                verb = "updated"
            else:
                alarm.state_value = "INSUFFICIENT_DATA"
                alarm.state_reason = INITIAL_REASON
                alarm.state_reason_data = "{}"
                verb = "created"
            data = {"version": "1.0", "type": "Update" if previous else "Create"}
            self.record(
                backend,
                HistoryItem(
                    alarm.name,
                    self.now(),
                    "ConfigurationUpdate",
                    f'Alarm "{alarm.name}" {verb}',
                    data,
                ),
            )

    def transition(
        self, backend: Any, alarm: Any, state: str, reason: str, reason_data: dict[str, Any]
    ) -> None:
        """Set the alarm's state; on a change, record it and invoke the new state's actions.
        Staying in ALARM invokes the Auto Scaling actions again, as CloudWatch does."""
        with self.lock:
            old = alarm.state_value
            if state == old:
                if state == "ALARM":  # the repeat sees this evaluation's datapoints
                    self._invoke(backend, alarm, reason_data, only_repeating=True)
                return
            old_reason = alarm.state_reason
            alarm.state_value = state
            alarm.state_reason = reason
            alarm.state_reason_data = json.dumps(reason_data)
            alarm.state_updated_timestamp = self.now().replace(tzinfo=None)
            data = {
                "version": "1.0",
                "oldState": {"stateValue": old, "stateReason": old_reason},
                "newState": {
                    "stateValue": state,
                    "stateReason": reason,
                    "stateReasonData": reason_data,
                },
            }
            summary = f"Alarm updated from {old} to {state}"
            self.record(backend, HistoryItem(alarm.name, self.now(), "StateUpdate", summary, data))
            self._invoke(backend, alarm, reason_data, only_repeating=False)

    def _invoke(
        self, backend: Any, alarm: Any, reason_data: dict[str, Any], *, only_repeating: bool
    ) -> None:
        if not alarm.actions_enabled:
            return
        arns = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }[alarm.state_value] or []
        call = actions.AlarmCall(
            backend.account_id,
            backend.region_name,
            alarm.name,
            alarm.state_value,
            float(alarm.threshold or 0.0),
            reason_data,
        )
        for arn in arns:
            if only_repeating and not actions.repeats(arn):
                continue
            outcome = actions.run(arn, call)
            if only_repeating:
                continue  # repeats are not history items, or history would be one a minute
            summary = (
                f"Successfully executed action {arn}"
                if outcome.ok
                else f'Failed to execute action {arn}. Received error: "{outcome.message}"'
            )
            data = {
                "actionState": "Succeeded" if outcome.ok else "Failed",
                "notificationResource": arn,
            }
            self.record(backend, HistoryItem(alarm.name, self.now(), "Action", summary, data))

    # -- evaluation ----------------------------------------------------------------------

    def evaluate_all(self) -> None:
        """Evaluate every metric alarm of every moto CloudWatch backend once."""
        from moto.cloudwatch.models import cloudwatch_backends

        for by_region in list(cloudwatch_backends.values()):
            for backend in list(by_region.values()):
                for alarm in list(backend.alarms.values()):
                    if alarm.rule is None and alarm.metric_name:
                        self.evaluate_one(backend, alarm)

    def evaluate_one(self, backend: Any, alarm: Any) -> None:
        spec = spec_of(alarm)
        now = self.now()
        with self.lock:
            samples = list(_samples(backend, alarm))
            points = datapoints(spec, samples, now, self.time_scale)
            result = evaluate(spec, points, alarm.state_value, now)
            if result is not None:
                self.transition(backend, alarm, result.state, result.reason, result.reason_data)


def _history(backend: Any) -> dict[str, deque[HistoryItem]]:
    """Kept on moto's backend: moto's reset drops it, deleting an alarm does not."""
    found: dict[str, deque[HistoryItem]] | None = getattr(backend, "_ecslab_history", None)
    if found is None:
        found = {}
        backend._ecslab_history = found
    return found


def spec_of(alarm: Any) -> AlarmSpec:
    n = int(alarm.evaluation_periods or 1)
    return AlarmSpec(
        name=alarm.name,
        statistic=str(alarm.statistic or "Average"),
        period=int(alarm.period or 60),
        evaluation_periods=n,
        datapoints_to_alarm=int(alarm.datapoints_to_alarm or n),
        comparison=str(alarm.comparison_operator),
        threshold=float(alarm.threshold or 0.0),
        treat_missing_data=str(alarm.treat_missing_data or "missing"),
    )


def _samples(backend: Any, alarm: Any) -> list[Sample]:
    wanted = {(d.name, d.value) for d in alarm.dimensions}
    found = []
    for datum in list(backend.metric_data):
        if datum.namespace != alarm.namespace or datum.name != alarm.metric_name:
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted:
            continue
        value = getattr(datum, "value", None)
        if value is None:
            continue
        stamp = datum.timestamp
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        found.append(Sample(stamp, float(value)))
    return found


# -- moto patches --------------------------------------------------------------------------

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
HISTORY_PAGE = 100  # DescribeAlarmHistory's MaxRecords at most


def build_patches(patches: PatchSet, engine: AlarmEngine | None = None) -> None:
    """The area's patches, answering to `engine` (a new one when None: nothing evaluates)."""
    from moto.cloudwatch.models import Dimension

    engine = engine or AlarmEngine()
    patches.replace(
        Dimension,
        "__lt__",
        lambda original: _dimension_lt,
        params=("self", "other"),
        why="GetMetricData matches an alarm's dimensions in any order, as AWS does",
        moto_bug="Dimension.__lt__ compares one dimension's value with the other's name",
    )
    patches.operation(
        "cloudwatch",
        "PutMetricAlarm",
        lambda original: _put_metric_alarm(original, engine),
        why="a new alarm starts in INSUFFICIENT_DATA, an updated one keeps its state; "
        "both are ConfigurationUpdate history items",
    )
    patches.operation(
        "cloudwatch",
        "SetAlarmState",
        lambda original: _set_alarm_state(original, engine),
        why="a state change is a StateUpdate history item and runs the new state's actions",
    )
    patches.operation(
        "cloudwatch",
        "DescribeAlarmHistory",
        lambda original: _describe_alarm_history(engine),
        why="moto has no DescribeAlarmHistory: answered from the area's history",
    )


def _dimension_lt(self: Any, other: Any) -> bool:
    return (str(self.name), str(self.value)) < (str(other.name), str(other.value))


def _put_metric_alarm(original: Any, engine: AlarmEngine) -> Any:
    """moto stores the alarm (a new object, also on an update); the area sets its state.
    moto's CloudFormation makes no alarms: they all come through this operation."""

    def put_metric_alarm(response: Any) -> Any:
        backend = response.cloudwatch_backend
        name = response._get_param("AlarmName")
        previous = backend.alarms.get(name)
        answer = original(response)
        alarm = backend.alarms.get(name)
        if alarm is not None and alarm is not previous:
            engine.configured(backend, alarm, previous)
        return answer

    return put_metric_alarm


def _set_alarm_state(original: Any, engine: AlarmEngine) -> Any:
    """The area changes the state; a call moto would refuse goes to moto for its error."""

    def set_alarm_state(response: Any) -> Any:
        from moto.core.responses import EmptyResult

        backend = response.cloudwatch_backend
        alarm = backend.alarms.get(response._get_param("AlarmName"))
        state = response._get_param("StateValue")
        data = _reason_data(response._get_param("StateReasonData"))
        if alarm is None or state not in STATES or data is None:
            return original(response)  # moto's ResourceNotFound, ValidationError, ...
        engine.transition(backend, alarm, state, response._get_param("StateReason"), data)
        return EmptyResult()

    return set_alarm_state


def _reason_data(raw: str | None) -> dict[str, Any] | None:
    """StateReasonData as a mapping ({} when absent); None when it is not JSON."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else {}


def _describe_alarm_history(engine: AlarmEngine) -> Any:
    def describe_alarm_history(self: Any) -> Any:
        from moto.core.responses import ActionResult

        name = self._get_param("AlarmName")
        kind = self._get_param("HistoryItemType")
        start, end = self._get_param("StartDate"), self._get_param("EndDate")
        items = [
            i
            for i in engine.history(self.cloudwatch_backend, name)
            if (not kind or i.kind == kind)
            and (start is None or i.timestamp >= _aware(start))
            and (end is None or i.timestamp <= _aware(end))
        ]
        token, size = self._get_param("NextToken"), self._get_param("MaxRecords")
        try:
            if self._get_param("ScanBy") == "TimestampAscending":
                found = page(items, token, size, HISTORY_PAGE)
            else:
                found = page_newest_first(items, token, size, HISTORY_PAGE)
        except BadToken:
            raise _invalid_next_token() from None
        answer: dict[str, Any] = {"AlarmHistoryItems": [i.as_api() for i in found.items]}
        if found.next_token is not None:
            answer["NextToken"] = found.next_token
        return ActionResult(answer)

    return describe_alarm_history


def _invalid_next_token() -> Exception:
    """CloudWatch's InvalidNextToken, as moto serializes errors (moto is imported late)."""
    from moto.core.exceptions import ServiceException

    class InvalidNextToken(ServiceException):  # shaped by the operation's service model
        code = "InvalidNextToken"

    return InvalidNextToken("The next token is invalid.")


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def start(context: EmulatorContext) -> Callable[[], None]:
    engine = AlarmEngine(context.time_scale)
    unpatch = moto_seam.install("alarms", lambda patches: build_patches(patches, engine))
    stop = threading.Event()
    interval = 60 / context.time_scale
    offset = min(0.2, interval / 20)  # just after a period ends, once its datapoint is in

    def loop() -> None:
        while not stop.wait(interval - (time.time() - offset) % interval):
            try:
                engine.evaluate_all()
            except Exception as exc:  # one bad alarm must not end evaluation for all
                print(f"alarms: evaluation failed: {exc!r}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=loop, name="alarm-evaluator", daemon=True)
    thread.start()
    print(
        f"alarms: evaluated every {interval:g} s (a minute at clock x{context.time_scale:g})",
        file=sys.stderr,
        flush=True,
    )

    def stop_area() -> None:
        stop.set()
        thread.join(timeout=5)
        unpatch()

    return stop_area
