"""Option groups shared by several commands, defined once.

Each option's destination is a config key, so `with_app` folds it into the one
precedence order (flag > ECSLAB_* env > ecslab.yaml > default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ecslab.core.facts import PLATFORMS

F = TypeVar("F", bound=Callable[..., Any])

_LAB_OPTIONS = (
    click.option(
        "--cpu",
        "fargate_cpu",
        type=int,
        metavar="UNITS",
        help="Fargate task CPU units: 256, 512, 1024, ... [default: 256].",
    ),
    click.option(
        "--memory",
        "fargate_memory",
        type=int,
        metavar="MIB",
        help="Fargate task memory in MiB, valid for --cpu [default: 512].",
    ),
    click.option(
        "--image-tag", metavar="TAG", help="Image tag to push and deploy [default: git short SHA]."
    ),
    click.option("--db-host", metavar="HOST", help="Database host the tasks connect to."),
    click.option("--db-user", metavar="USER", help="Database user [default: microsite]."),
    click.option("--db-name", metavar="NAME", help="Database name [default: microsite]."),
    click.option("--vpc-id", metavar="VPC", help="VPC [default: the account's default VPC]."),
    click.option(
        "--subnet-ids",
        metavar="A,B",
        help="Two or more subnets in different AZs [default: from the VPC].",
    ),
    click.option(
        "--platform",
        type=click.Choice(PLATFORMS),
        help="Image platform [default: linux/amd64, what Fargate runs].",
    ),
    click.option(
        "--registry",
        metavar="HOST:PORT",
        help="Push to this registry instead of ECR's (a local stand-in).",
    ),
    click.option(
        "--template",
        metavar="PATH",
        help="CloudFormation template [default: templates/worshop-ecs.yaml].",
    ),
)

_TIMEOUT = click.option(
    "--timeout",
    metavar="DURATION",
    help="Give up after this long without progress, e.g. 90s, 10m, 1h "
    "[default: 30m for deploys, 10m for verify].",
)


def lab_options(func: F) -> F:
    """The settings the lab's steps use, as flags."""
    for option in reversed(_LAB_OPTIONS):
        func = option(func)
    return func


def timeout_option(func: F) -> F:
    return _TIMEOUT(func)


def yes_option(func: F) -> F:
    """`--yes` after the command too (`ecslab run-all --yes`): the same setting as the
    global flag."""
    return click.option(
        "--yes",
        "-y",
        "yes",
        is_flag=True,
        default=None,
        help="Answer yes to confirmations; never prompt.",
    )(func)


def dry_run_option(func: F) -> F:
    return click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")(
        func
    )
