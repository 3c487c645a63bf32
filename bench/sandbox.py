"""The sandbox as a learner meets it: run-all times, recovery, roll-out, load balancer cost.

Usage:  python bench/sandbox.py        (root; Docker engine at DOCKER_HOST, or the sandbox's
                                         own; ECSLAB_BASE_IMAGE / ECSLAB_MICROSITE_DIR as for
                                         ecslab; needs wrk)
In a fresh folder, each measured as a separate `ecslab` process or from outside:
  1. cold `ecslab --sandbox run-all --yes` (sandbox start, build, push, deploy, stable, verify)
  2. no-op run-all
  3. GET / with wrk (2 threads, 32 connections, DURATION s) through the sandbox's HAProxy
     (two tasks) and straight to one task, in the same minute: the load balancer's cost
     (target: under 15 % of the direct throughput; p99 under 3x the direct p99)
  4. `docker kill` of a task container -> a replacement task's target healthy (AWS-SEMANTICS
     timing: the target group's 15 s interval, at time scale 1)
  5. a code change (a comment added to a copy of the microsite) -> run-all until every task
     is replaced and the rollout COMPLETED
then `ecslab sandbox down`. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's ecslab, whatever else is installed
DURATION = int(os.environ.get("DURATION", "10"))
TIMEOUT = 300.0


def ecslab(folder: Path, *args: str) -> float:
    """Run `python -m ecslab ARGS` in `folder`; its wall time (exits on failure)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ECSLAB_MICROSITE_DIR": str(folder / "microsite")}
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ecslab", *args], cwd=folder, env=env, capture_output=True, text=True
    )
    took = time.monotonic() - began
    if done.returncode != 0:
        tail = done.stdout[-3000:] + done.stderr[-2000:]
        sys.exit(f"ecslab {' '.join(args)} exited {done.returncode}:\n{tail}")
    return took


def wrk(url: str) -> tuple[float, float]:
    """(requests/s, p99 ms) of GET url with 2 threads and 32 connections."""
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{DURATION}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{url}: {errors.group(1)} non-2xx answers under load")
    return rate, p99


class Lab:
    """boto3 and Docker views of the sandbox in `folder`."""

    def __init__(self, folder: Path) -> None:
        import boto3
        import docker

        from ecslab.sandbox.state import load_state

        state = load_state(folder / ".ecslab" / "sandbox")
        assert state is not None
        self.state = state
        session = boto3.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
        )
        self.ecs = session.client("ecs", endpoint_url=state.endpoint_url)
        self.elbv2 = session.client("elbv2", endpoint_url=state.endpoint_url)
        self.docker = docker.DockerClient(base_url=state.docker_host)

    def healthy_ports(self) -> set[int]:
        group = self.elbv2.describe_target_groups()["TargetGroups"][0]["TargetGroupArn"]
        found = self.elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        return {int(d["Target"]["Port"]) for d in found if d["TargetHealth"]["State"] == "healthy"}

    def task_containers(self) -> list[Any]:
        from ecslab.sandbox.emulator.ecs_containers import LABEL_ROOT

        return list(
            self.docker.containers.list(filters={"label": f"{LABEL_ROOT}={self.state.root}"})
        )


def port_of(container: Any) -> int:
    env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"])
    return int(env["PORT"])


def until(check: Any, what: str) -> float:
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > TIMEOUT:
            sys.exit(f"not within {TIMEOUT:.0f} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - began


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ecslab-sandbox-bench-"))
    source = Path(os.environ.get("ECSLAB_MICROSITE_DIR", ROOT / "microsite"))
    shutil.copytree(source, folder / "microsite", ignore=shutil.ignore_patterns("__pycache__"))
    rows: list[tuple[str, str]] = []
    try:
        rows.append(("cold run-all", f"{ecslab(folder, '--sandbox', 'run-all', '--yes'):.1f} s"))
        rows.append(("no-op run-all", f"{ecslab(folder, '--sandbox', 'run-all', '--yes'):.1f} s"))
        lab = Lab(folder)
        tasks = lab.task_containers()
        direct_rate, direct_p99 = wrk(f"http://127.0.0.1:{port_of(tasks[0])}/")
        lb_rate, lb_p99 = wrk(lab.state.lb_url)
        cost = 100 * (1 - lb_rate / direct_rate)
        rows += [
            ("GET / one task direct", f"{direct_rate:,.0f} req/s, p99 {direct_p99:.1f} ms"),
            ("GET / through HAProxy (2 tasks)", f"{lb_rate:,.0f} req/s, p99 {lb_p99:.1f} ms"),
            ("LB cost (target < 15 %)", f"{cost:.1f} % of direct throughput"),
            ("LB p99 / direct p99 (target < 3x)", f"{lb_p99 / direct_p99:.2f}x"),
        ]
        victim = tasks[0]
        old_port = port_of(victim)
        victim.kill()
        took = until(
            lambda: len(lab.healthy_ports() - {old_port}) == 2, "a replacement's target healthy"
        )
        rows.append(("kill -> replacement target healthy", f"{took:.1f} s"))
        with (folder / "microsite" / "microsite" / "__main__.py").open("a") as handle:
            handle.write("# a code change\n")
        before = {c.id for c in lab.task_containers()}
        took = ecslab(folder, "--sandbox", "run-all", "--yes")
        replaced = not before & {c.id for c in lab.task_containers()}
        rows.append(
            ("code change -> all tasks replaced (run-all)", f"{took:.1f} s, replaced: {replaced}")
        )
    finally:
        ecslab(folder, "sandbox", "down")
        shutil.rmtree(folder, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
