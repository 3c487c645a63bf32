"""CloudFormation: stacks, their templates, change sets and events.

`describe_stack` is the one way to read a stack's status, outputs and parameters. The
`CloudFormation` class adds what the deploy engine (ecslab/deploy.py) needs: change sets
(always with an explicit ChangeSetType, since moto and AWS default differently), new stack
events since a marker, and the resources that block a deletion. Throttling during polling
is raised as `Throttled`, so a waiting loop can poll again instead of failing a deploy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.session import aws_errors, error_code, error_message
from ecslab.errors import AwsError

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
    """The stack called `name` (or with that stack id), or None when there is none."""
    client = aws.client("cloudformation")
    from botocore.exceptions import ClientError

    with aws_errors(f"read stack {name}"), _throttling():
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
        outputs={o["OutputKey"]: o["OutputValue"] for o in raw.get("Outputs", None) or []},
        parameters={
            p["ParameterKey"]: p.get("ParameterValue", "") for p in raw.get("Parameters", [])
        },
        tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
    )


# --- states -----------------------------------------------------------------------------

# A new change set cannot be made for these; they must be deleted and created again.
RECREATE_STATES = frozenset({"ROLLBACK_COMPLETE", "CREATE_FAILED", "REVIEW_IN_PROGRESS"})
# Settled states in which a stack can take a change set of type UPDATE.
UPDATABLE_STATES = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
# A deploy that ends in one of these did what was asked.
SUCCESS_STATES = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
)


def in_progress(status: str) -> bool:
    """Still changing: CloudFormation accepts no new change until it settles."""
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def failed(status: str) -> bool:
    """Settled, but not as asked: failed, or rolled back."""
    return status.endswith("_FAILED") or ("ROLLBACK" in status and status.endswith("_COMPLETE"))


_THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


class Throttled(AwsError):
    """AWS still throttled a call after botocore's own retries; the caller may try later."""


@contextmanager
def _throttling() -> Iterator[None]:
    """Inside `aws_errors`: turn a throttling ClientError into `Throttled`."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        if error_code(exc) in _THROTTLING:
            raise Throttled(
                f"AWS is throttling {getattr(exc, 'operation_name', 'calls')}: "
                f"{error_message(exc)}",
                "wait a minute and run the command again",
            ) from exc
        raise


# --- change sets and events ---------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    """One row of a change set: what CloudFormation will do to one resource."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""


@dataclass(frozen=True)
class ChangeSet:
    change_set_id: str
    stack_id: str
    status: str
    execution_status: str
    reason: str
    changes: tuple[ResourceChange, ...] = ()

    @property
    def settled(self) -> bool:
        return self.status in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE", "DELETE_FAILED")

    @property
    def no_changes(self) -> bool:
        return self.status == "FAILED" and is_no_changes_message(self.reason)


def is_no_changes_message(message: str) -> bool:
    """AWS's (and moto's) ways of saying a change set would change nothing."""
    lowered = message.lower()
    return "didn't contain changes" in lowered or "no updates are to be performed" in lowered


class NoChanges(Exception):
    """CreateChangeSet itself answered that nothing would change (moto does; AWS may)."""


@dataclass(frozen=True)
class StackEvent:
    event_id: str
    timestamp: datetime | None
    logical_id: str
    resource_type: str
    status: str
    reason: str


@dataclass(frozen=True)
class FailedResource:
    logical_id: str
    resource_type: str
    physical_id: str
    status: str
    reason: str


class CloudFormation:
    """Typed calls to CloudFormation for the deploy engine and `destroy`."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @property
    def _client(self) -> Any:
        return self._aws.client("cloudformation")

    def describe(self, name_or_id: str) -> Stack | None:
        return describe_stack(self._aws, name_or_id)

    def template(self, name_or_id: str) -> dict[str, Any] | None:
        """The deployed template as data (JSON bodies only; None if not JSON or absent)."""
        with aws_errors(f"read the template of stack {name_or_id}"):
            body = self._client.get_template(StackName=name_or_id)["TemplateBody"]
        try:
            # boto3 decodes JSON bodies itself (to an OrderedDict); make plain data of it.
            parsed = json.loads(json.dumps(body) if isinstance(body, Mapping) else body)
        except ValueError:
            return None
        return dict(parsed) if isinstance(parsed, dict) else None

    def create_change_set(
        self,
        stack: str,
        name: str,
        *,
        change_set_type: str,
        body: str,
        parameters: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> ChangeSet:
        """Ask for a change set; raises NoChanges when AWS says at once nothing changes."""
        from botocore.exceptions import ClientError

        with aws_errors(f"create a change set for stack {stack}"):
            try:
                response = self._client.create_change_set(
                    StackName=stack,
                    ChangeSetName=name,
                    ChangeSetType=change_set_type,
                    TemplateBody=body,
                    Parameters=[
                        {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                    ],
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                    Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                    Description="ecslab deploy",
                )
            except ClientError as exc:
                if is_no_changes_message(error_message(exc)):
                    raise NoChanges(error_message(exc)) from exc
                raise
        return ChangeSet(response["Id"], response["StackId"], "CREATE_PENDING", "", "")

    def describe_change_set(self, change_set_id: str) -> ChangeSet:
        """The change set with all its changes (every page)."""
        changes: list[ResourceChange] = []
        kwargs: dict[str, Any] = {"ChangeSetName": change_set_id}
        with aws_errors("read a change set"), _throttling():
            while True:
                raw = self._client.describe_change_set(**kwargs)
                changes.extend(_resource_change(c) for c in raw.get("Changes", []))
                if not raw.get("NextToken"):
                    break
                kwargs["NextToken"] = raw["NextToken"]
        return ChangeSet(
            change_set_id=raw["ChangeSetId"],
            stack_id=raw["StackId"],
            status=raw["Status"],
            execution_status=raw.get("ExecutionStatus", ""),
            reason=raw.get("StatusReason", "") or "",
            changes=tuple(changes),
        )

    def execute_change_set(self, change_set_id: str) -> None:
        with aws_errors("execute the change set"):
            self._client.execute_change_set(ChangeSetName=change_set_id)

    def delete_change_set(self, change_set_id: str) -> None:
        with aws_errors("delete the change set"):
            self._client.delete_change_set(ChangeSetName=change_set_id)

    def delete_stack(self, name_or_id: str) -> None:
        with aws_errors(f"delete stack {name_or_id}"):
            self._client.delete_stack(StackName=name_or_id)

    def continue_update_rollback(self, name_or_id: str) -> None:
        with aws_errors(f"continue the rollback of stack {name_or_id}"):
            self._client.continue_update_rollback(StackName=name_or_id)

    def latest_event_id(self, stack_id: str) -> str | None:
        """The newest event's id: the marker after which events are new."""
        with aws_errors("read stack events"), _throttling():
            events = self._client.describe_stack_events(StackName=stack_id)["StackEvents"]
        return str(events[0]["EventId"]) if events else None

    def events_since(self, stack_id: str, marker: str | None) -> list[StackEvent]:
        """Events newer than `marker`, oldest first (all events when marker is None)."""
        found: list[StackEvent] = []
        kwargs: dict[str, Any] = {"StackName": stack_id}
        with aws_errors("read stack events"), _throttling():
            while True:
                page = self._client.describe_stack_events(**kwargs)
                for raw in page["StackEvents"]:  # newest first
                    if raw["EventId"] == marker:
                        return found[::-1]
                    found.append(_stack_event(raw))
                if not page.get("NextToken"):
                    return found[::-1]
                kwargs["NextToken"] = page["NextToken"]

    def failed_resources(self, stack_id: str) -> list[FailedResource]:
        """Resources whose last operation failed (what blocks a deletion, for one)."""
        found: list[FailedResource] = []
        kwargs: dict[str, Any] = {"StackName": stack_id}
        with aws_errors("list the stack's resources"):
            while True:
                page = self._client.list_stack_resources(**kwargs)
                for raw in page["StackResourceSummaries"]:
                    if raw["ResourceStatus"].endswith("_FAILED"):
                        found.append(
                            FailedResource(
                                logical_id=raw["LogicalResourceId"],
                                resource_type=raw["ResourceType"],
                                physical_id=raw.get("PhysicalResourceId", ""),
                                status=raw["ResourceStatus"],
                                reason=raw.get("ResourceStatusReason", ""),
                            )
                        )
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]


def _resource_change(raw: Mapping[str, Any]) -> ResourceChange:
    change = raw.get("ResourceChange", {})
    return ResourceChange(
        action=change.get("Action", ""),
        logical_id=change.get("LogicalResourceId", ""),
        resource_type=change.get("ResourceType", ""),
        replacement=change.get("Replacement", "") or "",
    )


def _stack_event(raw: Mapping[str, Any]) -> StackEvent:
    return StackEvent(
        event_id=str(raw["EventId"]),
        timestamp=raw.get("Timestamp"),
        logical_id=raw.get("LogicalResourceId", ""),
        resource_type=raw.get("ResourceType", ""),
        status=raw.get("ResourceStatus", ""),
        reason=raw.get("ResourceStatusReason", "") or "",
    )
