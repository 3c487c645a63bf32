"""AWS/ECS service metrics from `docker stats` of real task containers, into moto."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import docker
import pytest

from ecslab.sandbox.dockerd import PrivateDockerd
from ecslab.sandbox.emulator.metrics import (
    LABEL_CLUSTER,
    LABEL_SERVICE,
    MetricsPublisher,
    TaskUsage,
    cpu_units_used,
    memory_mib_used,
    utilization,
)

# Names of this test run only: the Docker engine may hold other runs' task containers.
CLUSTER, SERVICE = f"lab-{uuid.uuid4().hex[:8]}", "web"
DIMENSIONS = [{"Name": "ClusterName", "Value": CLUSTER}, {"Name": "ServiceName", "Value": SERVICE}]
HOLD_64_MIB = "import time; block = bytearray(64 * 1024 * 1024); time.sleep(120)"


def test_service_utilization_is_used_over_task_size_times_tasks() -> None:
    tasks = [TaskUsage(25.6, 40.0, 256, 512), TaskUsage(76.8, 60.0, 256, 512)]
    cpu, memory = utilization(tasks) or (0.0, 0.0)
    assert (round(cpu, 6), round(memory, 6)) == (20.0, round(100 * 100 / 1024, 6))
    assert utilization([]) is None
    assert utilization([TaskUsage(600, 1, 256, 512)]) == (100.0, 100 * 1 / 512)


def test_docker_stats_fields() -> None:
    stats = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 3_000},
            "system_cpu_usage": 20_000,
            "online_cpus": 2,
        },
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000},
        "memory_stats": {
            "usage": 80 * 1024 * 1024,
            "stats": {"total_inactive_file": 16 * 1024 * 1024},
        },
    }
    assert cpu_units_used(stats) == 2_000 / 10_000 * 2 * 1024
    assert memory_mib_used(stats) == 64.0


@pytest.fixture
def task(docker_client: docker.DockerClient, base_image: str) -> Iterator[str]:
    """One task container of service `web` in this run's cluster: 0.25 vCPU, 512 MiB, 64 MiB."""
    container = docker_client.containers.run(
        base_image,
        ["python3", "-c", HOLD_64_MIB],
        detach=True,
        network_mode="host",
        nano_cpus=250_000_000,
        mem_limit="512m",
        labels={LABEL_SERVICE: SERVICE, LABEL_CLUSTER: CLUSTER},
    )
    try:
        yield str(container.id)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


def test_publishes_the_services_memory_and_cpu_into_cloudwatch(
    aws: boto3.Session, dockerd: PrivateDockerd, task: str
) -> None:
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "x", "memory": 512}]
    )
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="web", desiredCount=1)
    publisher = MetricsPublisher(dockerd.docker_host)
    try:
        publisher.publish_once()
    finally:
        publisher.close()
    cw = aws.client("cloudwatch")
    now = datetime.now(UTC)
    found = {}
    for name in ("MemoryUtilization", "CPUUtilization"):
        points = cw.get_metric_statistics(
            Namespace="AWS/ECS",
            MetricName=name,
            Dimensions=DIMENSIONS,
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Average"],
        )["Datapoints"]
        assert len(points) == 1 and points[0]["Unit"] == "Percent"
        found[name] = points[0]["Average"]
    # 64 MiB held plus the interpreter, of 512 MiB
    assert 12.5 <= found["MemoryUtilization"] <= 25.0
    assert 0.0 <= found["CPUUtilization"] <= 100.0
    data = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ECS",
                        "MetricName": "MemoryUtilization",
                        "Dimensions": DIMENSIONS,
                    },
                    "Period": 60,
                    "Stat": "Average",
                },
            }
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
    )["MetricDataResults"][0]
    assert data["Values"] == [found["MemoryUtilization"]]
