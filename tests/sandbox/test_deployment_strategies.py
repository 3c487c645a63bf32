"""Canary, linear, blue/green and alarm rollback in the sandbox, under load through HAProxy.

One sandbox AWS API (serve-moto with every area, HAProxy in front, clock x5: a sandbox
minute lasts 12 s) and one service with two target groups and a deployment alarm. A load
loop runs through HAProxy during each deployment: no request may fail. The tiny app says
which task definition served a request (`version N`), so the canary's split is measured
and compared with its configured percent. The tests run in order on the one service:
canary (version 2), linear (6), blue/green (7), a broken blue/green (3), an alarm during
bake (4), a release answering errors (5).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.load_support import Load
from tests.load_support import get as load_get
from tests.sandbox.emulator.ecs_support import (
    Sandbox,
    build_app_image,
    register,
    sandbox_api,
    stable,
    target_group,
    until,
)

pytestmark = pytest.mark.usefixtures("dockerd")

CANARY_PERCENT = 20.0
ALARM = "web-target-5xx"
SPLIT_SAMPLE = 500  # requests measured while the canary holds its share
SPLIT_TOLERANCE = 3.0  # percentage points
LINEAR_STEP = 34.0  # three steps: 34, 68, then 100


@pytest.fixture(scope="module")
def image(docker_client: Any, base_image: str, registry: Any) -> str:
    return build_app_image(docker_client, base_image, registry.address)


@pytest.fixture(scope="module")
def box(dockerd: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox_api(Path(tmp_path_factory.mktemp("sandbox")), dockerd.docker_host) as running:
        yield running


def _canary(bake: int = 1) -> dict[str, Any]:
    return {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": CANARY_PERCENT, "canaryBakeTimeInMinutes": 3},
        "bakeTimeInMinutes": bake,
        "alarms": {"alarmNames": [ALARM], "enable": True, "rollback": True},
    }


@pytest.fixture(scope="module")
def service(box: Sandbox, image: str) -> dict[str, str]:
    """Version 1 of the app, deployed (its first deployment: nothing to shift)."""
    ecs, ec2, logs = (box.client(n) for n in ("ecs", "ec2", "logs"))
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    logs.create_log_group(logGroupName="/ecs/test")
    ecs.create_cluster(clusterName="lab")
    blue, green = target_group(box, vpc, "lab-blue"), target_group(box, vpc, "lab-green")
    balancer = box.client("elbv2").create_load_balancer(Name="lab", Subnets=subnets)
    full_name = balancer["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/")[1]
    box.client("cloudwatch").put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=[{"Name": "LoadBalancer", "Value": full_name}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    ecs.create_service(
        cluster="lab",
        serviceName="web",
        taskDefinition=register(box, image, VERSION="1"),
        desiredCount=2,
        launchType="FARGATE",
        loadBalancers=[
            {
                "targetGroupArn": blue,
                "containerName": "web",
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": green,
                    "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:"
                    "123456789012:listener-rule/app/lab/0123456789abcdef/1/2",
                    "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure",
                },
            }
        ],
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group]}
        },
        deploymentConfiguration=_canary(),
    )
    until(stable(box), 90, "version 1 reaches a steady state")
    return {"blue": blue, "green": green, "balancer": full_name}


def _version(body: str) -> str:
    """N of the test app's `version N ...` answer."""
    return body.split()[1] if body.startswith("version ") else f"unexpected {body[:40]!r}"


def get(url: str) -> str:
    """One request; the app's `version N ...` line, or what went wrong."""
    status, body = load_get(url, timeout=5)
    return body if status == 200 else f"HTTP {status}: {body[:80]}"


def _deployments(box: Sandbox) -> list[dict[str, Any]]:
    ecs = box.client("ecs")
    briefs = ecs.list_service_deployments(cluster="lab", service="web")["serviceDeployments"]
    arns = [b["serviceDeploymentArn"] for b in briefs]
    return list(ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"])


def _latest(box: Sandbox) -> dict[str, Any]:
    return _deployments(box)[0]


def _weight(deployment: dict[str, Any]) -> float | None:
    return deployment["targetServiceRevision"].get("requestedProductionTrafficWeight")


def _serving(box: Sandbox) -> set[str]:
    """The versions that answer through the load balancer now."""
    return {get(box.lb_url).split()[1] for _ in range(20)}


def _update(box: Sandbox, image: str, config: dict[str, Any], **environment: str) -> None:
    box.client("ecs").update_service(
        cluster="lab",
        service="web",
        taskDefinition=register(box, image, **environment),
        deploymentConfiguration=config,
    )


def _measure_canary(box: Sandbox, load: Load) -> tuple[Counter[str], float]:
    """Every request the load balancer answered while the canary held its share (checked
    before and after): SPLIT_SAMPLE of this loop's and the load loop's meanwhile. Both
    count: HAProxy's weighted round robin is one sequence over all clients, so one
    client's share of it alone can be biased by how the two interleave."""
    url = box.lb_url
    for _ in range(3):

        def canary_share() -> bool:
            latest = _latest(box)
            return _weight(latest) == CANARY_PERCENT

        until(
            canary_share,
            60,
            "the canary takes its share of production traffic",
            step=0.2,
        )
        started, before = time.monotonic(), load.snapshot()
        seen: Counter[str] = Counter(get(url).split()[1] for _ in range(SPLIT_SAMPLE))
        seen.update(load.snapshot() - before)
        print(f"\n{SPLIT_SAMPLE} requests in {time.monotonic() - started:.1f} s")
        after = _latest(box)
        if _weight(after) == CANARY_PERCENT and after["lifecycleStage"] == (
            "PRODUCTION_TRAFFIC_SHIFT"
        ):
            return seen, 100.0 * seen["2"] / sum(seen.values())
    raise AssertionError("the canary's share changed during every measurement")


def test_canary_shifts_its_share_then_all_traffic_without_a_failed_request(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    stages: list[str] = []
    with Load(box.lb_url, seconds=240, key=_version) as load:
        _update(box, image, _canary(), VERSION="2")
        seen, measured = _measure_canary(box, load)

        def finished() -> bool:
            latest = _latest(box)
            stages.append(latest.get("lifecycleStage", latest["status"]))
            return bool(latest["status"] == "SUCCESSFUL")

        until(finished, 150, "the canary deployment succeeds", step=0.3)
        until(stable(box), 60, "version 2 alone runs")
    print(
        f"\ncanary split: {measured:.1f} % of {sum(seen.values())} requests on the new version "
        f"(target {CANARY_PERCENT:g} %); answers {dict(seen)}; load loop {dict(load.answers)}"
    )
    assert abs(measured - CANARY_PERCENT) <= SPLIT_TOLERANCE
    assert load.failures == []
    assert load.answers["1"] > 0 and load.answers["2"] > 0
    order = [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s]
    assert order[-3:] == ["BAKE_TIME", "CLEAN_UP", "SUCCESSFUL"] or order[-2:] == [
        "BAKE_TIME",
        "SUCCESSFUL",
    ], order
    assert {get(box.lb_url).split()[1] for _ in range(20)} == {"2"}


def test_linear_moves_the_traffic_in_steps_without_a_failed_request(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    """LINEAR: the production share grows by stepPercent each interval (on the sandbox's
    clock), the old version answers until the last step, and no request fails."""
    config = {**_canary(), "strategy": "LINEAR"}
    del config["canaryConfiguration"]
    config["linearConfiguration"] = {"stepPercent": LINEAR_STEP, "stepBakeTimeInMinutes": 1}
    weights: list[float] = []
    seen: list[str] = []

    before = _latest(box)["serviceDeploymentArn"]

    def finished() -> bool:
        latest = _latest(box)
        if latest["serviceDeploymentArn"] == before:
            return False  # the new deployment is not in the history yet
        weight = _weight(latest)
        if weight is not None and (not weights or weights[-1] != weight):
            weights.append(weight)
        where = f"{latest['status']}/{latest.get('lifecycleStage')}"
        if not seen or seen[-1] != where:
            seen.append(where)
        return bool(latest["status"] == "SUCCESSFUL")

    with Load(box.lb_url, seconds=240, key=_version) as load:
        _update(box, image, config, VERSION="6")
        try:
            until(finished, 180, "the linear deployment succeeds", step=0.3)
        except AssertionError as exc:
            reason = _latest(box).get("rollback", {}).get("reason")
            raise AssertionError(f"{exc}; seen: {seen}; weights {weights}; {reason}") from None
        until(stable(box), 60, "version 6 alone runs")
    print(f"\nlinear: production weights seen {weights}; load loop {dict(load.answers)}")
    assert load.failures == []
    assert weights[-1] == 100.0
    steps = [w for w in weights if 0 < w < 100]
    assert steps == sorted(steps) and len(steps) >= 2, weights
    assert all(w % LINEAR_STEP == 0 for w in steps), weights
    assert "6" in load.answers and len(load.answers) >= 2
    assert _serving(box) == {"6"}


def test_blue_green_moves_all_traffic_at_once_without_a_failed_request(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    """BLUE_GREEN: the green tasks take no production traffic until all are healthy, then
    all of it at once; blue keeps answering until then, and no request fails."""
    config = {**_canary(), "strategy": "BLUE_GREEN"}
    del config["canaryConfiguration"]
    before = _latest(box)["serviceDeploymentArn"]
    weights: list[float] = []

    def finished() -> bool:
        latest = _latest(box)
        if latest["serviceDeploymentArn"] == before:
            return False  # the new deployment is not in the history yet
        weight = _weight(latest)
        if weight is not None and (not weights or weights[-1] != weight):
            weights.append(weight)
        return bool(latest["status"] == "SUCCESSFUL")

    with Load(box.lb_url, seconds=240, key=_version) as load:
        _update(box, image, config, VERSION="7")
        until(finished, 180, "the blue/green deployment succeeds", step=0.3)
        until(stable(box), 60, "version 7 alone runs")
    print(f"\nblue/green: production weights seen {weights}; load loop {dict(load.answers)}")
    assert load.failures == []
    assert [w for w in weights if w > 0] == [100.0], weights
    assert set(load.answers) == {"6", "7"}
    assert _serving(box) == {"7"}


def test_a_broken_image_under_blue_green_never_gets_production_traffic(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    """Its tasks run and would answer `version 3`, but fail the target group's health
    check: the circuit breaker ends the deployment before any production shift."""
    config = {**_canary(), "strategy": "BLUE_GREEN"}
    del config["canaryConfiguration"]
    serving = _serving(box)
    with Load(box.lb_url, seconds=240, key=_version) as load:
        _update(box, image, config, VERSION="3", UNHEALTHY="1")
        until(
            lambda: _latest(box)["status"] == "ROLLBACK_SUCCESSFUL",
            150,
            "the circuit breaker rolls the broken deployment back",
        )
        until(stable(box), 60, "version 2 alone runs again")
    latest = _latest(box)
    print(f"\nbroken blue/green: load loop {dict(load.answers)}, {len(load.failures)} failures")
    assert load.failures == []
    assert set(load.answers) == serving
    assert latest["rollback"]["reason"].startswith("ECS deployment circuit breaker")
    assert "lifecycleStage" not in latest


def test_an_alarm_during_bake_rolls_back_to_the_old_tasks(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    """The alarm's metric is put by the test (the sandbox does not yet publish the load
    balancer's metrics); the alarms area evaluates it, the scheduler reacts."""
    cloudwatch = box.client("cloudwatch")
    with Load(box.lb_url, seconds=240, key=_version) as load:
        _update(box, image, {**_canary(bake=3), "strategy": "BLUE_GREEN"}, VERSION="4")
        until(lambda: _latest(box).get("lifecycleStage") == "BAKE_TIME", 90, "bake time")
        assert {get(box.lb_url).split()[1] for _ in range(20)} == {"4"}

        def rolled_back() -> bool:
            cloudwatch.put_metric_data(
                Namespace="AWS/ApplicationELB",
                MetricData=[
                    {
                        "MetricName": "HTTPCode_Target_5XX_Count",
                        "Dimensions": [{"Name": "LoadBalancer", "Value": service["balancer"]}],
                        "Value": 10,
                        "Unit": "Count",
                    }
                ],
            )
            return bool(_latest(box)["status"] == "ROLLBACK_SUCCESSFUL")

        until(rolled_back, 90, "the alarm rolls the deployment back", step=1.0)
        until(stable(box), 60, "version 2 alone runs again")
    latest = _latest(box)
    service_now = box.client("ecs").describe_services(cluster="lab", services=["web"])["services"][
        0
    ]
    print(f"\nalarm rollback: load loop {dict(load.answers)}, {len(load.failures)} failures")
    assert load.failures == []
    assert ALARM in latest["rollback"]["reason"]
    assert latest["alarms"]["triggeredAlarmNames"] == [ALARM]
    assert any(ALARM in event["message"] for event in service_now["events"])
    assert {get(box.lb_url).split()[1] for _ in range(20)} == {"7"}
    assert "7" in load.answers and "4" in load.answers


def test_a_release_that_answers_errors_is_rolled_back_by_the_5xx_alarm(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    """The whole chain: the canary's 500s counted by HAProxy, published as the load
    balancer's HTTPCode_Target_5XX_Count, the alarm evaluated, the deployment rolled back.
    Only the canary's share of requests fails, and none once it is rolled back."""
    cloudwatch = box.client("cloudwatch")

    def alarm_ok() -> bool:
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
        return bool(alarm["StateValue"] == "OK")

    until(alarm_ok, 60, "the alarm is back to OK (no errors, notBreaching)")
    serving = _serving(box)
    with Load(box.lb_url, seconds=240, key=_version) as load:
        _update(box, image, _canary(), VERSION="5", FAIL="1")
        until(
            lambda: _latest(box)["status"] == "ROLLBACK_SUCCESSFUL",
            120,
            "the 5xx alarm rolls the canary back",
        )
        until(stable(box), 60, "the old version alone runs again")
        failed_before = len(load.failures)
        time.sleep(3)
        failed_after = len(load.failures) - failed_before
    latest = _latest(box)
    print(
        f"\n5xx rollback: load loop {dict(load.answers)}, {len(load.failures)} failed "
        f"requests (all from version 5), at the canary's share before the rollback"
    )
    assert latest["alarms"]["triggeredAlarmNames"] == [ALARM]
    assert ALARM in latest["rollback"]["reason"]
    assert load.failures and all(f.startswith("HTTP 500: version 5") for f in load.failures)
    assert failed_after == 0
    assert set(load.answers) == serving
    assert _serving(box) == serving
