"""One boto3 session per invocation, its clients cached, and botocore errors translated.

`Aws.client(name)` gives a client with adaptive retries (throttling must not fail a
deploy) and the configured endpoint. `aws_errors()` turns the failures every AWS call can
meet (no credentials, unknown profile, unreachable endpoint, access denied, any other
ClientError) into ecslab's own errors with a hint. Service modules call AWS inside it so
that botocore's exceptions never leak past them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ecslab.core.errors import AwsError, ConfigError

if TYPE_CHECKING:
    import boto3

    from ecslab.aws.autoscaling import Autoscaling
    from ecslab.aws.cloudformation import CloudFormation
    from ecslab.aws.ec2 import Ec2
    from ecslab.aws.ecr import Ecr
    from ecslab.aws.ecs import Ecs
    from ecslab.aws.elbv2 import Elbv2
    from ecslab.aws.iam import Iam
    from ecslab.aws.logs import Logs
    from ecslab.aws.rds import Rds
    from ecslab.core.config import Config

USER_AGENT = "ecslab"
MAX_ATTEMPTS = 10


class Aws:
    """The AWS side of one invocation: a session and its cached clients.

    The first client triggers a preflight, one `sts:GetCallerIdentity` with a single
    attempt: adaptive retries would otherwise spend over a minute retrying an endpoint
    that refuses connections, and bad credentials surface here, before any change.
    """

    def __init__(
        self, config: Config, session: boto3.Session | None = None, *, preflight: bool = True
    ) -> None:
        self._config = config
        self._session = session
        self._clients: dict[str, Any] = {}
        self._identity: dict[str, str] | None = None if preflight else {}

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            self._session = make_session(self._config)
        return self._session

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise ConfigError(
                "no AWS region is set",
                "pass --region, set ECSLAB_REGION or AWS_REGION, "
                "or add region to ecslab.yaml or your AWS profile",
                key="region",
            )
        return region

    # One wrapper per AWS service for the whole run, built on first use: what a wrapper
    # remembers (CloudFormation's reads, for one) is shared by every step and view.

    @cached_property
    def cloudformation(self) -> CloudFormation:
        from ecslab.aws.cloudformation import CloudFormation

        return CloudFormation(self)

    @cached_property
    def ecr(self) -> Ecr:
        from ecslab.aws.ecr import Ecr

        return Ecr(self)

    @cached_property
    def ecs(self) -> Ecs:
        from ecslab.aws.ecs import Ecs

        return Ecs(self)

    @cached_property
    def ec2(self) -> Ec2:
        from ecslab.aws.ec2 import Ec2

        return Ec2(self)

    @cached_property
    def elbv2(self) -> Elbv2:
        from ecslab.aws.elbv2 import Elbv2

        return Elbv2(self)

    @cached_property
    def iam(self) -> Iam:
        from ecslab.aws.iam import Iam

        return Iam(self)

    @cached_property
    def logs(self) -> Logs:
        from ecslab.aws.logs import Logs

        return Logs(self)

    @cached_property
    def autoscaling(self) -> Autoscaling:
        from ecslab.aws.autoscaling import Autoscaling

        return Autoscaling(self)

    @cached_property
    def rds(self) -> Rds:
        from ecslab.aws.rds import Rds

        return Rds(self)

    def client(self, service: str) -> Any:
        """A cached boto3 client for `service`, with adaptive retries."""
        if service not in self._clients:
            self.identity()
            self._clients[service] = self._make_client(service, MAX_ATTEMPTS, "adaptive")
        return self._clients[service]

    def identity(self) -> dict[str, str]:
        """Account and ARN of the caller; checked once, failing fast."""
        if self._identity is None:
            sts = self._make_client("sts", 1, "standard", connect_timeout=5)
            with aws_errors("check your AWS credentials"):
                answer = sts.get_caller_identity()
            self._identity = {"account": answer["Account"], "arn": answer["Arn"]}
        return self._identity

    def _make_client(
        self, service: str, attempts: int, mode: str, connect_timeout: int = 10
    ) -> Any:
        from botocore.config import Config as BotoConfig

        retries: Any = {"mode": mode, "total_max_attempts": attempts}
        config = BotoConfig(
            retries=retries,
            user_agent_extra=USER_AGENT,
            connect_timeout=connect_timeout,
            read_timeout=60,
        )
        with aws_errors():
            return self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                endpoint_url=self._config.endpoint_url,
                config=config,
            )


def make_session(config: Config) -> boto3.Session:
    """A boto3 Session for the configured profile and region."""
    import boto3

    with aws_errors():
        return boto3.Session(profile_name=config.profile, region_name=config.region)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, or ''."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(error)


_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
_BAD_CREDENTIALS = (
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
)


@contextmanager
def aws_errors(action: str | None = None) -> Iterator[None]:
    """Translate botocore failures raised inside the block into ecslab errors.

    `action` names what was being done ("create the ECS service-linked role"), so a
    denied call says which permission is missing.
    """
    from botocore import exceptions as bx

    try:
        yield
    except bx.ProfileNotFound as exc:
        raise ConfigError(
            f"AWS profile '{exc.kwargs.get('profile')}' is not in your AWS config",
            "list profiles with `aws configure list-profiles`, or fix --profile / AWS_PROFILE",
            key="profile",
        ) from exc
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
        raise AwsError(
            "no AWS credentials found",
            "run `aws configure` or `aws sso login`, or set AWS_PROFILE, "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ) from exc
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError) as exc:
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
        raise AwsError(
            f"cannot reach {url}",
            "check your network, the region, and --endpoint-url / AWS_ENDPOINT_URL "
            "(for the local sandbox: is it running?)",
        ) from exc
    except bx.NoRegionError as exc:
        raise ConfigError(
            "no AWS region is set",
            "pass --region, or set ECSLAB_REGION or AWS_REGION",
            key="region",
        ) from exc
    except bx.ClientError as exc:
        raise _client_error(exc, action) from exc
    except bx.BotoCoreError as exc:
        raise AwsError(f"AWS call failed: {exc}") from exc


def _client_error(exc: Exception, action: str | None) -> AwsError:
    code = error_code(exc)
    message = error_message(exc)
    operation = getattr(exc, "operation_name", "an AWS call")
    doing = f" to {action}" if action else ""
    if code in _ACCESS_DENIED:
        return AwsError(
            f"AWS denied {operation}{doing}: {message}",
            "ask your administrator for that permission, or use a profile that has it",
        )
    if code in _BAD_CREDENTIALS:
        return AwsError(
            f"AWS rejected your credentials ({code}): {message}",
            "refresh them (`aws sso login`, new access keys) or pick another profile",
        )
    return AwsError(f"{operation} failed{doing}: {code}: {message}")
