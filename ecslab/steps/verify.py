"""Lab step 13: the load balancer URL answers with data from the database.

Polls the URL (the stack's LoadBalancerUrl, or `verify_url`) with backoff from 1 s up to
POLL_MAX seconds, so a healthy backend is noticed within one poll interval of its first good
answer. Between polls it shows the service's deployments, task counts, target health and new
service events. The timeout restarts whenever something progresses (a new best running or
healthy count, a new rollout or stack state, a better probe answer).

Outcomes, each with its own exit code: healthy (0); not healthy (VerifyFailed, 7) when a
rollout or the stack failed, or the same unhealthy HTTP answer persists with no progress for
SETTLE_SECONDS (ROLLOUT_SETTLE_SECONDS while a deployment is in progress: new tasks may still
replace the failing ones); timed out (VerifyTimeout, 8). Failures end with a timeline and one
root cause with its fix (ecslab/lab/diagnose.py).

check() is never "done": verification changes nothing, and its worth is a fresh
observation with latency and the data seen, so the runner always runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecslab.aws.autoscaling import ScalingSetup
from ecslab.aws.cloudformation import BROKEN_STATES, Stack
from ecslab.core.clock import ProgressDeadline
from ecslab.core.errors import AwsError, EcslabError, VerifyFailed, VerifyTimeout
from ecslab.lab.diagnose import gather, root_cause, timeline
from ecslab.lab.observe import (
    Changes,
    Observer,
    Progress,
    Snapshot,
    show_scaling,
)
from ecslab.lab.probe import PROBE_TIMEOUT, ProbeResult, Verdict, is_loopback, probe
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.lab.context import Context

DEFAULT_TIMEOUT = 600
POLL_FIRST = 1.0
POLL_MAX = 5.0
SETTLE_SECONDS = 30.0
ROLLOUT_SETTLE_SECONDS = 180.0
_VERDICT_RANK = {
    Verdict.NO_ANSWER: 0,
    Verdict.HTTP_ERROR: 1,
    Verdict.WRONG_ANSWER: 2,
    Verdict.DATABASE_DOWN: 3,
    Verdict.HEALTHY: 4,
}


def build(app: Context) -> VerifyStep:
    return VerifyStep(app)


@dataclass(frozen=True)
class ProbeTarget:
    url: str
    stack: Stack | None
    watch: bool = True  # False when AWS cannot be read: probe only


def resolve_target(app: Context) -> ProbeTarget:
    """The URL to probe: `verify_url` when set, else the stack's LoadBalancerUrl output."""
    names = app.config.names
    if app.config.verify_url:
        try:
            return ProbeTarget(app.config.verify_url, app.aws.cloudformation.describe(names.stack))
        except AwsError as exc:
            app.ui.warning(f"cannot read AWS, probing {app.config.verify_url} only: {exc.message}")
            return ProbeTarget(app.config.verify_url, None, watch=False)
    stack = app.aws.cloudformation.describe(names.stack)
    if stack is not None and stack.status in BROKEN_STATES:
        raise _stack_failure(app, stack)
    if stack is None:
        raise VerifyFailed(
            f"stack {names.stack} is not deployed, so there is no load balancer to probe",
            "run `ecslab run-all` first",
        )
    url = stack.outputs.get("LoadBalancerUrl")
    if not url:
        raise VerifyFailed(
            f"stack {names.stack} ({stack.status}) has no LoadBalancerUrl output yet",
            "deploy the service first: `ecslab step deploy-service`",
        )
    if _is_emulated(app.config.endpoint_url) and not is_loopback(url):
        raise VerifyFailed(
            f"the load balancer URL {url} was made up by the local AWS emulator at "
            f"{app.config.endpoint_url}; nothing answers there",
            "set verify_url (ECSLAB_VERIFY_URL) to the URL of the locally running microsite, "
            "e.g. http://127.0.0.1:8080/",
        )
    return ProbeTarget(url if url.endswith("/") else url + "/", stack)


def _is_emulated(endpoint_url: str | None) -> bool:
    """AWS calls go to a local emulator (moto in the sandbox and the tests)."""
    return endpoint_url is not None and is_loopback(endpoint_url)


def _stack_failure(app: Context, stack: Stack) -> VerifyFailed:
    """A failed stack has no backend to probe: say why it failed, from its events."""
    cause = root_cause(gather(app, "(no URL)", None, Snapshot(stack, None)))
    return VerifyFailed(cause.cause, cause.fix)


class VerifyStep:
    name = "verify"

    def __init__(self, app: Context) -> None:
        self._app = app

    def validate(self) -> None:
        """Nothing to validate before AWS: the URL comes from the stack or `verify_url`."""

    def assess(self) -> Assessment:
        """Verification always probes afresh: never done beforehand. Its plan line is a
        probe, not a change (the runner counts no change for a read-only step)."""
        reason = "verification always probes afresh"
        try:
            target = resolve_target(self._app)
        except VerifyFailed as exc:
            line = f"probe the load balancer URL, which cannot be probed now: {exc.message}"
            return Assessment(False, reason, (line,), exc)
        line = f"probe {target.url} until it answers with data from the database"
        return Assessment(False, reason, (line,), target)

    def run(self, assessment: Assessment) -> StepResult:
        if isinstance(assessment.facts, VerifyFailed):
            raise assessment.facts
        return Verifier(self._app, assessment.facts).run()


@dataclass
class _State:
    deadline: ProgressDeadline
    interval: float = POLL_FIRST
    polls: int = 0
    best_rank: int = -1
    last: ProbeResult | None = None
    same_since: float = 0.0
    snapshot: Snapshot | None = None
    changes: Changes = field(default_factory=Changes)
    progress: Progress = field(default_factory=Progress)


class Verifier:
    """The polling loop of one `verify`."""

    def __init__(self, app: Context, target: ProbeTarget) -> None:
        self._app = app
        self._ui = app.ui
        self._clock = app.clock
        self._url = target.url
        self._timeout = float(app.config.timeout or DEFAULT_TIMEOUT)
        self._observer: Observer | None = Observer(app) if target.watch else None
        self._stack = target.stack
        self._started = self._clock.now()
        self._state = _State(deadline=ProgressDeadline(self._clock, self._timeout))

    def run(self) -> StepResult:
        self._ui.info(
            f"probing {self._url} every {POLL_FIRST:.0f}-{POLL_MAX:.0f} s; giving up after "
            f"{self._timeout:.0f} s without progress",
            url=self._url,
            poll_interval_max=POLL_MAX,
            timeout=self._timeout,
        )
        with self._ui.status("waiting for a healthy answer") as line:
            while True:
                result = probe(self._url, timeout=PROBE_TIMEOUT)
                self._state.polls += 1
                if result.healthy:
                    return self._healthy(result)
                self._after_unhealthy(result)
                line.update(self._status_line(result))
                self._clock.sleep(self._next_sleep())

    # -- one poll ----------------------------------------------------------------------

    def _after_unhealthy(self, result: ProbeResult) -> None:
        state, now = self._state, self._clock.now()
        if state.last is None or result.signature() != state.last.signature():
            self._ui.detail(f"probe: {result.detail}", verdict=str(result.verdict))
            state.same_since = now
        state.last = result
        snapshot = self._observe()
        moved = self._report(snapshot)
        rank = _VERDICT_RANK[result.verdict]
        if state.best_rank >= 0 and rank > state.best_rank:
            moved.append(f"the probe now gets: {result.verdict}")
        state.best_rank = max(state.best_rank, rank)
        if moved:
            self._ui.info(f"progress: {'; '.join(moved)} (timeout restarts)")
            state.deadline.progress()
            state.interval = POLL_FIRST
        self._raise_if_failed(result, snapshot, now)

    def _observe(self) -> Snapshot | None:
        if self._observer is None:
            return None
        try:
            self._state.snapshot = self._observer.snapshot()
        except AwsError as exc:
            self._ui.warning(f"cannot watch the service, probing only: {exc.message}")
            self._observer = None
        return self._state.snapshot

    def _report(self, snapshot: Snapshot | None) -> list[str]:
        """Show new service events and target changes; return what progressed."""
        if snapshot is None:
            return []
        for event in self._state.changes.new_events(snapshot):
            self._ui.detail(f"service: {event.message}", source="service")
        for target in self._state.changes.target_changes(snapshot):
            why = f" ({target.reason}: {target.description})" if target.reason else ""
            self._ui.detail(f"target {target.address}: {target.state}{why}", source="target")
        return self._state.progress.update(snapshot)

    def _raise_if_failed(self, result: ProbeResult, snapshot: Snapshot | None, now: float) -> None:
        service = snapshot.service if snapshot else None
        deployments = service.deployments if service else ()
        primary = next((d for d in deployments if d.status == "PRIMARY"), None)
        if snapshot is not None and snapshot.stack_failed():
            raise self._failure(VerifyFailed, result, "the stack failed")
        if primary is not None and primary.rollout_state == "FAILED":
            raise self._failure(VerifyFailed, result, "the service's rollout failed")
        quiet = min(now - self._state.same_since, self._state.deadline.idle_for())
        rolling = service is not None and service.rolling_out
        if result.status is not None and quiet >= (
            ROLLOUT_SETTLE_SECONDS if rolling else SETTLE_SECONDS
        ):
            raise self._failure(VerifyFailed, result, f"{self._url} is not healthy")
        if self._state.deadline.expired():
            raise self._failure(
                VerifyTimeout,
                result,
                f"no healthy answer from {self._url} after {self._timeout:.0f} s without progress",
            )

    def _next_sleep(self) -> float:
        state = self._state
        remaining = state.deadline.remaining()
        sleep = min(state.interval, remaining) if remaining > 0 else state.interval
        state.interval = min(state.interval * 2, POLL_MAX)
        return sleep

    def _status_line(self, result: ProbeResult) -> str:
        """What the spinner shows. Without a terminal only changes are printed, so the
        poll counter and countdown (which change every poll) appear on a terminal only."""
        snapshot = self._state.snapshot
        text = f"{result.verdict}" + (f" | {snapshot.headline()}" if snapshot else "")
        if self._ui.mode != "rich":
            return text
        remaining = self._state.deadline.remaining()
        return (
            f"poll {self._state.polls}: {text} | next poll in "
            f"{min(self._state.interval, POLL_MAX):.0f} s, gives up in {remaining:.0f} s"
        )

    # -- endings -----------------------------------------------------------------------

    def _failure(self, kind: type[EcslabError], result: ProbeResult, headline: str) -> EcslabError:
        evidence = gather(self._app, self._url, result, self._state.snapshot)
        entries = timeline(evidence)
        if entries:
            self._ui.table(
                "What happened",
                ("time", "source", "what"),
                [(e.when(), e.source, e.text) for e in entries],
            )
        cause = root_cause(evidence)
        return kind(f"{headline}: {cause.cause}", cause.fix)

    def _healthy(self, result: ProbeResult) -> StepResult:
        waited = self._clock.now() - self._started
        latency_ms = round(result.latency * 1000)
        message = f"{self._url} answered 200 in {latency_ms} ms: {result.detail}"
        self._ui.success(message)
        data: dict[str, Any] = {
            "url": self._url,
            "http_status": result.status,
            "latency_ms": latency_ms,
            "polls": self._state.polls,
            "waited_s": round(waited, 1),
            "response": result.body,
        }
        scaling = self._autoscaling()
        if scaling is not None:
            data["autoscaling_problems"] = scaling.problems()
        return StepResult(Outcome.DONE, message, data)

    def _autoscaling(self) -> ScalingSetup | None:
        """Show the scaling wiring; problems are warnings (the backend itself is healthy)."""
        if self._observer is None or self._stack is None:
            return None
        snapshot = self._state.snapshot
        if snapshot is not None and snapshot.service is None:
            return None
        # The backend answered, so the service runs; its names are in the stack's outputs.
        cluster, service = self._observer.service_ref(self._stack)
        try:
            setup = self._app.aws.autoscaling.read(self._app.config.names, cluster, service)
        except AwsError as exc:
            self._ui.warning(f"cannot read the autoscaling setup: {exc.message}")
            return None
        show_scaling(self._app.ui, setup)
        return setup
