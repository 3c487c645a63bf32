"""The one network rule a real first deploy needs and the template cannot make.

The tasks reach the database from their own security group (the stack's
TaskSecurityGroupId output); the database's security group must admit that group on the
database port. It belongs to the database, not to the stack (docs/template.md says why),
so ecslab checks it and prints the exact `aws ec2 authorize-security-group-ingress` to run:
the database's group comes from RDS when `db_host` is an RDS endpoint, else the command
names where it goes.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecslab.core.naming import TASK_SECURITY_GROUP_ID

if TYPE_CHECKING:
    from ecslab.aws.cloudformation import Stack
    from ecslab.lab.context import Context

TASK_GROUP_OUTPUT = "TaskSecurityGroupId"
DB_GROUP_PLACEHOLDER = "<the database's security group id>"


@dataclass(frozen=True)
class DbAccess:
    """The tasks' group, the database's groups (when known) and whether they admit it."""

    task_group: str
    db_groups: tuple[str, ...]
    port: int
    admitted: tuple[str, ...]  # those of db_groups that already let the tasks in
    region: str

    @property
    def open(self) -> bool:
        return bool(self.admitted)

    def commands(self) -> list[str]:
        """One command per database group (one with a placeholder when none is known)."""
        return [self._command(group) for group in self.db_groups or (DB_GROUP_PLACEHOLDER,)]

    def _command(self, group: str) -> str:
        shown = group if group == DB_GROUP_PLACEHOLDER else shlex.quote(group)
        return (
            f"aws ec2 authorize-security-group-ingress --region {shlex.quote(self.region)} "
            f"--group-id {shown} --protocol tcp --port {self.port} "
            f"--source-group {shlex.quote(self.task_group)}"
        )

    def advice(self) -> str:
        """One sentence: it is open, or what to run."""
        if self.open:
            return (
                f"the database's security group {', '.join(self.admitted)} admits the tasks "
                f"({self.task_group}) on port {self.port}"
            )
        where = (
            ""
            if self.db_groups
            else " (the group is on the database's Connectivity & security page)"
        )
        return (
            f"the database's security group must admit the tasks' group {self.task_group} "
            f"on port {self.port}{where}: run `{'` and `'.join(self.commands())}`"
        )


def db_access(app: Context, stack: Stack) -> DbAccess | None:
    """What the database's security group must allow; None in the sandbox, or before the
    stack has a task security group."""
    if app.config.sandbox:
        return None  # the sandbox's PostgreSQL listens on loopback: no security group
    task_group = stack.outputs.get(TASK_GROUP_OUTPUT) or app.aws.cloudformation.resource_id(
        stack.stack_id, TASK_SECURITY_GROUP_ID
    )
    if not task_group:
        return None
    host = stack.parameters.get("DbHost") or app.config.db_host or ""
    port = int(stack.parameters.get("DbPort") or app.config.db_port)
    db_groups = app.aws.rds.security_groups_of(host) or ()
    ec2 = app.aws.ec2
    admitted = tuple(g for g in db_groups if ec2.admits(g, task_group, port))
    return DbAccess(task_group, db_groups, port, admitted, app.aws.region)
