"""The autoscaling wiring read from moto (its plain APIs) and the problems it finds."""

from __future__ import annotations

import boto3

from ecslab.aws.autoscaling import Autoscaling
from ecslab.aws.session import Aws
from ecslab.core.config import Config
from tests.verify_support import (
    CLUSTER,
    SERVICE,
    seed_load_balancer,
    seed_scaling,
    seed_service,
)

IMAGE = "registry.example/ecslab-dev-microservice:v1"


def _deployed(session: boto3.Session, **kwargs: object) -> None:
    seed_service(session, IMAGE, seed_load_balancer(session))
    seed_scaling(session, **kwargs)  # type: ignore[arg-type]


def _read(session: boto3.Session, moto_server: str):  # type: ignore[no-untyped-def]
    config = Config(region="us-east-1", endpoint_url=moto_server)
    return Autoscaling(Aws(config, session)).read(config.names, CLUSTER, SERVICE)


def test_wired_as_the_template_wires_it(aws: boto3.Session, moto_server: str) -> None:
    _deployed(aws)
    aws.client("cloudwatch").set_alarm_state(
        AlarmName="ecslab-dev-high-memory",
        StateValue="ALARM",
        StateReason="Threshold Crossed: 1 datapoint [81.2] was >= the threshold (70.0).",
    )
    setup = _read(aws, moto_server)

    assert setup.target is not None
    assert (setup.target.min_capacity, setup.target.max_capacity) == (2, 10)
    assert sorted(setup.policies) == ["ecslab-dev-scale-down", "ecslab-dev-scale-up"]
    assert setup.policies["ecslab-dev-scale-up"].adjustments == (1,)
    assert {a.name: a.state for a in setup.alarms.values()} == {
        "ecslab-dev-high-memory": "ALARM",
        "ecslab-dev-low-memory": "OK",
    }
    assert "81.2" in setup.alarms["ecslab-dev-high-memory"].state_reason
    assert setup.problems() == []


def test_alarm_pointing_at_the_wrong_policy(aws: boto3.Session, moto_server: str) -> None:
    _deployed(aws, wire_low_alarm=False)
    assert _read(aws, moto_server).problems() == [
        "alarm ecslab-dev-low-memory does not trigger policy ecslab-dev-scale-down"
    ]


def test_nothing_deployed(aws: boto3.Session, moto_server: str) -> None:
    problems = _read(aws, moto_server).problems()
    assert problems == [
        "no scalable target registers the service's desired count",
        "step scaling policy ecslab-dev-scale-up is missing",
        "alarm ecslab-dev-high-memory is missing",
        "step scaling policy ecslab-dev-scale-down is missing",
        "alarm ecslab-dev-low-memory is missing",
    ]
