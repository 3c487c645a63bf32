"""The lab's steps, in the order the lab runs them.

This list is all `run-all` is. Each step lives in its own module exposing
`build(app) -> Step`; modules are imported only when a step runs, so `--help` stays fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecslab.core.errors import UsageError

if TYPE_CHECKING:
    from ecslab.lab.context import Context
    from ecslab.steps.base import Step


@dataclass(frozen=True)
class StepInfo:
    """What `--help` needs to know about a step, without importing it."""

    name: str
    summary: str
    lab_ref: str
    module: str
    read_only: bool = False  # changes nothing (verify): never counts as a planned change
    sandbox_only: bool = False  # runs only with --sandbox (moto runs no tasks; we do)


STEPS: tuple[StepInfo, ...] = (
    StepInfo(
        "service-linked-role",
        "Create the ECS service-linked role, once per account.",
        "lab step 2",
        "ecslab.steps.service_linked_role",
    ),
    StepInfo(
        "deploy-ecr",
        "Deploy the stack with only the ECR repository.",
        "lab steps 3-5",
        "ecslab.steps.deploy_ecr",
    ),
    StepInfo(
        "push-image",
        "Build the microsite image and push it to the ECR repository.",
        "lab step 6",
        "ecslab.steps.push_image",
    ),
    StepInfo(
        "deploy-service",
        "Deploy cluster, roles, logs, task definition, service, load balancer, autoscaling.",
        "lab steps 7-12",
        "ecslab.steps.deploy_service",
    ),
    StepInfo(
        "service-stable",
        "Wait until the service is stable (aws ecs wait services-stable), or say why not.",
        "lab step 12",
        "ecslab.steps.service_stable",
    ),
    StepInfo(
        "verify",
        "Check that the load balancer URL answers with data from the database.",
        "lab step 13",
        "ecslab.steps.verify",
        read_only=True,
    ),
)
STEP_NAMES = tuple(info.name for info in STEPS)


def step_info(name: str) -> StepInfo:
    for info in STEPS:
        if info.name == name:
            return info
    raise UsageError(f"unknown step '{name}'", f"steps, in order: {', '.join(STEP_NAMES)}")


def steps_from(name: str | None) -> tuple[StepInfo, ...]:
    """The steps from `name` on (all of them when `name` is None)."""
    if name is None:
        return STEPS
    start = STEPS.index(step_info(name))
    return STEPS[start:]


def for_mode(steps: tuple[StepInfo, ...], sandbox: bool) -> tuple[StepInfo, ...]:
    """`steps` without the sandbox-only ones, unless running in the sandbox."""
    return tuple(info for info in steps if sandbox or not info.sandbox_only)


def load_step(info: StepInfo, app: Context) -> Step:
    module = importlib.import_module(info.module)
    step: Step = module.build(app)
    return step
