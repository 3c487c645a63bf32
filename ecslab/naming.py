"""Every AWS name ecslab uses, derived from the project name and the environment.

The template builds the same names with `!Sub`; tests check the two agree. Keeping them
here lets validation prove, before any AWS call, that every derived name is legal.
"""

from __future__ import annotations

from dataclasses import dataclass

# The longest suffix appended to "{project}-{env}" in a name with a 32-character limit
# (Application Load Balancer and target group names).
ALB_SUFFIX = "-alb"
TARGET_GROUP_SUFFIX = "-tg"
NAME_LIMIT_32 = 32


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

    @property
    def load_balancer(self) -> str:
        return f"{self.prefix}{ALB_SUFFIX}"

    @property
    def target_group(self) -> str:
        return f"{self.prefix}{TARGET_GROUP_SUFFIX}"


def max_prefix_length() -> int:
    """The longest "{project}-{env}" that keeps every 32-character name legal."""
    return NAME_LIMIT_32 - max(len(ALB_SUFFIX), len(TARGET_GROUP_SUFFIX))
