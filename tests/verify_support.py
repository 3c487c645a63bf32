"""Shared by the verify, status and logs tests: stubbed clients and HTTP stand-ins.

`make_app` is tests/helpers.py's, the one App builder of the tests (JSON UI into
StringIO, a fake clock, AWS through the `aws` fixture's moto session). `StubbedAws`
hands out botocore Stubber-wrapped clients for the services a test names (for states moto
cannot produce) and moto clients for the rest. `StandIn` is a tiny HTTP server on
127.0.0.1 answering one fixed response, for "something else answers on that port".
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.stub import Stubber

from ecslab.aws.session import Aws
from ecslab.compose.app import App
from ecslab.core.config import Config


def events(app: App) -> list[dict[str, Any]]:
    """The JSON events the app's UI wrote."""
    out = app.ui.out
    assert isinstance(out, io.StringIO)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


class StubbedAws(Aws):
    """Aws whose clients for the named services are Stubber-wrapped; others are moto's."""

    def __init__(self, config: Config, session: boto3.Session, services: tuple[str, ...]) -> None:
        super().__init__(config, session)
        self.stubbers: dict[str, Stubber] = {}
        for name in services:
            client = session.client(name, region_name="us-east-1")  # type: ignore[call-overload]
            stubber = Stubber(client)
            stubber.activate()
            self._clients[name] = client
            self.stubbers[name] = stubber


class StandIn:
    """A loopback HTTP server that answers every GET with one fixed response."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        answer = (status, body, content_type)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code, payload, ctype = answer
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    @contextmanager
    def running(self) -> Iterator[str]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self.url
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)


# -- a deployed service, built in moto with plain API calls --------------------------------

PREFIX = "ecslab-dev"
CLUSTER = f"{PREFIX}-cluster"
SERVICE = f"{PREFIX}-microservice"
LOG_GROUP = f"{PREFIX}-microservice"
REPOSITORY = f"{PREFIX}-microservice"


def seed_load_balancer(session: boto3.Session) -> str:
    """VPC, two subnets, an ALB, the target group and a listener; returns the group's ARN."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    elb = session.client("elbv2")
    lb = elb.create_load_balancer(Name=f"{PREFIX}-alb", Subnets=subnets)["LoadBalancers"][0]
    group = elb.create_target_group(
        Name=f"{PREFIX}-tg", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    return str(group)


def seed_service(session: boto3.Session, image: str, target_group: str) -> str:
    """Cluster, task definition and a service of 2 behind `target_group`; returns td ARN."""
    ecs = session.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    td = ecs.register_task_definition(
        family=SERVICE,
        containerDefinitions=[
            {
                "name": SERVICE,
                "image": image,
                "memory": 512,
                "portMappings": [{"containerPort": 8080}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=td,
        desiredCount=2,
        loadBalancers=[
            {"targetGroupArn": target_group, "containerName": SERVICE, "containerPort": 8080}
        ],
    )
    return str(td)


def seed_stack(session: boto3.Session, outputs: dict[str, str]) -> None:
    """A stack named like ecslab's, whose outputs are the given literal values."""
    template = {
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": LOG_GROUP}}
        },
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    session.client("cloudformation").create_stack(
        StackName=PREFIX,
        TemplateBody=json.dumps(template),
        Parameters=[],
    )


def seed_scaling(
    session: boto3.Session, *, wire_low_alarm: bool = True, max_capacity: int = 10
) -> None:
    """The scalable target, both step policies and both alarms, as the template wires them."""
    aas = session.client("application-autoscaling")
    rid = f"service/{CLUSTER}/{SERVICE}"
    common = {
        "ServiceNamespace": "ecs",
        "ResourceId": rid,
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    aas.register_scalable_target(**common, MinCapacity=2, MaxCapacity=max_capacity)
    arns = {}
    for name, steps in (
        ("scale-up", [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]),
        ("scale-down", [{"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -1}]),
    ):
        arns[name] = aas.put_scaling_policy(
            PolicyName=f"{PREFIX}-{name}",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": steps,
                "Cooldown": 60,
                "MetricAggregationType": "Average",
            },
            **common,
        )["PolicyARN"]
    cloudwatch = session.client("cloudwatch")
    for alarm, comparison, threshold, policy in (
        ("high-memory", "GreaterThanOrEqualToThreshold", 70.0, arns["scale-up"]),
        ("low-memory", "LessThanOrEqualToThreshold", 20.0, arns["scale-down"]),
    ):
        actions = [policy] if wire_low_alarm or alarm == "high-memory" else [arns["scale-up"]]
        cloudwatch.put_metric_alarm(
            AlarmName=f"{PREFIX}-{alarm}",
            Namespace="AWS/ECS",
            MetricName="MemoryUtilization",
            Dimensions=[
                {"Name": "ServiceName", "Value": SERVICE},
                {"Name": "ClusterName", "Value": CLUSTER},
            ],
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=threshold,
            ComparisonOperator=comparison,
            AlarmActions=actions,
        )
