"""`ecslab status --watch` against a deployment built in moto with plain API calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from ecslab.core.clock import FakeClock
from ecslab.lab.watch_frame import read_frame
from ecslab.sandbox.emulator.scaling import ScalingExecutor, describe_scaling_activities_method
from ecslab.views.watch import frame_lines, sparkline, watch
from tests.helpers import make_app
from tests.verify_support import (
    CLUSTER,
    PREFIX,
    SERVICE,
    events,
    seed_load_balancer,
    seed_scaling,
    seed_service,
    seed_stack,
)

DIMENSIONS = [{"Name": "ServiceName", "Value": SERVICE}, {"Name": "ClusterName", "Value": CLUSTER}]


@pytest.fixture
def activities(monkeypatch: pytest.MonkeyPatch) -> ScalingExecutor:
    """The sandbox's DescribeScalingActivities in this process's moto (plain moto has none)."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    executor = ScalingExecutor()
    monkeypatch.setattr(
        ApplicationAutoScalingResponse,
        "describe_scaling_activities",
        describe_scaling_activities_method(executor),
        raising=False,
    )
    return executor


@pytest.fixture
def deployed(aws: boto3.Session, activities: ScalingExecutor) -> boto3.Session:
    group = seed_load_balancer(aws)
    seed_service(aws, "img@sha256:" + "a" * 64, group)
    aws.client("elbv2").register_targets(
        TargetGroupArn=group, Targets=[{"Id": "10.9.1.5", "Port": 8080}]
    )
    seed_scaling(aws)
    seed_stack(aws, {"ClusterName": CLUSTER, "ServiceName": SERVICE})
    now = datetime.now(UTC)
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/ECS",
        MetricData=[
            {
                "MetricName": "MemoryUtilization",
                "Dimensions": DIMENSIONS,
                "Value": value,
                "Unit": "Percent",
                "Timestamp": now - timedelta(minutes=minutes),
            }
            for minutes, value in ((3, 6.5), (2, 7.0), (1, 92.0))
        ],
    )
    return aws


def test_sparkline_scales_percent_to_blocks() -> None:
    assert sparkline([0.0, 50.0, 99.0, 100.0, 140.0]) == "▁▅███"
    assert sparkline([]) == ""


def test_a_frame_shows_counts_targets_alarms_and_metric(
    deployed: boto3.Session, moto_server: str
) -> None:
    frame = read_frame(make_app(deployed, moto_server))
    lines = frame_lines(frame)
    assert lines[0] == "service: desired 2, running 0, pending 2"  # moto runs no task
    assert "  target 10.9.1.5:8080 healthy" in lines
    high = next(line for line in lines if f"alarm {PREFIX}-high-memory" in line)
    assert "MemoryUtilization >= 70" in high and high.endswith("▁▁█ 92.0 %")
    low = next(line for line in lines if f"alarm {PREFIX}-low-memory" in line)
    assert "MemoryUtilization <= 20" in low
    assert not any(line.startswith("  scaling") for line in lines)  # nothing scaled yet
    assert not frame.notes


def test_a_compressed_clock_is_shown_and_reads_shorter_periods(
    deployed: boto3.Session, moto_server: str
) -> None:
    frame = read_frame(make_app(deployed, moto_server), time_scale=10.0)
    assert frame.clock_note().startswith("sandbox clock x10: a 60 s period or cooldown lasts 6 s")
    high = next(a for a in frame.alarms if a.alarm.name.endswith("high-memory"))
    # 20 periods of 6 s: the last two minutes only, so the sample of 3 minutes ago is out
    assert high.values[-1] == 92.0 and 6.5 not in high.values


def test_watch_prints_changed_frames_as_plain_lines(
    deployed: boto3.Session, moto_server: str
) -> None:
    clock = FakeClock()
    app = make_app(deployed, moto_server, clock=clock)
    assert watch(app, interval=2.0, count=3) == 3
    shown = events(app)
    frames = [e for e in shown if e["event"] == "watch"]
    assert len(frames) == 1  # nothing changed between the three reads
    assert frames[0]["desired"] == 2 and frames[0]["alarms"][f"{PREFIX}-high-memory"]
    assert clock.sleeps == [2.0, 2.0]
    assert shown[-1]["event"] == "summary" and shown[-1]["refreshes"] == 3


def test_the_rich_view_shows_causes_verbatim(deployed: boto3.Session, moto_server: str) -> None:
    from rich.console import Console

    from ecslab.aws.autoscaling import Activity
    from ecslab.views.watch import render

    frame = read_frame(make_app(deployed, moto_server), time_scale=10.0)
    cause = (
        "monitor alarm ecslab-dev-high-memory in state ALARM triggered policy ecslab-dev-scale-up"
    )
    activity = Activity(None, "Successful", "Setting desired count to 3.", cause, "")
    console = Console(record=True, width=240, force_terminal=True)
    console.print(render(replace(frame, activities=(activity,))))
    text = console.export_text()
    assert f"Setting desired count to 3. [{cause}]" in text  # brackets are not rich markup
    assert "sandbox clock x10" in text and "MemoryUtilization >= 70" in text
