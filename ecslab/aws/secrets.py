"""Secrets Manager: whether a secret exists (its value is never read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors

if TYPE_CHECKING:
    from ecslab.aws.session import Aws


class Secrets:
    """Typed Secrets Manager reads."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("secretsmanager")

    def exists(self, secret_id: str) -> bool:
        """The secret exists and is not scheduled for deletion (DescribeSecret: no value)."""
        with aws_errors(f"describe secret {secret_id}"):
            try:
                found = self._client.describe_secret(SecretId=secret_id)
            except self._client.exceptions.ResourceNotFoundException:
                return False
        return "DeletedDate" not in found
