"""Option groups shared by several commands, defined once.

Each option's destination is a config key, so `with_app` folds it into the one
precedence order (flag > ECSLAB_* env > ecslab.yaml > default). Every setting flag is made
by `setting_option` from the setting's declaration in ecslab/core/config.py, so its help
states the real default and environment variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ecslab.core.config import SETTINGS_BY_KEY

F = TypeVar("F", bound=Callable[..., Any])


def setting_option(key: str) -> Callable[[F], F]:
    """The flag of a setting, all of it from its one declaration in ecslab/core/config.py:
    spellings, destination, type or choices, and help with the default and env vars."""
    setting = SETTINGS_BY_KEY[key]
    kwargs: dict[str, Any] = {"help": setting.help_text(), "metavar": setting.metavar}
    if setting.kind == "bool":
        kwargs.update(is_flag=True, default=None)  # None: not given, so env and file count
    elif setting.choices:
        kwargs["type"] = click.Choice(setting.choices)
    elif setting.kind == "int":
        kwargs["type"] = int
    return click.option(*setting.flags, key, **kwargs)


# The settings the lab's steps use, in --help's order.
LAB_SETTINGS = (
    "fargate_cpu",
    "fargate_memory",
    "image_tag",
    "db_host",
    "db_user",
    "db_name",
    "vpc_id",
    "subnet_ids",
    "platform",
    "registry",
    "template",
)
# The root command's: before the command (`ecslab --region X status`).
ROOT_SETTINGS = (
    "profile",
    "region",
    "endpoint_url",
    "project_name",
    "environment",
    "output",
    "yes",
    "debug",
    "no_color",
    "sandbox",
)


def _with(keys: tuple[str, ...], func: F) -> F:
    for key in reversed(keys):
        func = setting_option(key)(func)
    return func


def root_options(func: F) -> F:
    """The settings the root command takes, as flags."""
    return _with(ROOT_SETTINGS, func)


def lab_options(func: F) -> F:
    """The settings the lab's steps use, as flags."""
    return _with(LAB_SETTINGS, func)


def timeout_option(func: F) -> F:
    return setting_option("timeout")(func)


def yes_option(func: F) -> F:
    """`--yes` after the command too (`ecslab run-all --yes`): the same setting as the
    global flag."""
    return setting_option("yes")(func)


def verify_url_option(func: F) -> F:
    return setting_option("verify_url")(func)


def dry_run_option(func: F) -> F:
    return click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")(
        func
    )
