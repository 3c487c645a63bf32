"""The one place the sandbox changes moto: every patch is made, checked, recorded and undone here.

The sandbox extends moto (5.2) where it differs from AWS or runs nothing (ECS tasks, alarm
evaluation, stack timing). Every such change goes through a `PatchSet`:

- `PatchSet.operation(service, action, make)` overrides one AWS API operation: moto's
  response handler for it (the method named after the action, snake_case) is replaced by
  `make(original)`, where `original` is moto's own handler (None when moto lacks the
  operation). This is the preferred kind: handle the operation, hand the rest to moto.
- `PatchSet.replace(owner, name, make, params=...)` replaces a method of one of moto's
  classes by `make(original)`, after checking that the method still has the parameters the
  replacement was written for, so a moto release that changes it is refused at install,
  not met as a wrong answer later.

Each patch says why it exists; a patch that works around a plain moto bug (moto would
agree with AWS if fixed) names it with `moto_bug=`, so it can be dropped once moto fixes
it (`MOTO_BUGS` lists them; docs/sandbox.md too). A moto version the sandbox has not been
tested with is refused before any patch goes in (`check_moto`), naming the supported one.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecslab.core.environment import installed_version
from ecslab.sandbox.errors import SandboxError

# The moto releases the whole test suite has passed on; pyproject's sandbox extra pins the
# same (tests/sandbox/test_moto_seam.py keeps the two in step).
SUPPORTED_MOTO: tuple[str, ...] = ("5.2.5",)
MOTO_REQUIREMENT = f"moto[server]=={SUPPORTED_MOTO[-1]}"

# AWS service name (as in an endpoint or a CLI command) -> moto's response class for it.
RESPONSES: dict[str, tuple[str, str]] = {
    "application-autoscaling": (
        "moto.applicationautoscaling.responses",
        "ApplicationAutoScalingResponse",
    ),
    "cloudformation": ("moto.cloudformation.responses", "CloudFormationResponse"),
    "cloudwatch": ("moto.cloudwatch.responses", "CloudWatchResponse"),
    "ecs": ("moto.ecs.responses", "EC2ContainerServiceResponse"),
    "elbv2": ("moto.elbv2.responses", "ELBV2Response"),
    "logs": ("moto.logs.responses", "LogsResponse"),
}

_MISSING = object()
_LOCK = threading.Lock()
_ONCE: set[str] = set()


class UnsupportedMotoError(SandboxError):
    """The installed moto is not a release the sandbox was tested with (exit 2)."""


@dataclass(frozen=True)
class Patch:
    """One change to moto, with what it replaced (`original` is None when it added)."""

    owner: Any
    name: str
    original: Any
    why: str
    moto_bug: str | None
    patch_set: str = ""  # the PatchSet's name
    action: str | None = None  # the AWS operation, for PatchSet.operation's patches

    @property
    def where(self) -> str:
        if isinstance(self.owner, type):
            return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.name}"
        return f"{qualname(self.owner)}.{self.name}"

    @property
    def changes(self) -> str:
        """What it changes, for a reader: the operation, or moto's class (or module) and name."""
        if self.action is not None:
            return f"operation {self.action} ({qualname(self.owner)})"
        if isinstance(self.owner, type):
            return f"`{self.owner.__qualname__}.{self.name}` ({self.owner.__module__})"
        return f"`{self.name}` ({qualname(self.owner)})"


def qualname(owner: Any) -> str:
    """How a patched owner is named: a class by its qualified name, a module by its name."""
    return str(getattr(owner, "__qualname__", None) or getattr(owner, "__name__", "?"))


# Every patch installed in this process, in order (the sandbox's docs and tests read it).
INSTALLED: list[Patch] = []


def moto_version() -> str | None:
    """The installed moto's release (None: no moto)."""
    return installed_version("moto")


def check_moto() -> None:
    """Refuse an installed moto the sandbox has not been tested with (exit 2, with the fix)."""
    check_version(moto_version())


def check_version(found: str | None) -> None:
    """Refuse moto release `found` (None: no moto) unless the sandbox was tested with it."""
    if found in SUPPORTED_MOTO:
        return
    tested = ", ".join(SUPPORTED_MOTO)
    raise UnsupportedMotoError(
        f"the sandbox needs moto {tested} (the release it is tested with); "
        f"this Python has {'no moto' if found is None else 'moto ' + found}",
        f"pip install '{MOTO_REQUIREMENT}' (or `bash install.sh`, which installs it)",
    )


def snake_case(action: str) -> str:
    """moto's handler name for an API action: `ListTasks` -> `list_tasks`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", action).lower()


def response_class(service: str) -> type:
    module, name = RESPONSES[service]
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def parameters(function: Any) -> tuple[str, ...]:
    """The parameter names of a function, method or classmethod as a caller passes them."""
    return tuple(inspect.signature(function).parameters)


@dataclass
class PatchSet:
    """Patches installed together and undone together: one emulator area, or a fix set."""

    name: str
    patches: list[Patch] = field(default_factory=list)

    def operation(
        self,
        service: str,
        action: str,
        make: Callable[[Any], Callable[..., Any]],
        *,
        why: str,
        moto_bug: str | None = None,
    ) -> None:
        """Answer `action` of `service` with `make(moto's handler or None)`."""
        owner = response_class(service)
        name = snake_case(action)
        original = getattr(owner, name, None)
        self._install(owner, name, make(original), why, moto_bug, f"{service}:{action}")

    def replace(
        self,
        owner: Any,  # a class of moto's, or one of its modules (for a module function)
        name: str,
        make: Callable[[Any], Any],
        *,
        params: tuple[str, ...],
        why: str,
        moto_bug: str | None = None,
    ) -> None:
        """Replace `owner.name` (moto's) by `make(original)`, if it still takes `params`."""
        original = getattr(owner, name, _MISSING)
        if original is _MISSING:
            raise UnsupportedMotoError(f"moto has no {qualname(owner)}.{name} to patch")
        found = parameters(original)
        if found != params:
            raise UnsupportedMotoError(
                f"moto's {qualname(owner)}.{name} takes ({', '.join(found)}), "
                f"the sandbox's patch was written for ({', '.join(params)})",
                f"pip install '{MOTO_REQUIREMENT}'",
            )
        self._install(owner, name, make(original), why, moto_bug)

    def _install(
        self,
        owner: Any,
        name: str,
        value: Any,
        why: str,
        moto_bug: str | None,
        action: str | None = None,
    ) -> None:
        with _LOCK:
            raw = owner.__dict__.get(name, _MISSING)
            original = None if raw is _MISSING else raw
            patch = Patch(owner, name, original, why, moto_bug, self.name, action)
            setattr(owner, name, value)
            self.patches.append(patch)
            INSTALLED.append(patch)

    def undo(self) -> None:
        """Put back what this set replaced, newest first (added names are removed)."""
        with _LOCK:
            for patch in reversed(self.patches):
                if patch.original is None:
                    delattr(patch.owner, patch.name)
                else:
                    setattr(patch.owner, patch.name, patch.original)
                INSTALLED.remove(patch)
            self.patches.clear()


def require(owner: Any, *names: str) -> None:
    """Refuse, at install, a moto whose `owner` (a class or module) lacks a name a patch
    reaches into beyond the method it replaces (moto's private helpers, for instance)."""
    missing = [name for name in names if not hasattr(owner, name)]
    if missing:
        raise UnsupportedMotoError(
            f"moto's {getattr(owner, '__qualname__', owner.__name__)} has no "
            f"{', '.join(missing)}, which the sandbox's patches use",
            f"pip install '{MOTO_REQUIREMENT}'",
        )


def once(name: str, build: Callable[[PatchSet], None]) -> None:
    """Install the set `name` for the rest of the process, the first time it is asked for
    (a failed install is undone, and the next call tries again)."""
    with _LOCK:
        if name in _ONCE:
            return
        _ONCE.add(name)
    try:
        install(name, build)
    except BaseException:
        with _LOCK:
            _ONCE.discard(name)
        raise


def install(name: str, build: Callable[[PatchSet], None]) -> Callable[[], None]:
    """Install a set of patches now; the returned function undoes them."""
    check_moto()
    patches = PatchSet(name)
    try:
        build(patches)
    except BaseException:
        patches.undo()
        raise
    return patches.undo


def moto_bugs() -> list[Patch]:
    """The installed patches that work around a plain moto bug (drop each once fixed)."""
    return [p for p in INSTALLED if p.moto_bug]


def markdown(patches: list[Patch]) -> str:
    """The patches as docs/sandbox.md lists them: a table, then the moto bugs among them."""
    lines = [
        "| Set | Changes | Why |",
        "| --- | --- | --- |",
        *(f"| {p.patch_set} | {p.changes} | {_cell(p.why)} |" for p in patches),
        "",
        "Patches that work around a plain moto bug (drop each once moto fixes it):",
        "",
        *(f"- {p.changes}: {p.moto_bug}" for p in patches if p.moto_bug),
    ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
