"""Why the backend is not healthy: the evidence, a timeline of it, and one root cause.

`gather` collects what AWS and the last probe say (stack events, ECS service events,
stopped tasks with their stoppedReason and container exit codes, target health reasons,
the last lines of the service's logs). `root_cause` walks a list of rules, most direct
evidence first, and returns the first that matches: one line of cause and one of fix.
Each source is read on its own; one that fails is noted, never fatal to the diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.aws.cloudformation import StackEvent, first_failure
from ecslab.aws.ecs import Task
from ecslab.aws.logs import LogEvent
from ecslab.core.errors import AwsError
from ecslab.core.naming import deployed
from ecslab.lab.db_access import DbAccess, db_access
from ecslab.lab.probe import ProbeResult, Verdict

if TYPE_CHECKING:
    from ecslab.lab.context import Context
    from ecslab.lab.observe import Snapshot

LOG_LINES = 10
LOG_WINDOW_MS = 30 * 60 * 1000
SERVICE_EVENTS = 8
STACK_EVENTS = 30


@dataclass(frozen=True)
class RootCause:
    cause: str
    fix: str
    source: str  # which evidence it rests on: probe, stack, task, target, rollout, logs


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime | None
    source: str
    text: str

    def when(self) -> str:
        return self.at.astimezone(UTC).strftime("%H:%M:%S") if self.at else "now"


@dataclass
class Evidence:
    """Everything a diagnosis draws on."""

    url: str
    probe: ProbeResult | None
    snapshot: Snapshot | None
    db_endpoint: str
    stack_events: list[StackEvent] = field(default_factory=list)
    stopped_tasks: list[Task] = field(default_factory=list)
    log_lines: list[LogEvent] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # sources that could not be read
    db_access: DbAccess | None = None  # what the database's security group allows


def gather(
    app: Context, url: str, probe: ProbeResult | None, snapshot: Snapshot | None
) -> Evidence:
    """Read every source of evidence; a source that fails is listed in `unread`."""
    stack = snapshot.stack if snapshot else None
    evidence = Evidence(url, probe, snapshot, db_endpoint(app, snapshot))
    if stack is None:
        return evidence
    where = deployed(app.config.names, stack.outputs)
    cluster, service, group = where.cluster, where.service, where.log_group
    since_ms = int(app.clock.wall() * 1000) - LOG_WINDOW_MS
    cfn, ecs, logs = app.aws.cloudformation, app.aws.ecs, app.aws.logs
    readers: list[tuple[str, list[Any], Callable[[], list[Any]]]] = [
        ("stack events", evidence.stack_events, lambda: cfn.events_since(stack.stack_id, None)),
        ("stopped tasks", evidence.stopped_tasks, lambda: ecs.tasks(cluster, service, "STOPPED")),
        ("logs", evidence.log_lines, lambda: logs.tail(group, since_ms, LOG_LINES)),
    ]
    for what, into, read in readers:
        try:
            into.extend(read())
        except AwsError as exc:
            evidence.unread.append(f"{what}: {exc.message}")
    if probe is not None and probe.verdict == Verdict.DATABASE_DOWN:
        try:
            evidence.db_access = db_access(app, stack)
        except AwsError as exc:
            evidence.unread.append(f"database security group: {exc.message}")
    del evidence.stack_events[:-STACK_EVENTS]
    evidence.stopped_tasks.sort(key=_stopped_key, reverse=True)
    return evidence


def db_endpoint(app: Context, snapshot: Snapshot | None) -> str:
    """host:port the tasks were given (the stack's DbHost/DbPort, else the config's)."""
    params = snapshot.stack.parameters if snapshot and snapshot.stack else {}
    host = params.get("DbHost") or app.config.db_host or "(DbHost not set)"
    port = params.get("DbPort") or str(app.config.db_port)
    return f"{host}:{port}"


def _stopped_key(task: Task) -> datetime:
    return task.stopped_at or datetime.min.replace(tzinfo=UTC)


# -- root cause ------------------------------------------------------------------------


def root_cause(evidence: Evidence) -> RootCause:
    """The first rule that matches, most direct evidence first."""
    for rule in _RULES:
        found = rule(evidence)
        if found is not None:
            return found
    probe = evidence.probe
    detail = probe.detail if probe else "no probe was made"
    return RootCause(
        f"{evidence.url} is not healthy: {detail}",
        "run `ecslab status` and `ecslab logs` to look further",
        "probe",
    )


# The microsite's 503 names the PostgreSQL error class (`cause`, microsite/db.py): what it
# means and the fix, with {user}, {db} and {endpoint} filled in from the stack.
_DATABASE_CAUSES = {
    "bad_password": (
        "password authentication failed for user {user} on {endpoint} (PostgreSQL 28P01)",
        "check the password: DbPassword must be {user}'s password on that database; after "
        "changing it, deploy again so that new tasks read it",
    ),
    "database_missing": (
        "database {db} does not exist on {endpoint} (PostgreSQL 3D000)",
        "create it as the database's master user: CREATE DATABASE {db} OWNER {user};",
    ),
    "permission_denied": (
        "user {user} may not create the microsite's tables in database {db} on {endpoint} "
        "(PostgreSQL 42501: from PostgreSQL 15, users have no CREATE on schema public)",
        "in database {db}, as its owner: GRANT CREATE ON SCHEMA public TO {user}; "
        "(or make {user} the database's owner: ALTER DATABASE {db} OWNER TO {user};)",
    ),
    "login_refused": (
        "the database on {endpoint} refused the login of user {user} (PostgreSQL 28000)",
        "check the server's pg_hba.conf rules (or the RDS parameter group) for the tasks' "
        "addresses and TLS",
    ),
    "tls_untrusted": (
        "the database's certificate on {endpoint} is not trusted by the CA bundle given",
        "give the tasks the CA bundle of the database's certificate (RDS: the region's "
        "global-bundle.pem) as DB_SSL_ROOT_CERT, and use the database's own host name",
    ),
    "tls_failed": (
        "TLS with the database on {endpoint} failed",
        "check that the database accepts TLS connections (RDS does; rds.force_ssl)",
    ),
}


def _database_down(e: Evidence) -> RootCause | None:
    if e.probe is None or e.probe.verdict != Verdict.DATABASE_DOWN:
        return None
    known = _DATABASE_CAUSES.get(str(e.probe.body.get("cause", "")))
    if known is not None:
        params = e.snapshot.stack.parameters if e.snapshot and e.snapshot.stack else {}
        values = {
            "user": params.get("DbUser") or "<DbUser>",
            "db": params.get("DbName") or "<DbName>",
            "endpoint": e.db_endpoint,
        }
        cause, fix = known
        return RootCause(cause.format(**values), fix.format(**values), "probe")
    access = e.db_access
    if access is not None and not access.open:
        return RootCause(
            f"database unreachable from the tasks: the microsite answers 503 "
            f"(it tried {e.db_endpoint})",
            f"{access.advice()}; then check the DbUser/DbPassword/DbName values",
            "probe",
        )
    return RootCause(
        f"database unreachable from the tasks: the microsite answers 503 "
        f"(it tried {e.db_endpoint})",
        "check that the database runs and accepts the tasks' connections on that host and "
        "port (security group, subnet routes), and the DbUser/DbPassword/DbName values",
        "probe",
    )


def _stack_failed(e: Evidence) -> RootCause | None:
    if e.snapshot is None or not e.snapshot.stack_failed() or e.snapshot.stack is None:
        return None
    stack = e.snapshot.stack
    first = first_failure(e.stack_events)
    why = f"{first.logical_id}: {first.reason}" if first else stack.reason or "no reason given"
    return RootCause(
        f"stack {stack.name} is {stack.status}: {why}",
        "fix the cause above, then run `ecslab run-all` (it deletes and creates again a "
        "stack left in ROLLBACK_COMPLETE)",
        "stack",
    )


def _task_stopped(e: Evidence) -> RootCause | None:
    for task in e.stopped_tasks:
        found = _explain_stopped(task, e)
        if found is not None:
            return found
    return None


def _explain_stopped(task: Task, e: Evidence) -> RootCause | None:
    reason = task.stopped_reason
    failed = next((c for c in task.containers if c.exit_code not in (None, 0)), None)
    if "CannotPullContainerError" in reason:
        return RootCause(
            f"tasks cannot pull their image: {reason}",
            "push the image (`ecslab step push-image`), check DockerImageTag points at it, and "
            "that tasks reach ECR (public IP or NAT gateway, or VPC endpoints)",
            "task",
        )
    if "ResourceInitializationError" in reason:
        return RootCause(
            f"tasks cannot start: {reason}",
            "the task execution role needs secretsmanager:GetSecretValue on the DB password "
            "secret, and tasks need a route to Secrets Manager (public IP, NAT or endpoint)",
            "task",
        )
    if failed is not None or "Essential container" in reason:
        return _container_exited(task, failed.exit_code if failed else None, e)
    if "ELB health checks" in reason:
        return _health_check_cause(f"tasks were stopped: {reason}", e)
    return None


def _container_exited(task: Task, exit_code: int | None, e: Evidence) -> RootCause:
    code = f" with exit code {exit_code}" if exit_code is not None else ""
    container = next((c for c in task.containers if c.reason), None)
    why = f" ({container.reason})" if container else ""
    last = f"; last log line: {e.log_lines[-1].message}" if e.log_lines else ""
    fix = "read `ecslab logs --since 30m`; check the container's environment (PORT, HOST, ...)"
    if exit_code == 137 or "OutOfMemory" in why:
        fix = "the container ran out of memory: raise FargateMemory (--memory)"
    return RootCause(
        f"the essential container exited{code}{why}: {task.stopped_reason}{last}", fix, "task"
    )


def _targets_unhealthy(e: Evidence) -> RootCause | None:
    targets = e.snapshot.targets if e.snapshot else ()
    bad = [t for t in targets if t.state == "unhealthy"]
    if not bad:
        return None
    first = bad[0]
    return _health_check_cause(
        f"{len(bad)} target(s) fail the load balancer health check: {first.reason} "
        f"({first.description or first.state})",
        e,
        first.reason,
    )


def _health_check_cause(cause: str, e: Evidence, reason: str = "") -> RootCause:
    if reason == "Target.Timeout":
        fix = (
            "the health check got no answer: the task security group must allow the load "
            "balancer's security group on the container port, and the microsite must listen "
            "on 0.0.0.0 at that port"
        )
    else:
        fix = (
            "the microsite must answer 200 on /health at the container port; see "
            "`ecslab logs` for why it does not"
        )
    return RootCause(cause, fix, "target")


def _rollout_failed(e: Evidence) -> RootCause | None:
    service = e.snapshot.service if e.snapshot else None
    for deployment in service.deployments if service else ():
        if deployment.rollout_state == "FAILED":
            return RootCause(
                f"deployment {deployment.id} failed: {deployment.rollout_reason}",
                "see the service events above and `ecslab logs`; fix, then deploy again",
                "rollout",
            )
    return None


def _wrong_answer(e: Evidence) -> RootCause | None:
    if e.probe is None or e.probe.verdict != Verdict.WRONG_ANSWER:
        return None
    return RootCause(
        f"{e.url} answers, but not with the microsite's data: {e.probe.detail}",
        "something else answers at that address: check the listener forwards to the "
        "microsite's target group (or verify_url points at the microsite)",
        "probe",
    )


def _nothing_running(e: Evidence) -> RootCause | None:
    service = e.snapshot.service if e.snapshot else None
    if service is None or service.desired == 0 or service.running > 0:
        return None
    last = service.events[0].message if service.events else "no service events"
    probed = f"; the probe got: {e.probe.detail}" if e.probe else ""
    return RootCause(
        f"no task is running ({service.running}/{service.desired}): {last}{probed}",
        "see `ecslab status` and `ecslab logs`",
        "rollout",
    )


def _no_answer(e: Evidence) -> RootCause | None:
    if e.probe is None or e.probe.verdict not in (Verdict.NO_ANSWER, Verdict.HTTP_ERROR):
        return None
    fix = (
        "check the load balancer exists and its security group allows port 80 from you"
        if e.probe.verdict == Verdict.NO_ANSWER
        else "see the target health above and `ecslab logs`"
    )
    return RootCause(f"{e.url}: {e.probe.detail}", fix, "probe")


_RULES: tuple[Callable[[Evidence], RootCause | None], ...] = (
    _database_down,
    _stack_failed,
    _task_stopped,
    _targets_unhealthy,
    _rollout_failed,
    _wrong_answer,
    _nothing_running,
    _no_answer,
)


# -- timeline --------------------------------------------------------------------------


def timeline(e: Evidence) -> list[TimelineEntry]:
    """Every piece of evidence with a time, oldest first; the current state at the end."""
    stack_name = e.snapshot.stack.name if e.snapshot and e.snapshot.stack else ""
    dated: list[TimelineEntry] = [
        TimelineEntry(ev.timestamp, "stack", _stack_text(ev))
        for ev in e.stack_events
        if _event_failed(ev) or ev.logical_id == stack_name
    ]
    service = e.snapshot.service if e.snapshot else None
    events = service.events[:SERVICE_EVENTS] if service else ()
    dated += [TimelineEntry(ev.created_at, "service", ev.message) for ev in events]
    dated += [TimelineEntry(t.stopped_at, "task", _task_text(t)) for t in e.stopped_tasks[:5]]
    dated += [TimelineEntry(line.time, "log", line.message) for line in e.log_lines]
    dated.sort(key=lambda entry: entry.at or datetime.max.replace(tzinfo=UTC))
    return dated + _current_state(e)


def _current_state(e: Evidence) -> list[TimelineEntry]:
    now: list[TimelineEntry] = []
    targets = e.snapshot.targets if e.snapshot else ()
    for t in targets:
        reason = f" {t.reason}: {t.description}" if t.reason else ""
        now.append(TimelineEntry(None, "target", f"{t.address} {t.state}{reason}"))
    if e.probe is not None:
        now.append(TimelineEntry(None, "probe", f"GET {e.url}: {e.probe.detail}"))
    now += [TimelineEntry(None, "unread", text) for text in e.unread]
    return now


def _event_failed(ev: StackEvent) -> bool:
    return ev.status.endswith("_FAILED")


def _stack_text(ev: StackEvent) -> str:
    reason = f": {ev.reason}" if ev.reason else ""
    return f"{ev.logical_id} {ev.status}{reason}"


def _task_text(task: Task) -> str:
    exits = ", ".join(
        f"{c.name} exit {c.exit_code}" + (f" ({c.reason})" if c.reason else "")
        for c in task.containers
        if c.exit_code is not None or c.reason
    )
    return f"task {task.short_id} stopped: {task.stopped_reason}" + (f"; {exits}" if exits else "")
