"""IAM: the ECS service-linked role (lab step 2), the one IAM call ecslab makes itself,
and who may assume a role (`ecslab doctor` checks the tasks' roles trust ECS tasks).

The role is found by its path, /aws-service-role/ecs.amazonaws.com/, rather than by name:
AWS names it AWSServiceRoleForECS, moto AWSServiceRoleForecs. Creating it twice is not an
error for ecslab: AWS answers InvalidInput "... has been taken in this account", moto
EntityAlreadyExists, and both mean the postcondition holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecslab.aws.errors import (
    ACCESS_DENIED,
    ENTITY_ALREADY_EXISTS,
    INVALID_INPUT,
    error_code,
    error_message,
)
from ecslab.aws.session import aws_errors
from ecslab.core.errors import AwsError

if TYPE_CHECKING:
    from ecslab.aws.session import Aws

ECS_SERVICE = "ecs.amazonaws.com"
ECS_ROLE_NAME = "AWSServiceRoleForECS"


class PermissionMissing(AwsError):
    """AWS denied an IAM call; the message names the permission."""


def service_role_path(service: str) -> str:
    return f"/aws-service-role/{service}/"


class Iam:
    """Typed IAM calls."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("iam")

    def find_service_linked_role(self, service: str) -> str | None:
        """The ARN of `service`'s service-linked role, or None. Needs iam:ListRoles."""
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"PathPrefix": service_role_path(service)}
        with aws_errors(f"look for the service-linked role of {service}"):
            try:
                while True:
                    page = self._client.list_roles(**kwargs)
                    if page["Roles"]:
                        return canonical_role_arn(str(page["Roles"][0]["Arn"]))
                    if not page.get("IsTruncated"):
                        return None
                    kwargs["Marker"] = page["Marker"]
            except ClientError as exc:
                if error_code(exc) in ACCESS_DENIED:
                    raise _denied("iam:ListRoles", "look for", service, exc) from exc
                raise

    def trusted_services(self, role: str) -> tuple[str, ...] | None:
        """The service principals allowed to assume `role` (a name or an ARN); None when
        the role does not exist."""
        name = role.rsplit("/", 1)[-1]
        with aws_errors(f"read IAM role {name}"):
            try:
                found = self._client.get_role(RoleName=name)["Role"]
            except self._client.exceptions.NoSuchEntityException:
                return None
        return trust_services(found.get("AssumeRolePolicyDocument", {}))

    def inline_grant(self, role: str, action: str, resource: str) -> bool | None:
        """Whether the role's inline policies allow `action` on `resource` (an explicit
        Deny wins); None when the role does not exist. Attached managed policies are not
        read: a False here may still be granted by one of them."""
        name = role.rsplit("/", 1)[-1]
        documents = []
        with aws_errors(f"read the inline policies of IAM role {name}"):
            try:
                pages = self._client.get_paginator("list_role_policies").paginate(RoleName=name)
                for policy in (n for page in pages for n in page["PolicyNames"]):
                    found = self._client.get_role_policy(RoleName=name, PolicyName=policy)
                    documents.append(found["PolicyDocument"])
            except self._client.exceptions.NoSuchEntityException:
                return None
        return policies_allow(documents, action, resource)

    def create_service_linked_role(self, service: str) -> bool:
        """Create the role; False when it already existed."""
        from botocore.exceptions import ClientError

        with aws_errors(f"create the service-linked role of {service}"):
            try:
                self._client.create_service_linked_role(AWSServiceName=service)
            except ClientError as exc:
                if _already_exists(exc):
                    return False
                if error_code(exc) in ACCESS_DENIED:
                    raise _denied("iam:CreateServiceLinkedRole", "create", service, exc) from exc
                raise
        return True


def trust_services(document: Any) -> tuple[str, ...]:
    """Services an AssumeRole trust policy allows (boto3 decodes it; moto may give text)."""
    import json
    from urllib.parse import unquote

    if isinstance(document, str):
        document = json.loads(unquote(document))
    found: list[str] = []
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        services = statement.get("Principal", {}).get("Service", [])
        found += [services] if isinstance(services, str) else services
    return tuple(found)


def policies_allow(documents: list[Any], action: str, resource: str) -> bool:
    """IAM's evaluation over identity policies alone: some Allow matches and no Deny does
    (`*` and `?` are wildcards in actions, case-insensitive, and in resources)."""
    verdicts = {
        str(statement.get("Effect"))
        for statement in _statements(documents)
        if _matches(statement.get("Action", []), action.lower(), lower=True)
        and _matches(statement.get("Resource", []), resource, lower=False)
    }
    return "Allow" in verdicts and "Deny" not in verdicts


def _statements(documents: list[Any]) -> list[dict[str, Any]]:
    import json
    from urllib.parse import unquote

    found: list[dict[str, Any]] = []
    for document in documents:
        if isinstance(document, str):
            document = json.loads(unquote(document))
        statements = document.get("Statement", [])
        found += [statements] if isinstance(statements, dict) else statements
    return found


def _matches(patterns: Any, value: str, *, lower: bool) -> bool:
    from fnmatch import fnmatchcase

    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatchcase(value, p.lower() if lower else p) for p in patterns)


def canonical_role_arn(arn: str) -> str:
    """The ARN with the role name AWS documents: moto spells it AWSServiceRoleForecs."""
    path, _, name = arn.rpartition("/")
    return f"{path}/{ECS_ROLE_NAME}" if name.lower() == ECS_ROLE_NAME.lower() else arn


def _already_exists(exc: Exception) -> bool:
    code = error_code(exc)
    if code == ENTITY_ALREADY_EXISTS:
        return True
    return code == INVALID_INPUT and "has been taken in this account" in error_message(exc)


def _denied(permission: str, verb: str, service: str, exc: Exception) -> PermissionMissing:
    role_arn = f"arn:aws:iam::*:role{service_role_path(service)}*"
    return PermissionMissing(
        f"missing IAM permission {permission}: AWS denied the request to {verb} the "
        f"service-linked role of {service} ({error_message(exc)})",
        f"ask your administrator to allow {permission} on {role_arn}, or have them run "
        f"`aws iam create-service-linked-role --aws-service-name {service}` once",
    )
