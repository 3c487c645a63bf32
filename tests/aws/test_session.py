"""The AWS session layer: failures a user meets before anything is changed."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import boto3
import pytest

from ecslab.aws.session import Aws, aws_errors
from ecslab.core.config import Config
from ecslab.core.errors import AwsError, ConfigError, ExitCode


def test_identity_against_moto(aws: boto3.Session, moto_server: str) -> None:
    account = Aws(Config(region="us-east-1", endpoint_url=moto_server)).identity()["account"]
    assert account.isdigit()
    assert len(account) == 12


def test_unreachable_endpoint_fails_with_the_url(aws: boto3.Session, free_port: object) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # type: ignore[operator]
    with pytest.raises(AwsError) as info:
        Aws(Config(region="us-east-1", endpoint_url=url)).client("cloudformation")
    assert f"cannot reach {url}" in info.value.message
    assert "--endpoint-url" in str(info.value.hint)
    assert info.value.exit_code == ExitCode.AWS


def test_the_preflight_tries_a_dead_endpoint_once(aws: boto3.Session) -> None:
    """Adaptive retries took 85 s to give up on a dead endpoint; the preflight tries once."""
    accepted = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(0.2)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"

        def hang_up() -> None:
            for _ in range(50):  # bounded: 50 x 0.2 s at most
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    if accepted:
                        return
                    continue
                accepted.append(1)
                connection.close()

        closer = threading.Thread(target=hang_up)
        closer.start()
        with pytest.raises(AwsError) as info:
            Aws(Config(region="us-east-1", endpoint_url=url)).client("cloudformation")
        closer.join()
    assert f"cannot reach {url}" in info.value.message
    assert len(accepted) == 1


def test_unknown_profile(aws: boto3.Session) -> None:
    with pytest.raises(ConfigError) as info:
        Aws(Config(region="us-east-1", profile="nope")).client("sts")
    assert "AWS profile 'nope'" in info.value.message
    assert info.value.exit_code == ExitCode.USAGE


def test_no_credentials(
    aws: boto3.Session, moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(AwsError) as info:
        Aws(Config(region="us-east-1", endpoint_url=moto_server)).client("cloudformation")
    assert info.value.message == "no AWS credentials found"
    assert "aws configure" in str(info.value.hint)


def test_no_region(aws: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as info:
        Aws(Config()).client("sts")
    assert "no AWS region" in info.value.message


def test_client_errors_become_aws_errors_naming_the_action(
    aws: boto3.Session, moto_server: str
) -> None:
    client = Aws(Config(region="us-east-1", endpoint_url=moto_server)).client("cloudformation")
    with pytest.raises(AwsError) as info, aws_errors("read the stack"):
        client.describe_stack_resources(StackName="missing")
    assert "DescribeStackResources failed to read the stack" in info.value.message
    assert "ValidationError" in info.value.message
    assert os.environ["AWS_ENDPOINT_URL"] == moto_server
