"""AWS's error codes, and what ecslab makes of them: the one place every wrapper asks.

A botocore ClientError carries AWS's code in `response["Error"]["Code"]`. The codes ecslab
tells apart are named here once; `is_throttling` and `is_transient` decide "try again
later" for every service, so a throttled ECS or Logs call is `Throttled` (a `Transient`)
exactly as a throttled CloudFormation call is, and a poll loop can poll through it.
Nothing here imports botocore: a code is read from the exception's `response`.
"""

from __future__ import annotations

from ecslab.core.errors import AwsError

# The codes AWS services use for "too many requests" (botocore's retry handler knows the
# same ones). Not LimitExceededException: for CloudFormation it is a quota, not a rate.
THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "EC2ThrottledException",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "SlowDown",
    }
)
# No answer this time for a reason on AWS's side; the same call may succeed later.
UNAVAILABLE = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
BAD_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
    }
)
# Codes one wrapper tells apart.
VALIDATION_ERROR = "ValidationError"  # CloudFormation: also "stack ... does not exist"
REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"
IMAGE_NOT_FOUND = "ImageNotFoundException"
IMAGE_ALREADY_EXISTS = "ImageAlreadyExistsException"
ENTITY_ALREADY_EXISTS = "EntityAlreadyExists"
INVALID_INPUT = "InvalidInput"


class Transient(AwsError):
    """No usable answer this time (throttled, timed out); a poll loop may try again."""


class Throttled(Transient):
    """AWS still throttled a call after botocore's own retries; the caller may try later."""


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, or ''."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Exception) -> str:
    """AWS's message of a botocore ClientError, else the exception's text."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(error)


def is_throttling(error: Exception) -> bool:
    """AWS refused the call for its rate."""
    return error_code(error) in THROTTLING


def is_transient(error: Exception) -> bool:
    """The same call may succeed later: throttled, or AWS could not answer this time."""
    return is_throttling(error) or error_code(error) in UNAVAILABLE
