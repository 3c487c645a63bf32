"""`ecslab scale`: the range rules, and the stack update on moto that later deploys keep."""

from __future__ import annotations

import boto3
import pytest

from ecslab.core.errors import UsageError
from ecslab.lab.scale import Scale, current_scale, scale, wanted_scale
from ecslab.steps import deploy_service
from tests.helpers import make_app, output, run_step
from tests.lab.ops_support import deploy_lab

CURRENT = {"DesiredCount": 2, "MinCapacity": 2, "MaxCapacity": 10}


def test_a_count_inside_the_range_keeps_the_range() -> None:
    assert wanted_scale(CURRENT, 3, None, None) == Scale(3, 2, 10)


def test_a_count_outside_the_range_is_refused_with_the_fix() -> None:
    with pytest.raises(UsageError) as caught:
        wanted_scale(CURRENT, 12, None, None)

    assert "outside the autoscaling range [2, 10]" in caught.value.message
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "ecslab scale 12 --min 2 --max 12" in caught.value.hint


def test_a_new_range_moves_the_count_into_it() -> None:
    assert wanted_scale(CURRENT, None, 4, 8) == Scale(4, 4, 8)
    assert wanted_scale({**CURRENT, "DesiredCount": 9}, None, None, 6) == Scale(6, 2, 6)
    with pytest.raises(UsageError, match="--min 7 is above --max 6"):
        wanted_scale(CURRENT, None, 7, 6)
    with pytest.raises(UsageError, match="say what to change"):
        wanted_scale(CURRENT, None, None, None)


def test_a_stack_without_the_parameters_has_the_labs_values() -> None:
    assert current_scale({}) == CURRENT
    assert current_scale({"DesiredCount": "5"})["DesiredCount"] == 5


@pytest.fixture
def deployed(aws: boto3.Session, moto_server: str) -> boto3.Session:
    return deploy_lab(aws, moto_server)


def test_scale_updates_the_stack_and_the_scalable_target(
    deployed: boto3.Session, moto_server: str
) -> None:
    app = make_app(deployed, moto_server)

    done = scale(app, 3, 2, 6)

    assert done == Scale(3, 2, 6)
    stack = app.aws.cloudformation.describe("ecslab-dev", fresh=True)
    assert stack is not None and stack.status == "UPDATE_COMPLETE"
    params = stack.parameters
    assert (params["DesiredCount"], params["MinCapacity"], params["MaxCapacity"]) == ("3", "2", "6")
    targets = deployed.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs"
    )["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(2, 6)]
    service = deployed.client("ecs").describe_services(
        cluster="ecslab-dev-cluster", services=["ecslab-dev-microservice"]
    )["services"][0]
    assert service["desiredCount"] == 3
    assert any(e["event"] == "table" or "new parameter values" in e["message"] for e in output(app))

    # the lab's own deploy keeps what scale set: nothing undoes it
    again = run_step(deploy_service.build(make_app(deployed, moto_server)))
    assert again.outcome.value == "already-done"
    kept = app.aws.cloudformation.describe("ecslab-dev", fresh=True)
    assert kept is not None and kept.parameters["DesiredCount"] == "3"


def test_scale_before_the_service_exists_says_to_deploy(
    aws: boto3.Session, moto_server: str
) -> None:
    with pytest.raises(UsageError, match="does not run the service yet"):
        scale(make_app(aws, moto_server), 3, None, None)


def test_scale_says_which_alarm_and_policy_will_move_the_count(
    deployed: boto3.Session, moto_server: str
) -> None:
    """The low-memory alarm is in ALARM (as it is for the microsite at ~7 % memory): a
    count above the minimum will be scaled in by the scale-down policy."""
    cw = deployed.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="ecslab-dev-low-memory",
        Namespace="AWS/ECS",
        MetricName="MemoryUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=20,
        ComparisonOperator="LessThanOrEqualToThreshold",
    )
    cw.set_alarm_state(AlarmName="ecslab-dev-low-memory", StateValue="ALARM", StateReason="t")
    app = make_app(deployed, moto_server)

    scale(app, 4, None, None)

    warnings = [e["message"] for e in output(app) if e["event"] == "warning"]
    assert any(
        "alarm ecslab-dev-low-memory is in ALARM: policy ecslab-dev-scale-down" in w
        and "ecslab scale 4 --min 4" in w
        for w in warnings
    ), warnings
