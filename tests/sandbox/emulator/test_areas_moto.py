"""The alarm and scaling areas in a real sandbox moto server (its own process, clock x60:
a 60 s period lasts 1 s), driven over HTTP by boto3 as a user's AWS CLI would."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecslab.sandbox.ports import free_port, http_status
from ecslab.sandbox.process import spawn, stop_process, wait_for

RID = "service/lab/web"
DIMENSION = "ecs:service:DesiredCount"
DIMENSIONS = [{"Name": "ClusterName", "Value": "lab"}, {"Name": "ServiceName", "Value": "web"}]
UP_STEPS = [
    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 15, "ScalingAdjustment": 1},
    {"MetricIntervalLowerBound": 15, "MetricIntervalUpperBound": 25, "ScalingAdjustment": 2},
    {"MetricIntervalLowerBound": 25, "ScalingAdjustment": 3},
]
DOWN_STEPS = [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    argv = [sys.executable, "-m", "ecslab.sandbox", "serve-moto", "--port", str(port)]
    process = spawn([*argv, "--time-scale", "60"], log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_status(url + "/", timeout=1) is not None, 30, "moto", log_path=log)
        yield url
    finally:
        stop_process(process)


@pytest.fixture
def lab(endpoint: str) -> dict[str, Any]:
    """A fresh moto with the lab's service (desired 2), scalable target, policies, alarms."""
    http_status(f"{endpoint}/moto-api/reset", method="POST", timeout=10)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    clients = {
        name: session.client(name, endpoint_url=endpoint)
        for name in ("ecs", "application-autoscaling", "cloudwatch")
    }
    ecs, aas = clients["ecs"], clients["application-autoscaling"]
    ecs.create_cluster(clusterName="lab")
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "web", "memory": 512}]
    )
    ecs.create_service(cluster="lab", serviceName="web", taskDefinition="web", desiredCount=2)
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RID,
        ScalableDimension=DIMENSION,
        MinCapacity=2,
        MaxCapacity=10,
    )
    for name, steps, threshold, comparison in (
        ("up", UP_STEPS, 70, "GreaterThanOrEqualToThreshold"),
        ("down", DOWN_STEPS, 20, "LessThanOrEqualToThreshold"),
    ):
        arn = aas.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="ecs",
            ResourceId=RID,
            ScalableDimension=DIMENSION,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "Cooldown": 60,
                "MetricAggregationType": "Average",
                "StepAdjustments": steps,
            },
        )["PolicyARN"]
        _put_alarm(clients["cloudwatch"], f"{name}-alarm", threshold, comparison, arn)
    return clients


def _put_alarm(cw: Any, name: str, threshold: float, comparison: str, arn: str) -> None:
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ECS",
        MetricName="MemoryUtilization",
        Dimensions=DIMENSIONS,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator=comparison,
        AlarmActions=[arn],
    )


def _desired(lab: dict[str, Any]) -> int:
    return int(
        lab["ecs"].describe_services(cluster="lab", services=["web"])["services"][0]["desiredCount"]
    )


def _alarm(lab: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(lab["cloudwatch"].describe_alarms(AlarmNames=[name])["MetricAlarms"][0])


def _activities(lab: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    found = lab["application-autoscaling"].describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=RID, **kwargs
    )["ScalingActivities"]
    return [dict(a) for a in found]


def test_a_new_alarm_has_insufficient_data_and_an_update_keeps_the_state(
    lab: dict[str, Any],
) -> None:
    assert _alarm(lab, "up-alarm")["StateValue"] == "INSUFFICIENT_DATA"
    assert _alarm(lab, "up-alarm")["StateReason"] == "Unchecked: Initial alarm creation"
    arn = _alarm(lab, "up-alarm")["AlarmActions"][0]
    lab["cloudwatch"].set_alarm_state(AlarmName="up-alarm", StateValue="OK", StateReason="manual")
    _put_alarm(lab["cloudwatch"], "up-alarm", 75, "GreaterThanOrEqualToThreshold", arn)
    updated = _alarm(lab, "up-alarm")
    assert updated["Threshold"] == 75
    # Kept, not reset: a reset would read INSUFFICIENT_DATA "Unchecked: Initial alarm
    # creation". The evaluator (every second here) may already have moved the manual OK
    # on to the real state, no data, with a reason of its own: that is AWS's behaviour too.
    assert updated["StateReason"] != "Unchecked: Initial alarm creation", updated
    assert updated["StateValue"] == "OK" or updated["StateReason"].startswith(
        ("Threshold Crossed", "Insufficient Data")
    )
    history = lab["cloudwatch"].describe_alarm_history(
        AlarmName="up-alarm", HistoryItemType="ConfigurationUpdate", ScanBy="TimestampAscending"
    )["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == [
        'Alarm "up-alarm" created',
        'Alarm "up-alarm" updated',
    ]


def test_set_alarm_state_runs_the_policy_and_records_the_activity(lab: dict[str, Any]) -> None:
    lab["cloudwatch"].set_alarm_state(
        AlarmName="up-alarm",
        StateValue="ALARM",
        StateReason="load test",
        StateReasonData=json.dumps({"recentDatapoints": [88.0], "threshold": 70.0}),
    )
    assert _desired(lab) == 4  # 88 % is 18 above 70: the +2 step
    (activity,) = _activities(lab)
    assert activity["Cause"] == "monitor alarm up-alarm in state ALARM triggered policy up"
    assert activity["Description"] == "Setting desired count to 4."
    assert activity["StatusMessage"] == (
        "Successfully set desired count to 4. Change successfully fulfilled by ecs."
    )
    assert activity["StatusCode"] == "Successful"
    history = lab["cloudwatch"].describe_alarm_history(AlarmName="up-alarm")["AlarmHistoryItems"]
    summaries = [h["HistorySummary"] for h in history]  # newest first
    # The evaluator may already have put the alarm back to its real state (no data), as
    # AWS soon does after SetAlarmState: look for the transition and its action, in order.
    moved = summaries.index("Alarm updated from INSUFFICIENT_DATA to ALARM")
    assert moved >= 1
    assert summaries[moved - 1].startswith("Successfully executed action arn:aws:autoscaling:")
    data = json.loads(history[moved]["HistoryData"])
    assert data["newState"]["stateReason"] == "load test"


def test_without_datapoints_the_step_next_to_the_threshold_runs(lab: dict[str, Any]) -> None:
    lab["cloudwatch"].set_alarm_state(AlarmName="up-alarm", StateValue="ALARM", StateReason="t")
    assert _desired(lab) == 3


def test_at_the_minimum_a_scale_in_is_a_not_scaled_activity(lab: dict[str, Any]) -> None:
    lab["cloudwatch"].set_alarm_state(
        AlarmName="down-alarm",
        StateValue="ALARM",
        StateReason="low",
        StateReasonData=json.dumps({"recentDatapoints": [7.0]}),
    )
    assert _desired(lab) == 2
    assert _activities(lab) == []
    (activity,) = _activities(lab, IncludeNotScaledActivities=True)
    assert activity["NotScaledReasons"] == [
        {"Code": "AlreadyAtMinCapacity", "MinCapacity": 2, "CurrentCapacity": 2}
    ]


def test_the_evaluator_reads_the_metric_and_scales(lab: dict[str, Any]) -> None:
    def put(value: float) -> None:
        lab["cloudwatch"].put_metric_data(
            Namespace="AWS/ECS",
            MetricData=[
                {
                    "MetricName": "MemoryUtilization",
                    "Dimensions": DIMENSIONS,
                    "Value": value,
                    "Unit": "Percent",
                }
            ],
        )

    put(97.0)
    # a 60 s period lasts 1 s here: the next evaluations see 97 % and add 3 tasks
    wait_for(lambda: _alarm(lab, "up-alarm")["StateValue"] == "ALARM", 10, "the high alarm")
    reason = _alarm(lab, "up-alarm")["StateReason"]
    assert reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [97.0 (")
    assert "(minimum 1 datapoint for INSUFFICIENT_DATA -> ALARM transition)." in reason
    assert _desired(lab) == 5
    # no newer datapoint: the next evaluation finds none and the alarm has insufficient data
    wait_for(lambda: _alarm(lab, "up-alarm")["StateValue"] == "INSUFFICIENT_DATA", 10, "no data")
    start = _alarm(lab, "up-alarm")["AlarmConfigurationUpdatedTimestamp"]
    stats = lab["cloudwatch"].get_metric_statistics(
        Namespace="AWS/ECS",
        MetricName="MemoryUtilization",
        Dimensions=DIMENSIONS,
        StartTime=start,
        EndTime=start + timedelta(minutes=5),
        Period=60,
        Statistics=["Average"],
    )["Datapoints"]
    assert [p["Average"] for p in stats] == [97.0]
    # dimensions in another order than they were put: AWS matches them as a set
    query = {
        "Id": "m",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/ECS",
                "MetricName": "MemoryUtilization",
                "Dimensions": list(reversed(DIMENSIONS)),
            },
            "Period": 60,
            "Stat": "Maximum",
        },
    }
    data = lab["cloudwatch"].get_metric_data(
        MetricDataQueries=[query], StartTime=start, EndTime=start + timedelta(minutes=5)
    )["MetricDataResults"][0]
    assert data["Values"] == [97.0]


def test_alarm_history_pages_and_refuses_a_token_it_did_not_give(lab: dict[str, Any]) -> None:
    cw = lab["cloudwatch"]
    names = [f"paged-{i}" for i in range(3)]
    for name in names:
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/ECS",
            MetricName="Never",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
    pages = [cw.describe_alarm_history(MaxRecords=2, HistoryItemType="ConfigurationUpdate")]
    while "NextToken" in pages[-1] and len(pages) < 5:
        pages.append(
            cw.describe_alarm_history(
                MaxRecords=2,
                HistoryItemType="ConfigurationUpdate",
                NextToken=pages[-1]["NextToken"],
            )
        )
    assert [len(p["AlarmHistoryItems"]) for p in pages] == [2, 2, 1]  # with up- and down-alarm
    summaries = [h["HistorySummary"] for p in pages for h in p["AlarmHistoryItems"]]
    assert summaries[:3] == [f'Alarm "{n}" created' for n in reversed(names)]  # newest first
    for token in ("not-a-token", "999"):
        with pytest.raises(cw.exceptions.InvalidNextToken):
            cw.describe_alarm_history(NextToken=token)


def test_set_alarm_state_is_refused_as_moto_refuses_it(lab: dict[str, Any]) -> None:
    cw = lab["cloudwatch"]
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(AlarmName="no-such-alarm", StateValue="OK", StateReason="x")
    with pytest.raises(cw.exceptions.InvalidFormatFault):
        cw.set_alarm_state(
            AlarmName="up-alarm", StateValue="OK", StateReason="x", StateReasonData="{not json"
        )
    assert _alarm(lab, "up-alarm")["StateReason"] == "Unchecked: Initial alarm creation"


def test_scaling_activities_page_and_refuse_a_token_they_did_not_give(
    lab: dict[str, Any],
) -> None:
    for _ in range(3):  # three not-scaled scale-ins at the minimum
        lab["cloudwatch"].set_alarm_state(AlarmName="down-alarm", StateValue="OK", StateReason="r")
        lab["cloudwatch"].set_alarm_state(
            AlarmName="down-alarm", StateValue="ALARM", StateReason="low"
        )
    first = lab["application-autoscaling"].describe_scaling_activities(
        ServiceNamespace="ecs", IncludeNotScaledActivities=True, MaxResults=2
    )
    rest = _activities(lab, IncludeNotScaledActivities=True, NextToken=first["NextToken"])
    ids = [a["ActivityId"] for a in first["ScalingActivities"]] + [a["ActivityId"] for a in rest]
    assert len(ids) == len(set(ids)) == 3
    aas = lab["application-autoscaling"]
    with pytest.raises(aas.exceptions.InvalidNextTokenException):
        aas.describe_scaling_activities(ServiceNamespace="ecs", NextToken="not-a-token")
