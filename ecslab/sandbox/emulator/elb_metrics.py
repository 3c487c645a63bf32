"""Emulator area: the load balancer's HTTPCode_Target_5XX_Count, from HAProxy's counters.

An Application Load Balancer publishes, in AWS/ApplicationELB, the 5xx answers its targets
gave (HTTPCode_Target_5XX_Count, unit Count, statistic Sum), per load balancer (dimension
LoadBalancer, `app/NAME/ID`) and per target group (TargetGroup `targetgroup/NAME/ID` with
LoadBalancer). Here, every few seconds, HAProxy's per-server `hrsp_5xx` counters (the
answers a task gave, not HAProxy's own 503s) are read over its runtime API; what grew since
the last reading goes into moto's CloudWatch as a datapoint, the server's target group
found through the ECS scheduler's targets. That is what a deployment alarm such as the
template's TargetErrorsAlarm evaluates, so a new image that answers errors rolls back in
the sandbox as on AWS. No datapoint is put when nothing grew (CloudWatch publishes none
for an ALB without errors either).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.sandbox.emulator import ecs_scheduler

if TYPE_CHECKING:
    from ecslab.sandbox.emulator import EmulatorContext

ACCOUNT = "123456789012"  # moto's default account, which fake keys map to
NAMESPACE, METRIC = "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"
INTERVAL = 2.0  # real seconds between readings (several per compressed minute)


def full_name(arn: str, kind: str) -> str:
    """`app/NAME/ID` of a load balancer ARN (kind `loadbalancer`), `targetgroup/NAME/ID`
    of a target group ARN (kind `targetgroup`)."""
    tail = arn.split(":", 5)[-1]
    return tail.removeprefix("loadbalancer/") if kind == "loadbalancer" else tail


class Publisher:
    """Counter deltas from HAProxy, as datapoints in moto's CloudWatch."""

    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        self.last: dict[str, int] = {}

    def publish_once(self) -> None:
        from ecslab.sandbox.haproxy import Runtime, socket_path

        if self.context.state_dir is None or not socket_path(self.context.state_dir).exists():
            return
        counters = Runtime(socket_path(self.context.state_dir)).counters("hrsp_5xx")
        grown: dict[str, int] = {}
        for name, value in counters.items():
            before = self.last.get(name, 0)
            if value > before:
                grown[name] = value - before
        self.last = counters
        if grown:
            self._put(grown)

    def _put(self, grown: dict[str, int]) -> None:
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.elbv2.models import elbv2_backends

        region = self.context.region
        balancers = [
            full_name(lb.arn, "loadbalancer")
            for lb in elbv2_backends[ACCOUNT][region].load_balancers.values()
            if getattr(lb, "type", "application") == "application"
        ]
        by_group: dict[str, int] = {}
        for group, count in _groups(grown).items():
            by_group[group] = by_group.get(group, 0) + count
        stamp = datetime.now(tz=UTC).replace(tzinfo=None)  # moto compares naive UTC
        data: list[dict[str, Any]] = []
        for balancer in balancers:
            data.append(_datum([("LoadBalancer", balancer)], sum(grown.values()), stamp))
            for group, count in by_group.items():
                dimensions = [("TargetGroup", full_name(group, "targetgroup"))]
                data.append(_datum([*dimensions, ("LoadBalancer", balancer)], count, stamp))
        if data:
            cloudwatch_backends[ACCOUNT][region].put_metric_data(NAMESPACE, data)


def _groups(grown: dict[str, int]) -> dict[str, int]:
    """Target name (HAProxy's, `t<port>`) -> count, turned into target group ARN -> count."""
    scheduler = ecs_scheduler._SCHEDULER[0] if ecs_scheduler._SCHEDULER else None
    if scheduler is None:
        return {}
    found: dict[str, int] = {}
    with scheduler.lock:
        for target in scheduler.targets.values():
            if target.name in grown:
                found[target.group_arn] = found.get(target.group_arn, 0) + grown[target.name]
    return found


def _datum(dimensions: list[tuple[str, str]], value: int, stamp: datetime) -> dict[str, Any]:
    return {
        "MetricName": METRIC,
        "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
        "Value": float(value),
        "Unit": "Count",
        "Timestamp": stamp,
    }


def start(context: EmulatorContext) -> Callable[[], None]:
    """The area's entry point (see ecslab.sandbox.emulator)."""
    if context.state_dir is None:
        return lambda: None
    publisher = Publisher(context)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(INTERVAL):
            try:
                publisher.publish_once()
            except Exception as exc:  # HAProxy may be restarting: read again next time
                print(f"elb_metrics: reading HAProxy failed: {exc!r}", file=sys.stderr)

    thread = threading.Thread(target=loop, name="elb-metrics", daemon=True)
    thread.start()

    def stop_area() -> None:
        stop.set()
        thread.join(timeout=10)

    return stop_area
