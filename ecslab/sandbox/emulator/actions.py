"""Alarm actions: which area runs an action ARN when an alarm calls it.

CloudWatch invokes an alarm's actions on each transition into the matching state, and
Auto Scaling actions again on every evaluation while the alarm stays in ALARM. The
cloudwatch area calls `run()`; an area that can execute some kind of ARN (the scaling
area: Application Auto Scaling policies) registers a handler for it at start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AlarmCall:
    """What an action receives from the alarm that invokes it."""

    account_id: str
    region: str
    alarm_name: str
    state: str
    threshold: float
    reason_data: dict[str, Any]


@dataclass(frozen=True)
class ActionOutcome:
    ok: bool
    message: str  # "" when it succeeded; the error text otherwise


Handler = Callable[[str, AlarmCall], ActionOutcome]
_handlers: dict[str, Handler] = {}
_lock = threading.Lock()


def register(arn_marker: str, handler: Handler) -> Callable[[], None]:
    """Run `handler` for action ARNs containing `arn_marker`; returns an unregister."""
    with _lock:
        _handlers[arn_marker] = handler

    def unregister() -> None:
        with _lock:
            _handlers.pop(arn_marker, None)

    return unregister


def repeats(arn: str) -> bool:
    """Auto Scaling actions are invoked again at each evaluation while in ALARM."""
    return ":autoscaling:" in arn or ":application-autoscaling:" in arn


def run(arn: str, call: AlarmCall) -> ActionOutcome:
    with _lock:
        handler = next((h for marker, h in _handlers.items() if marker in arn), None)
    if handler is None:
        return ActionOutcome(False, "the sandbox does not emulate this kind of action")
    return handler(arn, call)
