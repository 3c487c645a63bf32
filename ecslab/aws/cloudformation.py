"""CloudFormation: reading stacks (and, in the deploy steps, change sets and events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ecslab.aws.session import aws_errors, error_code, error_message

if TYPE_CHECKING:
    from ecslab.aws.session import Aws


@dataclass(frozen=True)
class Stack:
    """What ecslab needs to know of a stack."""

    name: str
    stack_id: str
    status: str
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def describe_stack(aws: Aws, name: str) -> Stack | None:
    """The stack called `name`, or None when there is none."""
    client = aws.client("cloudformation")
    from botocore.exceptions import ClientError

    with aws_errors(f"read stack {name}"):
        try:
            response = client.describe_stacks(StackName=name)
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
                return None
            raise
    raw = response["Stacks"][0]
    return Stack(
        name=raw["StackName"],
        stack_id=raw["StackId"],
        status=raw["StackStatus"],
        reason=raw.get("StackStatusReason", ""),
        outputs={o["OutputKey"]: o["OutputValue"] for o in raw.get("Outputs", [])},
        parameters={
            p["ParameterKey"]: p.get("ParameterValue", "") for p in raw.get("Parameters", [])
        },
        tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
    )
