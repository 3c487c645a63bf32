"""Every AWS name ecslab uses, derived from the project name and the environment.

The template builds the same names with `!Sub`; tests check the two agree. Keeping them
here lets validation prove, before any AWS call, that every derived name is legal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The suffix appended to "{project}-{env}" in the one name with a 32-character limit, the
# Application Load Balancer's. The target group has no name of ecslab's: CloudFormation
# names it, so that a new container port can replace it (a custom-named resource cannot
# be replaced); ecslab finds it as the stack's TargetGroup resource (TARGET_GROUP_ID).
ALB_SUFFIX = "-alb"
NAME_LIMIT_32 = 32
TARGET_GROUP_ID = "TargetGroup"
TASK_SECURITY_GROUP_ID = "TaskSecurityGroup"


@dataclass(frozen=True)
class Names:
    """The names of one deployment (project + environment)."""

    project: str
    environment: str

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.environment}"

    @property
    def stack(self) -> str:
        return self.prefix

    @property
    def repository(self) -> str:
        return f"{self.prefix}-microservice"

    @property
    def cluster(self) -> str:
        return f"{self.prefix}-cluster"

    @property
    def service(self) -> str:
        return f"{self.prefix}-microservice"

    @property
    def task_family(self) -> str:
        return f"{self.prefix}-microservice"

    @property
    def container(self) -> str:
        return f"{self.prefix}-microservice"

    @property
    def log_group(self) -> str:
        return f"{self.prefix}-microservice"

    def log_stream(self, task_id: str = "") -> str:
        """The awslogs stream of a task (the template's stream prefix is the stack name);
        with no id, the prefix every task's stream starts with."""
        return awslogs_stream(self.stack, self.container, task_id)

    @property
    def load_balancer(self) -> str:
        return f"{self.prefix}{ALB_SUFFIX}"


def max_prefix_length() -> int:
    """The longest "{project}-{env}" that keeps every 32-character name legal."""
    return NAME_LIMIT_32 - len(ALB_SUFFIX)


@dataclass(frozen=True)
class Deployed:
    """Where the lab's resources are: the stack's outputs where it has them, else the rule.

    The one answer to "which cluster, service, repository, log group?" for every reader:
    a deployed stack's outputs are the truth (a template may name things otherwise), and
    before the stack exists (or in phase 1) the naming rule says what it will create.
    """

    cluster: str
    service: str
    repository: str
    repository_uri: str | None
    log_group: str
    load_balancer_url: str | None


def deployed(names: Names, outputs: Mapping[str, str] | None) -> Deployed:
    """The resources' names from a stack's `outputs` (None: no stack), else `names`."""
    found = outputs or {}
    return Deployed(
        cluster=found.get("ClusterName") or names.cluster,
        service=found.get("ServiceName") or names.service,
        repository=found.get("RepositoryName") or names.repository,
        repository_uri=found.get("RepositoryUri") or None,
        log_group=found.get("LogGroupName") or names.log_group,
        load_balancer_url=found.get("LoadBalancerUrl") or None,
    )


def awslogs_stream(prefix: str, container: str, task_id: str = "") -> str:
    """The stream the awslogs log driver writes a Fargate task's container to:
    `prefix/container/task-id` (awslogs-stream-prefix, the container's name, the task's id)."""
    return f"{prefix}/{container}/{task_id}"
