"""How CloudWatch decides a metric alarm's state: pure rules, no moto, no clock of their own.

`datapoints()` cuts a metric's samples into the alarm's periods (one aggregated value per
period, None where no sample arrived) over the *evaluation range*, a little longer than
EvaluationPeriods as CloudWatch fetches it; `evaluate()` applies DatapointsToAlarm out of
EvaluationPeriods, the comparison, and TreatMissingData with CloudWatch's rules:
- at least N real datapoints in the range: the newest N are used, missing data is ignored;
- none at all: `missing` gives INSUFFICIENT_DATA, `ignore` keeps the state, `breaching`
  and `notBreaching` fill every point;
- some: `breaching` / `notBreaching` fill the gaps up to N; `missing` and `ignore`
  evaluate the real points alone (ALARM needs M of them breaching).
The StateReason and StateReasonData texts are AWS's (see the formats in `_reason_*`).

The sandbox may compress time: `scale` sandbox seconds pass per real second, so a 60 s
period lasts 60/scale real seconds. Datapoint times are real times.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

BREACHES: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
EXTRA_RANGE = 2  # CloudWatch fetches N + 2 periods (5 when N = 3)


@dataclass(frozen=True)
class AlarmSpec:
    """What of an alarm's configuration its evaluation reads."""

    name: str
    statistic: str  # Average | Sum | Minimum | Maximum | SampleCount
    period: int  # seconds, on the sandbox's clock
    evaluation_periods: int
    datapoints_to_alarm: int
    comparison: str
    threshold: float
    treat_missing_data: str = "missing"

    def breaches(self, value: float) -> bool:
        return BREACHES[self.comparison][0](value, self.threshold)

    @property
    def comparison_text(self) -> str:
        return BREACHES[self.comparison][1]


@dataclass(frozen=True)
class Sample:
    time: datetime
    value: float


@dataclass(frozen=True)
class Datapoint:
    """One period's aggregate; `value` is None when no sample arrived in it."""

    start: datetime
    value: float | None
    sample_count: int = 0


@dataclass(frozen=True)
class Evaluation:
    state: str
    reason: str
    reason_data: dict[str, Any]


def datapoints(
    spec: AlarmSpec, samples: Iterable[Sample], now: datetime, scale: float = 1.0
) -> list[Datapoint]:
    """The evaluation range's periods, oldest first; the last one ends at the newest
    period boundary at or before `now` (a period still filling is not evaluated)."""
    length = spec.period / scale
    end = math.floor(now.timestamp() / length) * length
    count = spec.evaluation_periods + EXTRA_RANGE
    starts = [end - (count - i) * length for i in range(count)]
    buckets: list[list[float]] = [[] for _ in starts]
    first = starts[0]
    for sample in samples:
        index = math.floor((sample.time.timestamp() - first) / length)
        if 0 <= index < count:
            buckets[index].append(sample.value)
    return [
        Datapoint(datetime.fromtimestamp(s, tz=UTC), aggregate(spec.statistic, b), len(b))
        for s, b in zip(starts, buckets, strict=True)
    ]


def aggregate(statistic: str, values: Sequence[float]) -> float | None:
    if not values:
        return None
    if statistic == "Sum":
        return float(sum(values))
    if statistic == "Minimum":
        return float(min(values))
    if statistic == "Maximum":
        return float(max(values))
    if statistic == "SampleCount":
        return float(len(values))
    return float(sum(values) / len(values))


def evaluate(
    spec: AlarmSpec, points: Sequence[Datapoint], state: str, query_time: datetime
) -> Evaluation | None:
    """The alarm's state after this evaluation; None means "keep the current state"."""
    n = spec.evaluation_periods
    real = [p for p in points if p.value is not None]
    data = _reason_data(spec, points, real[-n:], query_time)
    if len(real) >= n:
        return _threshold(spec, real[-n:], 0, state, data)
    treat = spec.treat_missing_data or "missing"
    if not real and treat == "missing":
        return Evaluation("INSUFFICIENT_DATA", _reason_unknown(n), data)
    if not real and treat == "ignore":
        return None
    fills = n - len(real) if treat in ("breaching", "notBreaching") else 0
    if not real:
        return _all_missing(spec, fills, treat == "breaching", state, data)
    return _threshold(spec, real, fills if treat == "breaching" else -fills, state, data)


def _threshold(
    spec: AlarmSpec, used: Sequence[Datapoint], fills: int, state: str, data: dict[str, Any]
) -> Evaluation:
    """fills > 0: that many missing points count as breaching; < 0: as not breaching."""
    breaching = [p for p in used if p.value is not None and spec.breaches(p.value)]
    total = len(used) + abs(fills)
    if len(breaching) + max(fills, 0) >= spec.datapoints_to_alarm:
        old = state if state != "ALARM" else "OK"
        return Evaluation("ALARM", _reason_alarm(spec, breaching, total, old), data)
    return Evaluation("OK", _reason_ok(spec, used), data)


def _all_missing(
    spec: AlarmSpec, fills: int, breaching: bool, state: str, data: dict[str, Any]
) -> Evaluation:
    periods = f"{fills} period" + ("s" if fills != 1 else "")
    points = f"{fills} missing datapoint" + (" was" if fills == 1 else "s were")
    kind = "Breaching" if breaching else "NonBreaching"
    reason = (
        f"Threshold Crossed: no datapoints were received for {periods} and {points} "
        f"treated as [{kind}]."
    )
    return Evaluation("ALARM" if breaching else "OK", reason, data)


def _reason_alarm(spec: AlarmSpec, breaching: Sequence[Datapoint], total: int, old: str) -> str:
    shown = ", ".join(f"{_num(p.value)} ({_short_time(p.start)})" for p in reversed(breaching))
    verb = "was" if len(breaching) == 1 else "were"
    m = spec.datapoints_to_alarm
    minimum = f"minimum {m} datapoint" + ("s" if m != 1 else "")
    return (
        f"Threshold Crossed: {len(breaching)} out of the last {total} datapoints [{shown}] "
        f"{verb} {spec.comparison_text} the threshold ({_num(spec.threshold)}) "
        f"({minimum} for {old} -> ALARM transition)."
    )


def _reason_ok(spec: AlarmSpec, used: Sequence[Datapoint]) -> str:
    threshold = _num(spec.threshold)
    if len(used) == 1:
        p = used[0]
        return (
            f"Threshold Crossed: 1 datapoint [{_num(p.value)} ({_short_time(p.start)})] was not "
            f"{spec.comparison_text} the threshold ({threshold})."
        )
    recent = ", ".join(_num(p.value) for p in reversed(used))
    return (
        f"Threshold Crossed: {len(used)} datapoints were not {spec.comparison_text} the "
        f"threshold ({threshold}). The most recent datapoints: [{recent}]."
    )


def _reason_unknown(n: int) -> str:
    return f"Insufficient Data: {n} datapoint" + (" was" if n == 1 else "s were") + " unknown."


def _reason_data(
    spec: AlarmSpec, points: Sequence[Datapoint], used: Sequence[Datapoint], query: datetime
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": aws_time(query),
        "statistic": spec.statistic,
        "period": spec.period,
        "recentDatapoints": [p.value for p in reversed(used)],
        "threshold": float(spec.threshold),
    }
    if points:
        data["startDate"] = aws_time(points[0].start)
    if used:
        data["evaluatedDatapoints"] = [
            {"timestamp": aws_time(p.start), "sampleCount": float(p.sample_count), "value": p.value}
            for p in reversed(used)
        ]
    return data


def aws_time(moment: datetime) -> str:
    """2019-02-10T17:00:53.257+0000, as StateReasonData spells dates."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def _short_time(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%d/%m/%y %H:%M:%S}"


def _num(value: float | None) -> str:
    return "null" if value is None else str(round(float(value), 6))


def period_seconds(spec: AlarmSpec, scale: float) -> float:
    """How many real seconds one of the alarm's periods lasts."""
    return spec.period / scale


def evaluation_interval(spec: AlarmSpec) -> timedelta:
    """CloudWatch evaluates alarms of a minute or more every minute, shorter ones per period."""
    return timedelta(seconds=min(spec.period, 60))
