"""Emulator area: the AWS/ECS CPUUtilization and MemoryUtilization metrics of each service.

Fargate publishes, per service (dimensions ClusterName, ServiceName; unit Percent), the
CPU units and MiB its running tasks use as a share of what their task size gives them:
100 x used / (task size x number of tasks). Here, once per period (a minute, compressed by
the sandbox's time scale), `docker stats` of each running task container (labelled
`ecslab.sandbox.service`, and `ecslab.sandbox.cluster` when the scheduler sets it) gives
the CPU and memory used; the size is the container's HostConfig NanoCpus / Memory, else
the task definition's cpu / memory, else one vCPU and the engine's memory, said once on
stderr. The datapoints go into moto's CloudWatch backend, where GetMetricStatistics,
GetMetricData and the alarms read them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecslab.sandbox.emulator import EmulatorContext

LABEL_SERVICE = "ecslab.sandbox.service"
LABEL_CLUSTER = "ecslab.sandbox.cluster"
UNITS_PER_VCPU = 1024
MIB = 1024 * 1024
MAX_DATAPOINTS = 50_000  # moto keeps every datapoint: drop the oldest beyond this


@dataclass(frozen=True)
class TaskUsage:
    """One task's use and size: CPU in units (1024 per vCPU), memory in MiB."""

    cpu_used: float
    memory_used: float
    cpu_size: float
    memory_size: float


def utilization(tasks: Iterable[TaskUsage]) -> tuple[float, float] | None:
    """(CPUUtilization, MemoryUtilization) of a service, in percent; None without tasks."""
    items = list(tasks)
    if not items:
        return None
    cpu = 100 * sum(t.cpu_used for t in items) / sum(t.cpu_size for t in items)
    memory = 100 * sum(t.memory_used for t in items) / sum(t.memory_size for t in items)
    return min(cpu, 100.0), memory


def cpu_units_used(stats: dict[str, Any]) -> float:
    """CPU units used between docker's two samples of a one-shot `stats` answer."""
    now, before = stats.get("cpu_stats", {}), stats.get("precpu_stats", {})
    used = now.get("cpu_usage", {}).get("total_usage", 0) - before.get("cpu_usage", {}).get(
        "total_usage", 0
    )
    system = now.get("system_cpu_usage", 0) - before.get("system_cpu_usage", 0)
    cpus = now.get("online_cpus") or len(now.get("cpu_usage", {}).get("percpu_usage") or [1])
    if used <= 0 or system <= 0:
        return 0.0
    return float(used / system * cpus * UNITS_PER_VCPU)


def memory_mib_used(stats: dict[str, Any]) -> float:
    """Memory in use without the page cache, as `docker stats` shows it."""
    memory = stats.get("memory_stats", {})
    detail = memory.get("stats", {})
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return float(max(memory.get("usage", 0) - cache, 0) / MIB)


@dataclass(frozen=True)
class ServiceRef:
    cluster: str
    service: str
    cpu: float | None  # the task definition's size, when moto kept it
    memory: float | None


class MetricsPublisher:
    """Samples the task containers and puts one datapoint per service and metric."""

    def __init__(self, docker_host: str, clock: Callable[[], float] = time.time) -> None:
        import docker

        self._client = docker.DockerClient(base_url=docker_host, timeout=30)
        self._clock = clock
        self._said: set[str] = set()

    def close(self) -> None:
        self._client.close()

    def publish_once(self) -> None:
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.ecs.models import ecs_backends

        containers = self._client.containers.list(filters={"label": LABEL_SERVICE})
        for account_id, by_region in list(ecs_backends.items()):
            for region, ecs in list(by_region.items()):
                for ref in _services(ecs):
                    mine = [c for c in containers if _belongs(c, ref)]
                    result = utilization(self._usages(mine, ref))
                    if result is not None:
                        backend = cloudwatch_backends[account_id][region]
                        self._put(backend, ref, *result)

    def _usages(self, containers: list[Any], ref: ServiceRef) -> list[TaskUsage]:
        if not containers:
            return []
        with ThreadPoolExecutor(max_workers=min(len(containers), 8)) as pool:
            stats = list(pool.map(lambda c: c.stats(stream=False), containers))
        return [self._usage(c, s, ref) for c, s in zip(containers, stats, strict=True)]

    def _usage(self, container: Any, stats: dict[str, Any], ref: ServiceRef) -> TaskUsage:
        host = container.attrs.get("HostConfig", {})
        nano_cpus, memory_bytes = host.get("NanoCpus") or 0, host.get("Memory") or 0
        cpu = nano_cpus / 1e9 * UNITS_PER_VCPU if nano_cpus else ref.cpu
        memory = memory_bytes / MIB if memory_bytes else ref.memory
        if cpu is None:
            self._say_once("cpu", f"metrics: {ref.service} has no CPU size; using one vCPU")
            cpu = UNITS_PER_VCPU
        if memory is None:
            self._say_once("mem", f"metrics: {ref.service} has no memory size; using the limit")
            memory = stats.get("memory_stats", {}).get("limit", MIB) / MIB
        return TaskUsage(cpu_units_used(stats), memory_mib_used(stats), float(cpu), float(memory))

    def _put(self, backend: Any, ref: ServiceRef, cpu: float, memory: float) -> None:
        dimensions = [
            {"Name": "ClusterName", "Value": ref.cluster},
            {"Name": "ServiceName", "Value": ref.service},
        ]
        # moto compares datapoint times as naive UTC, as its request parser makes them
        stamp = datetime.fromtimestamp(self._clock(), tz=UTC).replace(tzinfo=None)
        backend.put_metric_data(
            "AWS/ECS",
            [
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Value": round(value, 4),
                    "Unit": "Percent",
                    "Timestamp": stamp,
                }
                for name, value in (("CPUUtilization", cpu), ("MemoryUtilization", memory))
            ],
        )
        excess = len(backend.metric_data) - MAX_DATAPOINTS
        if excess > 0:
            del backend.metric_data[:excess]

    def _say_once(self, key: str, text: str) -> None:
        if key not in self._said:
            self._said.add(key)
            print(text, file=sys.stderr, flush=True)


def _services(ecs: Any) -> list[ServiceRef]:
    found = []
    for service in list(ecs.services.values()):
        if getattr(service, "status", "ACTIVE") != "ACTIVE":
            continue
        cpu = memory = None
        try:
            definition = ecs.describe_task_definition(service.task_definition)
            cpu = float(definition.cpu) if getattr(definition, "cpu", None) else None
            memory = float(definition.memory) if getattr(definition, "memory", None) else None
        except Exception:  # a deregistered revision: the containers' own sizes still count
            pass
        cluster = service.cluster_arn.rsplit("/", 1)[-1]
        found.append(ServiceRef(cluster, service.name, cpu, memory))
    return found


def _belongs(container: Any, ref: ServiceRef) -> bool:
    labels = container.labels or {}
    cluster = labels.get(LABEL_CLUSTER)
    return labels.get(LABEL_SERVICE) == ref.service and cluster in (None, ref.cluster)


def start(context: EmulatorContext) -> Callable[[], None]:
    if context.docker_host is None:
        print("metrics: no Docker engine given; no AWS/ECS metrics", file=sys.stderr, flush=True)
        return lambda: None
    publisher = MetricsPublisher(context.docker_host)
    stop = threading.Event()
    interval = 60 / context.time_scale
    offset = min(1.0, interval / 4)  # sample inside a period, the evaluator runs at its end

    def loop() -> None:
        while not stop.wait(interval - (time.time() - offset) % interval):
            try:
                publisher.publish_once()
            except Exception as exc:  # the engine may restart: try again next period
                print(f"metrics: sampling failed: {exc!r}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=loop, name="metrics-publisher", daemon=True)
    thread.start()
    print(f"metrics: AWS/ECS every {interval:g} s", file=sys.stderr, flush=True)

    def stop_area() -> None:
        stop.set()
        thread.join(timeout=10)
        publisher.close()

    return stop_area
