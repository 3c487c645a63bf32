"""CloudWatch's alarm evaluation rules, on fixed times: no clock, no moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecslab.sandbox.emulator.alarm_rules import (
    AlarmSpec,
    Datapoint,
    Sample,
    aws_time,
    datapoints,
    evaluate,
)

T0 = datetime(2026, 12, 1, 0, 10, 0, tzinfo=UTC)
HIGH = AlarmSpec("high", "Average", 60, 1, 1, "GreaterThanOrEqualToThreshold", 70.0)
LOW = AlarmSpec("low", "Average", 60, 1, 1, "LessThanOrEqualToThreshold", 20.0)


def _points(*values: float | None, spec: AlarmSpec = HIGH) -> list[Datapoint]:
    """Oldest first, one per period ending at T0."""
    count = len(values)
    return [
        Datapoint(T0 - timedelta(seconds=spec.period * (count - i)), v, 0 if v is None else 1)
        for i, v in enumerate(values)
    ]


def test_samples_are_cut_into_periods_and_averaged() -> None:
    spec = AlarmSpec("a", "Average", 60, 3, 3, "GreaterThanThreshold", 1.0)
    samples = [
        Sample(T0 - timedelta(seconds=150), 10.0),
        Sample(T0 - timedelta(seconds=130), 20.0),  # same period as the one above
        Sample(T0 - timedelta(seconds=30), 7.0),
        Sample(T0 + timedelta(seconds=5), 99.0),  # the period still filling: not evaluated
    ]
    points = datapoints(spec, samples, T0 + timedelta(seconds=10))
    assert [p.value for p in points] == [None, None, 15.0, None, 7.0]
    assert points[-1].start == T0 - timedelta(seconds=60)
    assert points[2].sample_count == 2


def test_a_compressed_clock_shortens_the_periods() -> None:
    samples = [Sample(T0 - timedelta(seconds=3), 80.0)]
    points = datapoints(HIGH, samples, T0, scale=10.0)  # 60 s periods last 6 s
    assert points[-1].value == 80.0
    assert points[-1].start == T0 - timedelta(seconds=6)


def test_a_breaching_datapoint_alarms_with_awss_reason() -> None:
    result = evaluate(HIGH, _points(91.5), "OK", T0)
    assert result is not None and result.state == "ALARM"
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [91.5 (01/12/26 00:09:00)] was "
        "greater than or equal to the threshold (70.0) "
        "(minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert result.reason_data["recentDatapoints"] == [91.5]
    assert result.reason_data["threshold"] == 70.0
    assert result.reason_data["queryDate"] == "2026-12-01T00:10:00.000+0000"


def test_a_good_datapoint_is_ok() -> None:
    result = evaluate(HIGH, _points(7.2), "ALARM", T0)
    assert result is not None and result.state == "OK"
    assert result.reason == (
        "Threshold Crossed: 1 datapoint [7.2 (01/12/26 00:09:00)] was not greater than or "
        "equal to the threshold (70.0)."
    )


def test_the_lab_low_alarm_stays_in_alarm_at_seven_percent() -> None:
    result = evaluate(LOW, _points(7.0, spec=LOW), "ALARM", T0)
    assert result is not None and result.state == "ALARM"


def test_m_out_of_n_need_not_be_consecutive() -> None:
    spec = AlarmSpec("m", "Average", 60, 3, 2, "GreaterThanThreshold", 50.0)
    result = evaluate(spec, _points(None, None, 60.0, 10.0, 70.0, spec=spec), "OK", T0)
    assert result is not None and result.state == "ALARM"
    assert "2 out of the last 3 datapoints [70.0 (01/12/26 00:09:00), 60.0" in result.reason
    assert "were greater than the threshold (50.0) (minimum 2 datapoints" in result.reason
    ok = evaluate(spec, _points(None, None, 60.0, 10.0, 20.0, spec=spec), "OK", T0)
    assert ok is not None and ok.state == "OK"
    assert ok.reason == (
        "Threshold Crossed: 3 datapoints were not greater than the threshold (50.0). "
        "The most recent datapoints: [20.0, 10.0, 60.0]."
    )


def test_with_n_real_points_missing_data_is_ignored() -> None:
    spec = AlarmSpec("n", "Average", 60, 2, 2, "GreaterThanThreshold", 50.0, "breaching")
    # two real, good points in the range: the missing newest one does not count
    result = evaluate(spec, _points(10.0, 20.0, None, None, spec=spec), "OK", T0)
    assert result is not None and result.state == "OK"


@pytest.mark.parametrize(
    ("treat", "state", "expected"),
    [
        ("missing", "OK", "INSUFFICIENT_DATA"),
        ("ignore", "ALARM", None),
        ("breaching", "OK", "ALARM"),
        ("notBreaching", "ALARM", "OK"),
    ],
)
def test_no_data_at_all_follows_treat_missing_data(
    treat: str, state: str, expected: str | None
) -> None:
    spec = AlarmSpec("x", "Average", 60, 1, 1, "GreaterThanThreshold", 50.0, treat)
    result = evaluate(spec, _points(None, None, None, spec=spec), state, T0)
    assert (result.state if result else None) == expected


def test_missing_and_not_breaching_reasons() -> None:
    spec = AlarmSpec("x", "Average", 60, 1, 1, "GreaterThanThreshold", 50.0, "notBreaching")
    result = evaluate(spec, _points(None, None, None, spec=spec), "ALARM", T0)
    assert result is not None
    assert result.reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing "
        "datapoint was treated as [NonBreaching]."
    )
    insufficient = evaluate(HIGH, _points(None, None, None), "OK", T0)
    assert insufficient is not None
    assert insufficient.reason == "Insufficient Data: 1 datapoint was unknown."


def test_partial_data_fills_gaps_only_as_needed() -> None:
    spec = AlarmSpec("p", "Average", 60, 3, 3, "GreaterThanThreshold", 50.0, "breaching")
    # one real breaching point, two gaps filled as breaching: 3 of 3
    result = evaluate(spec, _points(None, None, None, None, 90.0, spec=spec), "OK", T0)
    assert result is not None and result.state == "ALARM"
    good = AlarmSpec("p", "Average", 60, 3, 3, "GreaterThanThreshold", 50.0, "notBreaching")
    result = evaluate(good, _points(None, None, None, None, 90.0, spec=good), "OK", T0)
    assert result is not None and result.state == "OK"


def test_from_insufficient_data_the_reason_names_that_transition() -> None:
    result = evaluate(HIGH, _points(75.0), "INSUFFICIENT_DATA", T0)
    assert result is not None
    assert result.reason.endswith(
        "(minimum 1 datapoint for INSUFFICIENT_DATA -> ALARM transition)."
    )


def test_aws_time_format() -> None:
    assert aws_time(datetime(2019, 2, 10, 17, 0, 53, 257000, tzinfo=UTC)) == (
        "2019-02-10T17:00:53.257+0000"
    )
