"""AWS's error codes decided in one place: throttling is `Throttled` in every wrapper.

moto never throttles, so the throttled answers come from botocore's Stubber, shaped as
AWS sends them (a 400 with the service's code; Stubber bypasses botocore's retries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ecslab.aws.errors import (
    ACCESS_DENIED,
    THROTTLING,
    UNAVAILABLE,
    Throttled,
    Transient,
    is_throttling,
    is_transient,
)
from ecslab.aws.session import Aws
from ecslab.core.config import Config
from ecslab.core.errors import AwsError
from tests.verify_support import StubbedAws


def _client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "AnyOperation")


@pytest.mark.parametrize("code", sorted(THROTTLING))
def test_every_throttling_code_is_throttling_and_transient(code: str) -> None:
    assert is_throttling(_client_error(code)) and is_transient(_client_error(code))


@pytest.mark.parametrize("code", sorted(UNAVAILABLE))
def test_an_unavailable_answer_is_transient_but_not_throttling(code: str) -> None:
    assert is_transient(_client_error(code, 503)) and not is_throttling(_client_error(code, 503))


@pytest.mark.parametrize(
    "code", ["ValidationError", "LimitExceededException", "AccessDenied", "InternalFailure", ""]
)
def test_other_codes_are_neither(code: str) -> None:
    assert not is_transient(_client_error(code)) and not is_throttling(_client_error(code))


def _stubbed(service: str) -> StubbedAws:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return StubbedAws(Config(region="us-east-1"), session, (service,))


CALLS: dict[str, tuple[str, str, Callable[[Aws], object]]] = {
    "cloudformation": (
        "describe_stacks",
        "Throttling",
        lambda aws: aws.cloudformation.describe("s", fresh=True),
    ),
    "ecs": (
        "describe_services",
        "ThrottlingException",
        lambda aws: aws.ecs.describe_service("c", "s"),
    ),
    "logs": (
        "get_log_events",
        "ThrottlingException",
        lambda aws: aws.logs.stream_tail("g", "s", 10),
    ),
    "ecr": (
        "describe_images",
        "ThrottlingException",
        lambda aws: aws.ecr.find_image("repo", "tag"),
    ),
    "ec2": ("describe_vpcs", "RequestLimitExceeded", lambda aws: aws.ec2.default_vpc_id()),
}


@pytest.mark.parametrize("service", sorted(CALLS))
def test_a_throttled_call_is_throttled_in_every_wrapper(service: str) -> None:
    operation, code, call = CALLS[service]
    aws = _stubbed(service)
    aws.stubbers[service].add_client_error(operation, code, "Rate exceeded", 400)

    with pytest.raises(Throttled, match="throttling"):
        call(aws)


def test_an_unavailable_service_is_transient_and_a_denial_is_not() -> None:
    aws = _stubbed("ecs")
    stub = aws.stubbers["ecs"]
    stub.add_client_error("describe_services", "ServiceUnavailableException", "down", 503)
    stub.add_client_error("describe_services", sorted(ACCESS_DENIED)[0], "no", 400)

    with pytest.raises(Transient) as unavailable:
        aws.ecs.describe_service("c", "s")
    with pytest.raises(AwsError) as denied:
        aws.ecs.describe_service("c", "s")

    assert not isinstance(unavailable.value, Throttled)
    assert not isinstance(denied.value, Transient) and "denied" in str(denied.value)
