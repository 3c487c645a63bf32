"""CloudFormation: stacks, their templates, change sets and events.

`CloudFormation.describe` is the one way to read a stack's status, outputs and parameters.
One instance serves a whole run (`Aws.cloudformation`) and remembers what it read: a stack
and its template are read once, however many steps ask, until a call through this object
changes the stack (every write forgets what was read) or a waiting loop asks for a
`fresh` answer. The class also has what the deploy engine (ecslab/lab/deploy.py) needs:
change sets (always with an explicit ChangeSetType, since moto and AWS default
differently), new stack events since a marker, and the resources that block a deletion.
Throttling, here as in every wrapper, is raised as `Throttled` (ecslab/aws/errors.py), so a
waiting loop can poll again instead of failing a deploy.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.errors import VALIDATION_ERROR, error_code, error_message
from ecslab.aws.session import aws_errors

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


def _describe_stack(client: Any, name: str) -> Stack | None:
    """The stack called `name` (or with that stack id), or None when there is none."""
    from botocore.exceptions import ClientError

    with aws_errors(f"read stack {name}"):
        try:
            response = client.describe_stacks(StackName=name)
        except ClientError as exc:
            if _stack_missing(exc):
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


# The resource type of a stack's own events (its LogicalResourceId is the stack's name).
STACK_TYPE = "AWS::CloudFormation::Stack"

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


# Settled without a working deployment, by AWS's stack status codes: the create failed or
# rolled back, a rollback could not finish (UPDATE_ROLLBACK_FAILED: "unsuccessful return
# ... to a previous working state"), or a delete failed. Nothing here is worth probing.
BROKEN_STATES = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "UPDATE_ROLLBACK_FAILED",
        "DELETE_FAILED",
    }
)


def in_progress(status: str) -> bool:
    """Still changing: CloudFormation accepts no new change until it settles."""
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def failed(status: str) -> bool:
    """The last operation settled, but not as asked: it failed, or it was rolled back.

    Not the same as `BROKEN_STATES`: after UPDATE_ROLLBACK_COMPLETE the update failed, but
    the stack is back on its previous, working deployment.
    """
    return status.endswith("_FAILED") or ("ROLLBACK" in status and status.endswith("_COMPLETE"))


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
    """Typed calls to CloudFormation, with the run's reads remembered (module docstring)."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws
        self._stacks: dict[str, Stack | None] = {}
        self._templates: dict[str, dict[str, Any] | None] = {}

    @property
    def _client(self) -> Any:
        return self._aws.client("cloudformation")

    def describe(self, name_or_id: str, *, fresh: bool = False) -> Stack | None:
        """The stack (by name or id), None when there is none; `fresh` asks AWS again."""
        if fresh or name_or_id not in self._stacks:
            stack = _describe_stack(self._client, name_or_id)
            self._stacks[name_or_id] = stack
            if stack is not None:
                self._stacks[stack.name] = self._stacks[stack.stack_id] = stack
        return self._stacks[name_or_id]

    def template(self, name_or_id: str) -> dict[str, Any] | None:
        """The deployed template as data (JSON bodies only; None if not JSON or absent)."""
        if name_or_id not in self._templates:
            self._templates[name_or_id] = self._read_template(name_or_id)
        found = self._templates[name_or_id]
        return copy.deepcopy(found) if found is not None else None

    def forget(self) -> None:
        """Drop what was read: the next read asks AWS (after any change to a stack)."""
        self._stacks.clear()
        self._templates.clear()

    def resource_id(self, stack: str, logical_id: str) -> str | None:
        """The physical id of the stack's resource `logical_id` (for a target group, its ARN).

        How ecslab finds what CloudFormation names itself; None when the stack or the
        resource does not exist (yet). ListStackResources rather than DescribeStackResource,
        which moto answers with HTTP 500 for a stack holding a resource type it skips.
        """
        from botocore.exceptions import ClientError

        pages = self._client.get_paginator("list_stack_resources").paginate(StackName=stack)
        with aws_errors(f"read resource {logical_id} of stack {stack}"):
            try:
                for page in pages:
                    for raw in page.get("StackResourceSummaries", []):
                        if raw.get("LogicalResourceId") == logical_id:
                            return str(raw.get("PhysicalResourceId") or "") or None
            except ClientError as exc:
                if _stack_missing(exc):
                    return None
                raise
        return None

    def _read_template(self, name_or_id: str) -> dict[str, Any] | None:
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

        self.forget()  # a CREATE change set makes a REVIEW_IN_PROGRESS stack

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
        with aws_errors("read a change set"):
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
        self.forget()
        with aws_errors("execute the change set"):
            self._client.execute_change_set(
                ChangeSetName=change_set_id, ClientRequestToken=request_token()
            )

    def delete_change_set(self, change_set_id: str) -> None:
        with aws_errors("delete the change set"):
            self._client.delete_change_set(ChangeSetName=change_set_id)

    def delete_stack(self, name_or_id: str) -> None:
        self.forget()
        with aws_errors(f"delete stack {name_or_id}"):
            self._client.delete_stack(StackName=name_or_id, ClientRequestToken=request_token())

    def continue_update_rollback(self, name_or_id: str) -> None:
        self.forget()
        with aws_errors(f"continue the rollback of stack {name_or_id}"):
            self._client.continue_update_rollback(
                StackName=name_or_id, ClientRequestToken=request_token()
            )

    def latest_event_id(self, stack_id: str) -> str | None:
        """The newest event's id: the marker after which events are new."""
        with aws_errors("read stack events"):
            events = self._client.describe_stack_events(StackName=stack_id)["StackEvents"]
        return str(events[0]["EventId"]) if events else None

    def events_since(self, stack_id: str, marker: str | None) -> list[StackEvent]:
        """Events newer than `marker`, oldest first (all events when marker is None)."""
        found: list[StackEvent] = []
        kwargs: dict[str, Any] = {"StackName": stack_id}
        with aws_errors("read stack events"):
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


def request_token() -> str:
    """A ClientRequestToken for one operation: CloudFormation writes it on every event the
    operation causes (so they can be told apart), and botocore's retries of the same call
    reuse it, which makes them idempotent."""
    return f"ecslab-{uuid.uuid4()}"


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


def first_failure(events: Sequence[StackEvent]) -> StackEvent | None:
    """The root cause of a failed operation: the first resource that failed.

    `events` oldest first. Resources that only failed because another one did ("Resource
    creation cancelled") are skipped, and so is the stack's own event, unless nothing else
    failed.
    """
    failures = [e for e in events if e.status.endswith("_FAILED")]
    resources = [e for e in failures if e.resource_type != STACK_TYPE]
    candidates = resources or failures
    for event in candidates:
        if "cancelled" not in event.reason.lower():
            return event
    return candidates[0] if candidates else None


def _stack_missing(exc: Exception) -> bool:
    """CloudFormation's answer for a stack that does not exist: a ValidationError."""
    return error_code(exc) == VALIDATION_ERROR and "does not exist" in error_message(exc)
