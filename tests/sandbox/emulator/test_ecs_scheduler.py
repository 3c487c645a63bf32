"""The ECS scheduler seen as the AWS docs use boto3: services, tasks, targets, logs.

One sandbox AWS API (serve-moto with the scheduler, HAProxy in front) per module; the
tests run in order on its one service: deployed, a task killed, a bad image rolled back.
Times are sandbox times at TIME_SCALE (5 sandbox seconds per real second).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecslab.sandbox.emulator.ecs_containers import (
    LABEL_CLUSTER,
    LABEL_CONTAINER,
    LABEL_SERVICE,
    LABEL_TASK,
)
from tests.load_support import Load
from tests.sandbox.emulator.ecs_support import (
    Sandbox,
    build_app_image,
    deploy_service,
    register,
    sandbox_api,
    stable,
    until,
)

pytestmark = pytest.mark.usefixtures("dockerd")


@pytest.fixture(scope="module")
def image(docker_client: Any, base_image: str, registry: Any) -> str:
    return build_app_image(docker_client, base_image, registry.address)


@pytest.fixture(scope="module")
def box(dockerd: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox_api(Path(tmp_path_factory.mktemp("sandbox")), dockerd.docker_host) as running:
        yield running


@pytest.fixture(scope="module")
def service(box: Sandbox, image: str) -> dict[str, str]:
    ids = deploy_service(box, image)
    until(stable(box), 60, "the service reaches a steady state")
    return ids


def _service(box: Sandbox) -> dict[str, Any]:
    return box.client("ecs").describe_services(cluster="lab", services=["web"])["services"][0]


def _tasks(box: Sandbox, desired: str = "RUNNING") -> list[dict[str, Any]]:
    ecs = box.client("ecs")
    arns = ecs.list_tasks(cluster="lab", serviceName="web", desiredStatus=desired)["taskArns"]
    return ecs.describe_tasks(cluster="lab", tasks=arns)["tasks"] if arns else []


def _health(box: Sandbox, group: str) -> dict[int, str]:
    answer = box.client("elbv2").describe_target_health(TargetGroupArn=group)
    return {
        int(d["Target"]["Port"]): d["TargetHealth"]["State"]
        for d in answer["TargetHealthDescriptions"]
    }


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode())


def test_a_deployed_service_runs_its_tasks_as_ecs_shows_them(
    box: Sandbox, service: dict[str, str], image: str, docker_client: Any
) -> None:
    found = _service(box)
    assert found["runningCount"] == found["desiredCount"] == 2
    assert found["pendingCount"] == 0
    assert found["launchType"] == "FARGATE"
    assert found["loadBalancers"][0]["targetGroupArn"] == service["target_group"]
    [deployment] = found["deployments"]
    assert (deployment["status"], deployment["rolloutState"]) == ("PRIMARY", "COMPLETED")
    messages = [e["message"] for e in found["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert any(m.startswith("(service web) has started 2 tasks: (task ") for m in messages)

    tasks = _tasks(box)
    assert [t["lastStatus"] for t in tasks] == ["RUNNING", "RUNNING"]
    digest = image.rsplit("@", 1)[1]
    for task in tasks:
        assert task["group"] == "service:web"
        assert task["startedBy"] == deployment["id"]
        assert (task["launchType"], task["cpu"], task["memory"]) == ("FARGATE", "256", "512")
        assert task["containers"][0]["imageDigest"] == digest
        assert task["startedAt"] >= task["createdAt"]

    ports = {}
    for task in tasks:
        container = docker_client.containers.get(task["containers"][0]["runtimeId"])
        labels = container.labels
        assert labels[LABEL_TASK] == task["taskArn"]
        assert (labels[LABEL_SERVICE], labels[LABEL_CLUSTER], labels[LABEL_CONTAINER]) == (
            "web",
            "lab",
            "web",
        )
        host = container.attrs["HostConfig"]
        assert (host["NanoCpus"], host["Memory"]) == (250_000_000, 512 * 1024 * 1024)
        env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"])
        assert "PASSWORD" not in env and env["PASSWORD_FILE"] == "/run/secrets/PASSWORD"
        ports[int(env["PORT"])] = task
    assert _health(box, service["target_group"]) == {port: "healthy" for port in ports}
    assert "secret-read True" in _get(box.lb_url)

    logs = box.client("logs")
    task_id = tasks[0]["taskArn"].rsplit("/", 1)[1]
    stream = f"lab/web/{task_id}"
    lines = until(
        lambda: logs.get_log_events(logGroupName="/ecs/test", logStreamName=stream)["events"],
        10,
        "the task's first line in CloudWatch Logs",
    )
    assert lines[0]["message"].startswith("listening on ")

    page = box.client("ecs").list_tasks(cluster="lab", serviceName="web", maxResults=1)
    assert len(page["taskArns"]) == 1 and page["nextToken"]
    assert box.client("ecs").list_tasks(cluster="lab", serviceName="other")["taskArns"] == []


def _version(body: str) -> str:
    """`version N` of the test app's answer, without its secret's part."""
    return body.split(" secret")[0]


def test_a_killed_task_is_replaced_while_requests_keep_succeeding(
    box: Sandbox, service: dict[str, str], docker_client: Any
) -> None:
    victim = _tasks(box)[0]
    with Load(box.lb_url, threads=2, key=_version) as load:
        docker_client.containers.get(victim["containers"][0]["runtimeId"]).kill()
        until(lambda: _stopped(box, victim["taskArn"]), 30, "the killed task STOPPED")
        until(stable(box), 30, "a replacement RUNNING")
        until(
            lambda: list(_health(box, service["target_group"]).values()).count("healthy") == 2,
            30,
            "the replacement's target healthy",
        )
    stopped = _stopped(box, victim["taskArn"])
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 137
    running = _tasks(box)
    assert len(running) == 2 and victim["taskArn"] not in {t["taskArn"] for t in running}
    health = _health(box, service["target_group"])
    assert sorted(health.values()).count("healthy") == 2
    assert load.failures == [] and load.ok > 0


def _stopped(box: Sandbox, arn: str) -> dict[str, Any] | None:
    [task] = box.client("ecs").describe_tasks(cluster="lab", tasks=[arn])["tasks"]
    return task if task["lastStatus"] == "STOPPED" else None


def test_code_changes_roll_out_with_no_failed_request(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    ecs = box.client("ecs")
    with Load(box.lb_url, threads=2, key=_version) as load:
        for version in ("2", "3", "4"):
            definition = register(box, image, VERSION=version)
            answer = ecs.update_service(cluster="lab", service="web", taskDefinition=definition)
            primary = answer["service"]["deployments"][0]  # AWS answers with the new one
            assert (primary["status"], primary["taskDefinition"]) == ("PRIMARY", definition)
            assert primary["rolloutState"] == "IN_PROGRESS"
            until(
                lambda v=version: (
                    stable(box)() and _service(box)["taskDefinition"].endswith(f":{v}")
                ),
                60,
                f"version {version} rolled out",
            )
            until(lambda v=version: f"version {v}" in _get(box.lb_url), 5, "the LB serves it")
    assert load.failures == [] and load.ok > 0
    assert {"version 2", "version 3", "version 4"} <= set(load.answers)


def test_a_crash_looping_image_rolls_back_and_the_old_version_keeps_serving(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    ecs = box.client("ecs")
    good = _service(box)["taskDefinition"]
    bad = register(box, image, CRASH="1")
    with Load(box.lb_url, threads=2, key=_version) as load:
        ecs.update_service(cluster="lab", service="web", taskDefinition=bad)
        until(
            lambda: any(
                e["message"].startswith("(service web) rolling back to deployment")
                for e in _service(box)["events"]
            ),
            60,
            "the circuit breaker trips and rolls back",
        )
        until(stable(box), 60, "the rollback completes")
    found = _service(box)
    assert found["taskDefinition"] == good
    messages = [e["message"] for e in found["events"]]
    assert any(
        m.startswith("(service web) (deployment ecs-svc/")
        and m.endswith(") deployment failed: tasks failed to start.")
        for m in messages
    )
    assert any(m.startswith("(service web) rolling back to deployment ecs-svc/") for m in messages)
    crashed = [t for t in _tasks(box, "STOPPED") if t["taskDefinitionArn"] == bad]
    assert len(crashed) >= 3
    assert crashed[0]["stoppedReason"] == "Essential container in task exited"
    assert crashed[0]["containers"][0]["exitCode"] == 3
    assert load.failures == [] and load.ok > 0
    assert set(load.answers) == {"version 4"} or set(load.answers) == {"version 1"}


def test_a_task_past_its_memory_is_stopped_as_out_of_memory(
    box: Sandbox, service: dict[str, str], image: str
) -> None:
    ecs = box.client("ecs")
    definition = register(box, image, EAT_MB="700")  # the task has 512 MiB
    found = ecs.describe_services(cluster="lab", services=["web"])["services"][0]
    ecs.create_service(
        cluster="lab",
        serviceName="hog",
        taskDefinition=definition,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=found["networkConfiguration"],
    )
    try:

        def oom_killed() -> dict[str, Any] | None:
            arns = ecs.list_tasks(cluster="lab", serviceName="hog", desiredStatus="STOPPED")
            tasks = (
                ecs.describe_tasks(cluster="lab", tasks=arns["taskArns"])["tasks"]
                if arns["taskArns"]
                else []
            )
            return next((t for t in tasks if t["lastStatus"] == "STOPPED"), None)

        task = until(oom_killed, 60, "the task is OOM-killed and STOPPED")
    finally:
        ecs.update_service(cluster="lab", service="hog", desiredCount=0)
        ecs.delete_service(cluster="lab", service="hog")
    container = task["containers"][0]
    assert container["reason"] == "OutOfMemoryError: Container killed due to memory usage"
    assert container["exitCode"] == 137
    assert task["stoppedReason"] == "Essential container in task exited"
