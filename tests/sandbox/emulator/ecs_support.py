"""A sandbox AWS API with the ECS scheduler, HAProxy and a tiny task image, for tests.

`python -m ecslab.sandbox serve-moto` runs as its own process (as `sandbox up` runs it),
with HAProxy in front of the tasks; tests observe it through plain boto3 calls.
"""

from __future__ import annotations

import io
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecslab.sandbox import haproxy
from ecslab.sandbox.ports import free_port, http_status
from ecslab.sandbox.process import spawn, stop_process, wait_for
from ecslab.sandbox.state import ensure_secret

TIME_SCALE = 5.0
APP = r"""
import http.server, os, sys
version = os.environ.get("VERSION", "1")
if os.environ.get("CRASH"):
    print("boom: the app cannot start (CRASH is set)", flush=True)
    sys.exit(3)
if os.environ.get("EAT_MB"):  # past the task's memory: the kernel's OOM killer ends it
    hog = b"x" * (int(os.environ["EAT_MB"]) * 2**20)
secret = open(os.environ["PASSWORD_FILE"]).read() if os.environ.get("PASSWORD_FILE") else ""
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = f"version {version} secret-read {bool(secret)}\n".encode()
        # UNHEALTHY: answers everything but its health check (a load balancer must not route)
        # FAIL: healthy, but every other request is answered 500 (a bad release)
        health = self.path == "/health"
        failing = os.environ.get("UNHEALTHY") if health else os.environ.get("FAIL")
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print(f"listening on {os.environ['PORT']}", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def build_app_image(client: Any, base_image: str, registry: str) -> str:
    """The tiny app on the base image, pushed; its reference by digest."""
    dockerfile = (
        f'FROM {base_image}\nCOPY app.py /app.py\nUSER 10001:10001\nCMD ["python3", "/app.py"]\n'
    )
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        for name, text in (("Dockerfile", dockerfile), ("app.py", APP)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    context.seek(0)
    repository = f"{registry}/ecs-test-app"
    client.images.build(
        fileobj=context, custom_context=True, tag=f"{repository}:1", network_mode="host"
    )
    for item in client.images.push(repository, tag="1", stream=True, decode=True):
        assert "error" not in item, item
    digest = client.images.get_registry_data(f"{repository}:1").id
    return f"{repository}@{digest}"


@dataclass
class Sandbox:
    endpoint: str
    lb_url: str
    state_dir: Path
    session: Any

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.endpoint)


@contextmanager
def sandbox_api(tmp: Path, docker_host: str, areas: str = "") -> Iterator[Sandbox]:
    """serve-moto with the scheduler plus HAProxy, both stopped by PID at the end.

    `areas`: the emulator areas to start (comma-separated; default all of them)."""
    import boto3

    ensure_secret(tmp / "db-password")
    lb_port, moto_port = free_port(), free_port()
    lb_pid = haproxy.start(tmp, lb_port)
    argv = [
        sys.executable,
        "-m",
        "ecslab.sandbox",
        "serve-moto",
        "--port",
        str(moto_port),
        "--state-dir",
        str(tmp),
        "--docker-host",
        docker_host,
        "--time-scale",
        str(TIME_SCALE),
        *(["--areas", areas] if areas else []),
    ]
    process = spawn(argv, tmp / "moto.log")
    try:
        url = f"http://127.0.0.1:{moto_port}"
        wait_for(
            lambda: http_status(url + "/", timeout=1) is not None,
            30,
            "moto",
            alive=lambda: process.poll() is None,
            log_path=tmp / "moto.log",
        )
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        yield Sandbox(url, f"http://127.0.0.1:{lb_port}/", tmp, session)
    finally:
        stop_process(process, term_timeout=20)
        haproxy.stop(lb_pid)


def deploy_service(box: Sandbox, image: str, *, desired: int = 2) -> dict[str, str]:
    """Cluster, task definition, target group and a FARGATE service behind it."""
    ecs, ec2, logs = (box.client(n) for n in ("ecs", "ec2", "logs"))
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    logs.create_log_group(logGroupName="/ecs/test")
    cluster = ecs.create_cluster(clusterName="lab")["cluster"]["clusterArn"]
    definition = register(box, image)
    tg = target_group(box, vpc, "lab-tg")
    ecs.create_service(
        cluster="lab",
        serviceName="web",
        taskDefinition=definition,
        desiredCount=desired,
        launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}],
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group]}
        },
        deploymentConfiguration={
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
    )
    return {"cluster": cluster, "target_group": tg, "task_definition": definition}


def register(box: Sandbox, image: str, **environment: str) -> str:
    env = [{"name": "PORT", "value": "8080"}] + [
        {"name": k, "value": v} for k, v in environment.items()
    ]
    return str(
        box.client("ecs").register_task_definition(
            family="web",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "web",
                    "image": image,
                    "essential": True,
                    "environment": env,
                    "secrets": [
                        {
                            "name": "PASSWORD",
                            "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
                        }
                    ],
                    "portMappings": [{"containerPort": 8080}],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": "/ecs/test",
                            "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": "lab",
                        },
                    },
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
    )


def until(check: Callable[[], Any], timeout: float, what: str, step: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy (bounded); that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(step)


def stable(box: Sandbox) -> Callable[[], bool]:
    """The services-stable waiter's acceptor, as botocore defines it."""

    def check() -> bool:
        service = box.client("ecs").describe_services(cluster="lab", services=["web"])["services"][
            0
        ]
        return (
            len(service["deployments"]) == 1
            and service["runningCount"] == service["desiredCount"]
            and service["deployments"][0]["rolloutState"] == "COMPLETED"
        )

    return check


def target_group(box: Sandbox, vpc: str, name: str) -> str:
    """An `ip` target group on port 8080, checked every 5 s, draining for 5 s."""
    elbv2 = box.client("elbv2")
    arn = str(
        elbv2.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
    )
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}],
    )
    return arn
