"""`ecslab --sandbox run-all` end to end, through the CLI, on real local peers.

The sandbox starts its own moto server (with the ECS scheduler), registry, PostgreSQL and
HAProxy; it uses the
test session's Docker engine (DOCKER_HOST) and base image (ECSLAB_BASE_IMAGE), so CI builds
neither twice. One real run-all, one no-op run-all (both with verify finding the autoscaling
the sandbox emulates, as the template defines it), status, a scale-out on the high-memory
alarm and back, destroy, down.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ecslab.cli import run
from ecslab.lab.template import load_template
from ecslab.sandbox import PrivateDockerd
from ecslab.sandbox.emulator.ecs_containers import LABEL_ROOT
from ecslab.sandbox.process import pid_alive, wait_for
from ecslab.sandbox.state import SandboxState, load_state
from tests.awscli_support import AwsCli, stack_events

REPO = Path(__file__).resolve().parents[2]
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def step_event(self, name: str) -> dict[str, Any]:
        """The step's final event (done, already-done, ...)."""
        return next(
            e
            for e in reversed(self.events())
            if e.get("event") == "step" and e.get("step") == name and e.get("status") != "started"
        )

    def outcomes(self) -> dict[str, str]:
        return {
            str(e["step"]): str(e["status"])
            for e in self.events()
            if e.get("event") == "step" and e.get("status") != "started"
        }


@pytest.fixture
def sandbox_root(
    dockerd: PrivateDockerd,
    base_image: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Path]:
    """A clean environment for `ecslab --sandbox`; the sandbox is taken down afterwards."""
    for name in list(os.environ):
        if name.startswith(("ECSLAB_", "AWS_")) or name in ("NO_COLOR", "CI"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("DOCKER_HOST", dockerd.docker_host)
    monkeypatch.setenv("ECSLAB_BASE_IMAGE", base_image)
    # A snapshot outside git: its tag is a content hash, stable even while someone edits
    # the checkout's microsite between the two runs.
    microsite = shutil.copytree(
        REPO / "microsite", tmp_path / "microsite", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setenv("ECSLAB_MICROSITE_DIR", str(microsite))
    monkeypatch.setenv("ECSLAB_OUTPUT", "json")
    root = tmp_path / ".ecslab" / "sandbox"
    try:
        yield root
    finally:
        run(["sandbox", "down"])


def _ecslab(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    code = run(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def _task_targets(dockerd: PrivateDockerd, state: SandboxState) -> set[str]:
    """127.0.0.1:PORT of each running task container, from Docker itself."""
    client = dockerd.client()
    try:
        found = client.containers.list(filters={"label": f"{LABEL_ROOT}={state.root}"})
        ports = [dict(e.split("=", 1) for e in c.attrs["Config"]["Env"])["PORT"] for c in found]
    finally:
        client.close()
    assert len(ports) == 2, ports
    return {f"127.0.0.1:{port}" for port in ports}


def _get_json(url: str) -> dict[str, Any]:
    with _DIRECT.open(url, timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def test_sandbox_run_all_status_destroy_down(
    sandbox_root: Path,
    dockerd: PrivateDockerd,
    capsys: pytest.CaptureFixture[str],
    awscli: Callable[[str], AwsCli],
) -> None:
    first = _ecslab(capsys, "--sandbox", "--yes", "run-all")
    assert first.code == 0, first.err + first.out
    assert first.outcomes() == {
        "service-linked-role": "done",
        "deploy-ecr": "done",
        "push-image": "done",
        "deploy-service": "done",
        "service-stable": "done",
        "verify": "done",
    }
    state = load_state(sandbox_root)
    assert state is not None
    answer = _get_json(state.lb_url)
    assert answer["items"], answer
    assert "PostgreSQL" in answer["database"]["version"]
    assert state.db_password() not in first.out + first.err
    _assert_autoscaling_checked(first)
    _assert_stack_events_per_resource(awscli(state.endpoint_url))
    made = first.step_event("service-stable")["data"]["autoscaling_changes"]
    assert len(made) == 5, made

    second = _ecslab(capsys, "--sandbox", "--yes", "run-all")
    assert second.code == 0, second.err + second.out
    outcomes = second.outcomes()
    assert outcomes.pop("verify") == "done"  # verify always probes afresh
    assert set(outcomes.values()) == {"already-done"}, outcomes
    assert "is stable: 2/2 task(s) running" in second.step_event("service-stable")["message"]
    _assert_autoscaling_checked(second)

    shown = _ecslab(capsys, "--sandbox", "status")
    assert shown.code == 0, shown.err
    summary = shown.events()[-1]
    targets = {t["target"] for t in summary["targets"] if t["state"] == "healthy"}
    assert targets == _task_targets(dockerd, state), summary

    _assert_scales_out_and_back(capsys, state)
    _assert_destroyed(capsys, dockerd, state.root)
    _assert_down(capsys, sandbox_root, state.moto_pid, state.registry_pid, state.lb_pid)


def _assert_scales_out_and_back(capsys: pytest.CaptureFixture[str], state: SandboxState) -> None:
    """The issue's scenario, as a learner runs it with the AWS CLI: set-alarm-state on the
    high-memory alarm scales the service out to 3; once the alarm is back to OK and the
    cooldown has passed, the low-memory alarm (the microsite uses ~7 % of 512 MiB) brings it
    back to 2. The sandbox's clock runs x10: 60 s periods and cooldowns last 6 s."""
    import boto3

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    cw = session.client("cloudwatch", endpoint_url=state.endpoint_url)
    ecs = session.client("ecs", endpoint_url=state.endpoint_url)
    aas = session.client("application-autoscaling", endpoint_url=state.endpoint_url)
    cluster, service = "ecslab-dev-cluster", "ecslab-dev-microservice"
    rid = f"service/{cluster}/{service}"

    def desired() -> int:
        found = ecs.describe_services(cluster=cluster, services=[service])["services"]
        return int(found[0]["desiredCount"])

    def causes() -> list[str]:
        found = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid)
        return [a["Cause"] for a in found["ScalingActivities"]]

    # the metrics area has published the service's memory and the low alarm has seen it
    wait_for(lambda: _alarm_state(cw, "ecslab-dev-low-memory") == "ALARM", 60, "the low alarm")
    cw.set_alarm_state(
        AlarmName="ecslab-dev-high-memory", StateValue="ALARM", StateReason="scale-out test"
    )
    wait_for(lambda: desired() == 3, 30, "desiredCount 3")
    assert causes()[0] == (
        "monitor alarm ecslab-dev-high-memory in state ALARM triggered policy ecslab-dev-scale-up"
    )
    watched = _ecslab(capsys, "--sandbox", "status", "--watch", "--count", "1")
    assert watched.code == 0, watched.err
    (frame,) = [e for e in watched.events() if e.get("event") == "watch"]
    assert "sandbox clock x10" in frame["message"]
    assert set(frame["alarms"]) == {"ecslab-dev-high-memory", "ecslab-dev-low-memory"}
    wait_for(lambda: desired() == 2, 60, "desiredCount back to 2")
    assert causes()[0] == (
        "monitor alarm ecslab-dev-low-memory in state ALARM triggered policy ecslab-dev-scale-down"
    )
    assert _alarm_state(cw, "ecslab-dev-high-memory") == "OK"
    history = cw.describe_alarm_history(
        AlarmName="ecslab-dev-high-memory", HistoryItemType="StateUpdate"
    )["AlarmHistoryItems"]
    assert "Alarm updated from ALARM to OK" in [h["HistorySummary"] for h in history]


def _alarm_state(cw: Any, name: str) -> str:
    return str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def _assert_stack_events_per_resource(cli: AwsCli) -> None:
    """The AWS CLI sees each resource of the lab's template created, one event at a time,
    under the ClientRequestToken of the ecslab call that caused it."""
    events = stack_events(cli, "ecslab-dev")
    for logical_id, body in load_template()["Resources"].items():
        mine = [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == logical_id]
        if "Condition" in body:  # the traffic-shifting resources: not made for ROLLING
            assert mine == [], (logical_id, mine)
            continue
        assert mine[:3] == ["CREATE_IN_PROGRESS"] * 2 + ["CREATE_COMPLETE"], (logical_id, mine)
    stack = [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == "ecslab-dev"]
    assert stack == [
        "REVIEW_IN_PROGRESS",
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]
    tokens = [e.get("ClientRequestToken", "") for e in events[1:]]
    assert len(set(tokens)) == 2 and all(t.startswith("ecslab-") for t in tokens)


def _assert_autoscaling_checked(result: Result) -> None:
    """verify found the scalable target, both policies and both alarms, wired as the lab's."""
    assert result.step_event("verify")["data"]["autoscaling_problems"] == []
    warnings = [e["message"] for e in result.events() if e.get("event") == "warning"]
    assert not [w for w in warnings if "autoscaling" in w], warnings
    table = next(
        e for e in result.events() if e.get("event") == "table" and e.get("title") == "Autoscaling"
    )
    assert "missing" not in json.dumps(table), table


def _assert_destroyed(
    capsys: pytest.CaptureFixture[str], dockerd: PrivateDockerd, root: str
) -> None:
    import boto3

    state = load_state(Path(root))
    assert state is not None
    destroyed = _ecslab(capsys, "--sandbox", "--yes", "destroy")
    assert destroyed.code == 0, destroyed.err + destroyed.out
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    cfn = session.client("cloudformation", endpoint_url=state.endpoint_url)
    live = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert live == []
    ecr = session.client("ecr", endpoint_url=state.endpoint_url)
    assert ecr.describe_repositories()["repositories"] == []
    # The stack's deletion deletes the service; the scheduler drains and stops its tasks.
    client = dockerd.client()
    try:
        for _ in range(120):
            left = client.containers.list(filters={"label": f"{LABEL_ROOT}={root}"})
            if not left:
                break
            time.sleep(1)
    finally:
        client.close()
    assert left == []


def _assert_down(capsys: pytest.CaptureFixture[str], root: Path, *pids: int | None) -> None:
    postgres_root = load_state(root).postgres_root  # type: ignore[union-attr]
    stopped = _ecslab(capsys, "sandbox", "down")
    assert stopped.code == 0, stopped.err
    assert all(pid is not None and not pid_alive(pid) for pid in pids)
    assert load_state(root) is None
    assert not Path(postgres_root, "data", "postmaster.pid").exists()
