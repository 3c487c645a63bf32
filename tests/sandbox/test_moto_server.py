"""MotoServer and the aws fixture: real HTTP on loopback, state reset between tests."""

from __future__ import annotations

import os

import boto3

from ecslab.sandbox.moto_server import MotoServer
from ecslab.sandbox.ports import http_status


def test_aws_fixture_points_everything_at_moto(aws: boto3.Session, moto_server: str) -> None:
    assert moto_server.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == moto_server
    assert "AWS_PROFILE" not in os.environ
    assert aws.region_name == "us-east-1"
    ecr = boto3.client("ecr")  # a plain client, configured by the environment alone
    ecr.create_repository(repositoryName="demo")
    assert ecr.describe_repositories()["repositories"][0]["repositoryName"] == "demo"


def test_aws_fixture_starts_from_nothing(aws: boto3.Session) -> None:
    assert aws.client("ecr").describe_repositories()["repositories"] == []


def test_reset_and_stop() -> None:
    server = MotoServer()
    server.start()
    try:
        session = boto3.Session("testing", "testing", region_name="us-east-1")
        logs = session.client("logs", endpoint_url=server.endpoint_url)
        logs.create_log_group(logGroupName="g")
        server.reset()
        assert logs.describe_log_groups()["logGroups"] == []
        url = server.endpoint_url
    finally:
        server.stop()
    assert http_status(f"{url}/moto-api/", timeout=1) is None
