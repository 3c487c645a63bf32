"""AWS::SecretsManager::Secret in the sandbox's CloudFormation: a real secret, its ARN as Ref.

moto's CloudFormation does not know the type: it skips the resource, so `!Ref` of it is
empty and a task definition's `Secrets: [{ValueFrom: !Ref Secret}]` loses its valueFrom.
DescribeTaskDefinition then answers a secret AWS never shows (name without valueFrom), and
a client that registers a new revision from it (ecs-deploy does) is refused by botocore.
Here the type makes a secret in moto's Secrets Manager with the template's SecretString
(Name, or a generated `stack-logical-random` name as CloudFormation does), Ref is its ARN,
an update stores a new SecretString version, and deleting the stack deletes the secret
at once (no recovery window: the stack is gone).
"""

from __future__ import annotations

from typing import Any

from ecslab.sandbox.moto_seam import PatchSet

TYPE = "AWS::SecretsManager::Secret"


class SecretResource:
    """What moto's CloudFormation keeps for the resource: the secret's ARN."""

    def __init__(self, arn: str, account_id: str, region_name: str) -> None:
        self.arn = arn
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute: str) -> str:
        if attribute in ("Id", "Arn"):
            return self.arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _backend(account_id: str, region_name: str) -> Any:
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[account_id][region_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecretResource:
        properties = cloudformation_json.get("Properties", {})
        created = cls._backend(account_id, region_name).create_secret(
            name=str(properties.get("Name") or resource_name),
            secret_string=properties.get("SecretString"),
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags"),
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(str(_arn_of(created)), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SecretResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecretResource:
        value = cloudformation_json.get("Properties", {}).get("SecretString")
        if value is not None:
            cls._backend(account_id, region_name).put_secret_value(
                original_resource.arn, value, None, None, ["AWSCURRENT"]
            )
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls._backend(account_id, region_name).delete_secret(resource_name, None, True)

    def delete(self, account_id: str, region_name: str) -> None:
        self._backend(account_id, region_name).delete_secret(self.arn, None, True)


def _arn_of(created: Any) -> str:
    """moto's create_secret answers a JSON string or a dict, with the secret's ARN."""
    if isinstance(created, str):
        import json

        created = json.loads(created)
    return str(created["ARN"])


def _resource_class_from_type(original: Any) -> Any:
    def resource_class_from_type(resource_type: str) -> Any:
        return SecretResource if resource_type == TYPE else original(resource_type)

    return resource_class_from_type


def build(patches: PatchSet) -> None:
    from moto.cloudformation import parsing

    patches.replace(
        parsing,
        "resource_class_from_type",
        _resource_class_from_type,
        params=("resource_type",),
        why="moto's CloudFormation skips AWS::SecretsManager::Secret, so !Ref of it is empty",
        moto_bug="CloudFormation: AWS::SecretsManager::Secret is not supported (Ref is None)",
    )
