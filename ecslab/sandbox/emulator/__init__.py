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

Every change to moto goes through `ecslab.sandbox.moto_seam`. An area that changes moto
also exposes `build_patches(patches: PatchSet) -> None`, which adds its patches to a set
with idle handlers and starts nothing; `start` installs the same patches, answering to
its running handlers. The order of the patches is decided here, in `install_all` and
`start_areas` only: first `moto_patch`'s fixes (once per process), then each area's
patches in the order of `AREAS`, so an area's wrapper calls the fix, which calls moto.
`python -m ecslab.sandbox list-patches` installs them all that way and prints them
(docs/sandbox.md's list of patches, which a test keeps equal to it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecslab.sandbox import moto_patch, moto_seam

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
    """The fixes, then every area in order; the returned function stops the areas in
    reverse order (the fixes stay, for the rest of the process)."""
    moto_patch.install_fixes()
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


def install_all() -> Callable[[], None]:
    """The fixes and every area's patches, in `start_areas`' order, with nothing started
    (for the list of patches); the returned function undoes the areas' patches."""
    moto_patch.install_fixes()
    undos: list[Callable[[], None]] = []
    try:
        for name in AREAS:
            build = getattr(importlib.import_module(f"{__name__}.{name}"), "build_patches", None)
            if build is not None:
                undos.append(moto_seam.install(name, build))
    except BaseException:
        _stop_all(undos)
        raise
    return lambda: _stop_all(undos)


def _stop_all(stops: list[Callable[[], None]]) -> None:
    for stop in reversed(stops):
        stop()
