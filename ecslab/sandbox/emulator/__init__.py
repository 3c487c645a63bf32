"""The sandbox's AWS, beyond what moto stores: the control loops that make it behave.

moto answers the AWS API but runs nothing: no task is scheduled, no alarm evaluated, no
policy executed, and stack operations finish inside the request. The sandbox's moto server
process (`python -m ecslab.sandbox serve-moto`) therefore also runs, next to moto's HTTP
server and with direct access to its backends, one *area* per AWS behaviour it emulates.

An area is a module in this package listed in `AREAS`. It exposes
`start(context: EmulatorContext) -> Callable[[], None]`: install its patches into moto,
start its threads, and return a function that stops them (called once, at SIGTERM, in the
reverse order of `AREAS`). An area must be safe to start when its peers (Docker, for
instance) are absent: it then does nothing and says so once on stderr.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Modules of this package started in this order; each is `ecslab.sandbox.emulator.<name>`.
AREAS: tuple[str, ...] = (
    "ecs_scheduler",
    "ecs_deployments_api",
    "cloudformation",
    "scaling",
    "alarms",
    "metrics",
    "elb_metrics",
)


@dataclass(frozen=True)
class EmulatorContext:
    """What every area may use. Nothing here is a secret except through `state_dir` files."""

    endpoint_url: str  # moto's own URL on 127.0.0.1, for clients such as Docker's awslogs
    region: str
    state_dir: Path | None  # the sandbox's state folder (None in tests that need none)
    docker_host: str | None  # the sandbox's Docker engine (None: areas that need it idle)
    # Sandbox seconds per real second: 1.0 is AWS's pace; 10.0 makes a 60 s alarm period
    # pass in 6 s. Areas that show times say which scale they run on.
    time_scale: float = 1.0


def start_areas(context: EmulatorContext, areas: tuple[str, ...] = AREAS) -> Callable[[], None]:
    """Start every area in order; the returned function stops them in reverse order."""
    stops: list[Callable[[], None]] = []
    try:
        for name in areas:
            module = importlib.import_module(f"{__name__}.{name}")
            stops.append(module.start(context))
    except BaseException:
        _stop_all(stops)
        raise

    def stop() -> None:
        _stop_all(stops)

    return stop


def _stop_all(stops: list[Callable[[], None]]) -> None:
    for stop in reversed(stops):
        stop()
