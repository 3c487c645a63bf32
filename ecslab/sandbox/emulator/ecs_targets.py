"""Target-group health, as an ALB keeps it, and HAProxy made to route accordingly.

Each task registered in a target group gets a `Target`: `initial` until its first check
(a newly registered target turns `healthy` after one passing check), then `healthy` /
`unhealthy` after the group's healthy / unhealthy threshold of consecutive results,
`draining` for the deregistration delay once deregistered, then gone (`unused`). The check
is the group's own: HTTP GET of its path on the target's port, its timeout, its matcher,
every interval (intervals, timeouts and delays divided by the sandbox's time scale).
Reason codes and descriptions are AWS's (AWS-SEMANTICS §3.1).

`sync_haproxy` makes HAProxy's servers match: healthy -> ready, draining -> drain,
anything else -> maint, unknown -> deleted; and their weights those a traffic-shifting
deployment asks for (ecs_strategies), 1 otherwise. It reads HAProxy's state each time, so a
restarted HAProxy is refilled.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecslab.sandbox.haproxy import Runtime
from ecslab.sandbox.ports import LOOPBACK

INITIAL = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
REGISTERING = ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
DRAINING = ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
TIMEOUT = ("unhealthy", "Target.Timeout", "Request timed out")
FAILED = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
DEFAULT_WEIGHT = 1  # the backend's servers' own weight (HAProxy's default)


@dataclass(frozen=True)
class CheckSettings:
    """A target group's health check, in real seconds."""

    path: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str
    deregistration_delay: float

    @classmethod
    def of(cls, group: Any, time_scale: float) -> CheckSettings:
        delay = float(group.attributes.get("deregistration_delay.timeout_seconds", 300))
        return cls(
            path=group.health_check_path or "/",
            interval=float(group.health_check_interval_seconds or 30) / time_scale,
            timeout=float(group.health_check_timeout_seconds or 5) / time_scale,
            healthy_threshold=int(group.healthy_threshold_count or 5),
            unhealthy_threshold=int(group.unhealthy_threshold_count or 2),
            matcher=str((getattr(group, "matcher", None) or {}).get("HttpCode", "200")),
            deregistration_delay=delay / time_scale,
        )


@dataclass
class Target:
    """One registered task port in one target group."""

    group_arn: str
    port: int
    task_arn: str
    settings: CheckSettings
    registered_at: float
    state: tuple[str, str | None, str | None] = REGISTERING
    next_check: float = 0.0
    successes: int = 0
    failures: int = 0
    drain_until: float | None = None
    last_failure: str = ""

    @property
    def name(self) -> str:
        """HAProxy's server name for it."""
        return f"t{self.port}"

    @property
    def healthy(self) -> bool:
        return self.state[0] == "healthy"

    def deregister(self, now: float) -> None:
        if self.drain_until is None:
            self.drain_until = now + self.settings.deregistration_delay
            self.state = DRAINING

    def due(self, now: float) -> bool:
        return self.drain_until is None and now >= self.next_check

    def record(self, now: float, outcome: tuple[str, str | None, str | None]) -> str | None:
        """Count one check result; the failure text when the target just turned unhealthy."""
        self.next_check = now + self.settings.interval
        if outcome[0] == "healthy":
            self.successes, self.failures = self.successes + 1, 0
            first = self.state[0] == "initial"
            if first or self.successes >= self.settings.healthy_threshold:
                self.state = ("healthy", None, None)
            return None
        self.failures, self.successes = self.failures + 1, 0
        self.last_failure = outcome[2] or ""
        if self.state[0] == "initial" and self.failures < self.settings.unhealthy_threshold:
            self.state = INITIAL
            return None
        if self.failures >= self.settings.unhealthy_threshold and self.state[0] != "unhealthy":
            self.state = outcome
            return outcome[2]
        if self.state[0] == "unhealthy":
            self.state = outcome
        return None


def probe(port: int, settings: CheckSettings) -> tuple[str, str | None, str | None]:
    """One HTTP health check of 127.0.0.1:port, judged as the ALB judges it."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=settings.timeout)
    try:
        connection.request("GET", settings.path, headers={"User-Agent": "ELB-HealthChecker/2.0"})
        status = connection.getresponse().status
    except TimeoutError:
        return TIMEOUT
    except (OSError, http.client.HTTPException):
        return FAILED
    finally:
        connection.close()
    if _matches(status, settings.matcher):
        return ("healthy", None, None)
    return (
        "unhealthy",
        "Target.ResponseCodeMismatch",
        f"Health checks failed with these codes: [{status}]",
    )


def _matches(status: int, matcher: str) -> bool:
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit() and int(low) <= status <= int(high or low):
            return True
    return False


def sync_haproxy(
    runtime: Runtime,
    targets: list[Target],
    dead: set[str],
    weights: Mapping[str, int] | None = None,
) -> None:
    """HAProxy's servers made to match the targets (`dead`: task ARNs whose container is
    gone, never routed to even while their target drains; `weights`: the weight of a task
    ARN's servers while a deployment shifts traffic, DEFAULT_WEIGHT for any other)."""
    wanted: dict[str, tuple[int, str]] = {}
    for target in targets:
        if target.task_arn in dead:
            state = "maint"
        elif target.drain_until is not None:
            state = "drain"
        else:
            state = "ready" if target.healthy else "maint"
        current = wanted.get(target.name)
        if current is None or state == "ready":
            wanted[target.name] = (target.port, state)
    present = runtime.servers()
    for name in set(present) - set(wanted):
        runtime.delete(name)
    for name, (port, _) in wanted.items():
        if name not in present:
            runtime.add(name, LOOPBACK, port)
    present = runtime.servers()
    by_name = {t.name: (weights or {}).get(t.task_arn, DEFAULT_WEIGHT) for t in targets}
    # Weights that rise, and those of servers about to take traffic, before any state
    # changes; those that fall after: traffic always has somewhere to go, and a new
    # server never takes a request at a weight it should not have.
    later: dict[str, int] = {}
    for name, server in present.items():
        weight = by_name.get(name, server.weight)
        opening = wanted.get(name, (0, ""))[1] == "ready" and server.state != "ready"
        if weight > server.weight or (opening and weight != server.weight):
            runtime.set_weight(name, weight)
        elif weight < server.weight:
            later[name] = weight
    for name, (_, state) in wanted.items():
        if present[name].state != state:
            runtime.set_state(name, state)
    for name, weight in later.items():
        runtime.set_weight(name, weight)
