"""One boto3 session per invocation, its clients cached, and botocore errors translated.

`Aws.client(name)` gives a client with adaptive retries (throttling must not fail a
deploy) and the configured endpoint. Every call is bounded: a short read timeout and a
few attempts, so an endpoint that accepts and never answers costs seconds, not minutes,
and a poll loop can treat it as "no answer this round" (`Transient`) until its own
timeout fires. An answer that is not AWS's (an HTML page from a proxy or captive portal)
is refused before botocore parses it, with a one-line summary and never the body.
`aws_errors()` turns the failures every AWS call can meet (no credentials, unknown
profile, unreachable endpoint, access denied, any other ClientError) into ecslab's own
errors with a hint. Service modules call AWS inside it so
that botocore's exceptions never leak past them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ecslab.aws.errors import (
    ACCESS_DENIED,
    BAD_CREDENTIALS,
    Throttled,
    Transient,
    error_code,
    error_message,
    is_throttling,
    is_transient,
)
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
    from ecslab.aws.secrets import Secrets
    from ecslab.core.config import Config

USER_AGENT = "ecslab"
# Attempts per call, the first included. Throttling is absorbed by adaptive mode's
# client-side rate limiting and by the poll loops; more attempts only stretch a hang.
MAX_ATTEMPTS = 4
CONNECT_TIMEOUT = 5.0
# AWS's control-plane APIs answer in well under a second; 20 s is generous.
READ_TIMEOUT = 20.0
# GetCallerIdentity is the first call and the cheapest: a slow answer means a wrong endpoint.
PREFLIGHT_READ_TIMEOUT = 8.0


class Aws:
    """The AWS side of one invocation: a session and its cached clients.

    The first client triggers a preflight, one `sts:GetCallerIdentity` with a single
    attempt: adaptive retries would otherwise spend over a minute retrying an endpoint
    that refuses connections, and bad credentials surface here, before any change.
    """

    def __init__(
        self,
        config: Config,
        session: boto3.Session | None = None,
        *,
        preflight: bool = True,
        read_timeout: float = READ_TIMEOUT,
        attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._config = config
        self._read_timeout = read_timeout
        self._attempts = attempts
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

    @cached_property
    def secrets(self) -> Secrets:
        from ecslab.aws.secrets import Secrets

        return Secrets(self)

    def client(self, service: str) -> Any:
        """A cached boto3 client for `service`, with adaptive retries."""
        if service not in self._clients:
            self.identity()
            self._clients[service] = self._make_client(service, self._attempts, "adaptive")
        return self._clients[service]

    def identity(self) -> dict[str, str]:
        """Account and ARN of the caller; checked once, failing fast."""
        if self._identity is None:
            sts = self._make_client("sts", 1, "standard", PREFLIGHT_READ_TIMEOUT)
            with aws_errors("check your AWS credentials"):
                answer = sts.get_caller_identity()
            self._identity = {"account": answer["Account"], "arn": answer["Arn"]}
        return self._identity

    def _make_client(
        self, service: str, attempts: int, mode: str, read_timeout: float | None = None
    ) -> Any:
        from botocore.config import Config as BotoConfig

        retries: Any = {"mode": mode, "total_max_attempts": attempts}
        config = BotoConfig(
            retries=retries,
            user_agent_extra=USER_AGENT,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=min(read_timeout or self._read_timeout, self._read_timeout),
        )
        with aws_errors():
            client = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                endpoint_url=self._config.endpoint_url,
                config=config,
            )
        client.meta.events.register("before-parse", refuse_non_aws_answer)
        return client


class NotAwsAnswer(AwsError):
    """The endpoint answered, but not as AWS does (HTML, a proxy's page)."""


_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title")


def refuse_non_aws_answer(response_dict: Mapping[str, Any], **kwargs: Any) -> None:
    """botocore's before-parse hook: refuse an answer no AWS API gives, in one line.

    Decided by the body, not the content type: some emulators label JSON as text/html.
    """
    headers = response_dict.get("headers") or {}
    content_type = str(headers.get("content-type", "")).split(";")[0].strip().lower()
    body = response_dict.get("body")
    head = bytes(body[:512]) if isinstance(body, bytes | bytearray) else b""
    if not head.lstrip()[:15].lower().startswith(_HTML_STARTS):
        return
    status = response_dict.get("status_code", "?")
    operation = getattr(kwargs.get("operation_model"), "name", "an AWS call")
    raise NotAwsAnswer(
        f"the endpoint answered {operation} with HTTP {status} "
        f"{content_type or 'without a content type'}{_html_title(head)}, not an AWS API answer",
        "check --endpoint-url / AWS_ENDPOINT_URL and any proxy (HTTPS_PROXY) between you and "
        "AWS; a captive portal or a web server answers like this",
    )


def _html_title(head: bytes) -> str:
    import re

    from ecslab.core.inputs import shown

    match = re.search(rb"<title[^>]*>([^<]{1,200})", head, re.IGNORECASE)
    if match is None:
        return ""
    title = " ".join(match[1].decode("utf-8", errors="replace").split())[:80]
    return f' ("{shown(title)}")'


def make_session(config: Config) -> boto3.Session:
    """A boto3 Session for the configured profile and region."""
    import boto3

    with aws_errors():
        return boto3.Session(profile_name=config.profile, region_name=config.region)


def fixed_key_session(key_id: str, secret: str, region: str) -> boto3.Session:
    """A Session with these keys and region, whatever the environment and ~/.aws say."""
    import boto3

    return boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region)


@contextmanager
def aws_errors(action: str | None = None) -> Iterator[None]:
    """Translate botocore failures raised inside the block into ecslab errors.

    `action` names what was being done ("create the ECS service-linked role"), so a
    denied call says which permission is missing.
    """
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    try:
        yield
    except ResponseParserError as exc:
        # Not a BotoCoreError: an answer that is neither AWS's XML nor its JSON. Its body
        # can be anything (a captive portal, another service): never quote it.
        raise AwsError(
            "the AWS endpoint answered something that is not an AWS API response",
            "check --endpoint-url / AWS_ENDPOINT_URL and any proxy in between "
            "(for the local sandbox: is it the sandbox's moto port?)",
        ) from exc
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
    except bx.ReadTimeoutError as exc:
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
        raise Transient(
            f"{url} accepted the connection but did not answer in time",
            "check --endpoint-url / AWS_ENDPOINT_URL, your network or proxy, and try again",
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
        raise AwsError(f"AWS call failed: {_one_line(str(exc))}") from exc


def _one_line(text: str, limit: int = 300) -> str:
    """An AWS message on one line, capped: a body quoted in an error can be anything."""
    from ecslab.core.inputs import shown

    flat = " ".join(text.split())
    return shown(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _client_error(exc: Exception, action: str | None) -> AwsError:
    code = error_code(exc)
    message = _one_line(error_message(exc))
    operation = getattr(exc, "operation_name", "an AWS call")
    doing = f" to {action}" if action else ""
    if is_throttling(exc):
        return Throttled(
            f"AWS is throttling {operation}{doing}: {message}",
            "wait a minute and run the command again",
        )
    if is_transient(exc):
        return Transient(
            f"AWS could not answer {operation}{doing} this time ({code}): {message}",
            "try again in a minute",
        )
    if code in ACCESS_DENIED:
        return AwsError(
            f"AWS denied {operation}{doing}: {message}",
            "ask your administrator for that permission, or use a profile that has it",
        )
    if code in BAD_CREDENTIALS:
        return AwsError(
            f"AWS rejected your credentials ({code}): {message}",
            "refresh them (`aws sso login`, new access keys) or pick another profile",
        )
    return AwsError(f"{operation} failed{doing}: {code}: {message}")
