"""`ecslab doctor`: what would stop a deploy, checked before it (like ecspresso's verify).

Each finding says what is wrong, why it blocks the tasks, and the command that fixes it.
Before the stack exists the checks are of what the deploy takes from outside (the image
in ECR for the tasks' platform, the subnets' zones) and say what the stack will create;
once it exists, of what the running tasks depend on: both roles and their trust, the
image for the task definition's CPU architecture, the password secret, the log group,
the target group's port against the container's, the subnets' zones, and whether the
database admits the tasks. A blocker fails the command (exit 7, as `verify`); a warning
does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from ecslab.aws.cloudformation import Stack
from ecslab.aws.ecs import TaskDefinition
from ecslab.core.errors import EcslabError, VerifyFailed
from ecslab.core.facts import CPU_ARCHITECTURES
from ecslab.core.naming import deployed
from ecslab.lab.context import Context

TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
BLOCKER, WARNING, OK, INFO = "blocker", "warning", "ok", "info"
# CloudFormation does not notice a resource deleted outside it: an update that changes
# nothing else leaves it missing, so the stack is made again.
RECREATE = "ecslab destroy && ecslab run-all (CloudFormation does not recreate what was deleted)"


@dataclass(frozen=True)
class Finding:
    level: str  # blocker | warning | ok | info
    check: str
    what: str
    why: str = ""
    fix: str = ""


def doctor(app: Context) -> list[Finding]:
    """Run every check, report them, and fail on a blocker."""
    findings = examine(app)
    rows = [(f.level, f.check, f.what, f.why, f.fix) for f in findings]
    app.ui.table("ecslab doctor", ("Level", "Check", "Finding", "Why", "Fix"), rows)
    blockers = [f for f in findings if f.level == BLOCKER]
    warnings = [f for f in findings if f.level == WARNING]
    data = {"findings": [asdict(f) for f in findings]}
    if blockers:
        raise VerifyFailed(
            f"{len(blockers)} blocker(s): " + "; ".join(f"{f.check}: {f.what}" for f in blockers),
            " ; ".join(f.fix for f in blockers if f.fix) or None,
        )
    app.ui.summary("ok", f"no blocker ({len(warnings)} warning(s))", **data)
    return findings


def examine(app: Context) -> list[Finding]:
    stack = app.aws.cloudformation.describe(app.config.names.stack)
    if stack is None or "TaskDefinition" not in _resources(app, stack):
        return _before_stack(app, stack)
    return _after_stack(app, stack)


def _resources(app: Context, stack: Stack) -> set[str]:
    found = app.aws.cloudformation.resource_id(stack.stack_id, "TaskDefinition")
    return {"TaskDefinition"} if found else set()


def _guarded(check: str, run: Callable[[], list[Finding]]) -> list[Finding]:
    """A check that cannot be made is a warning, not the end of the others."""
    try:
        return run()
    except EcslabError as exc:
        return [Finding(WARNING, check, f"could not check: {exc.message}", "", exc.hint or "")]


def _before_stack(app: Context, stack: Stack | None) -> list[Finding]:
    from ecslab.lab.stack_inputs import resolve_image, resolve_network

    state = f"is {stack.status}, without the service" if stack else "does not exist"
    findings = [
        Finding(
            INFO,
            "stack",
            f"stack {app.config.names.stack} {state}: the deploy creates the cluster, both "
            "task roles (trusting ecs-tasks.amazonaws.com), the password secret, the log "
            "group, the load balancer and the service",
        )
    ]

    def image() -> list[Finding]:
        found = resolve_image(app)
        if found is None:
            return [
                Finding(
                    BLOCKER,
                    "image",
                    f"no image in ECR repository {app.config.names.repository}",
                    "the service runs an image from ECR",
                    "ecslab step push-image",
                )
            ]
        return [Finding(OK, "image", f"{found.tag} ({found.source}) is in ECR")]

    def network() -> list[Finding]:
        chosen = resolve_network(app, stack)
        return _zones(app, chosen.subnet_ids)

    return findings + _guarded("image", image) + _guarded("subnets", network)


def _after_stack(app: Context, stack: Stack) -> list[Finding]:
    names = app.config.names
    where = deployed(names, stack.outputs)
    service = app.aws.ecs.describe_service(where.cluster, where.service)
    reference = (service.task_definition if service else "") or names.task_family
    definition = app.aws.ecs.task_definition(reference)
    if definition is None:
        return [
            Finding(
                BLOCKER,
                "task definition",
                f"task definition {reference} does not exist",
                "the service has nothing to run",
                "ecslab step deploy-service",
            )
        ]
    # Configured subnets are those the next deploy uses; else the service's own.
    subnets = app.config.subnet_ids or (
        service.network.subnets if service and service.network else ()
    )
    checks: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("roles", lambda: _roles(app, stack, definition)),
        ("image", lambda: _image(app, definition)),
        ("secret", lambda: _secret(app, stack, definition)),
        ("log group", lambda: _log_group(app, definition)),
        ("target group", lambda: _target_port(app, stack, definition)),
        ("subnets", lambda: _zones(app, subnets)),
        ("database", lambda: _database(app, stack)),
    ]
    return [finding for check, run in checks for finding in _guarded(check, run)]


def _roles(app: Context, stack: Stack, definition: TaskDefinition) -> list[Finding]:
    """Both roles the task definition names (else the stack's TaskRole and
    TaskExecutionRole: an emulator may leave them out of the definition)."""
    found = []
    cfn = app.aws.cloudformation
    for label, arn, logical_id in (
        ("task role", definition.task_role_arn, "TaskRole"),
        ("execution role", definition.execution_role_arn, "TaskExecutionRole"),
    ):
        arn = arn or cfn.resource_id(stack.stack_id, logical_id) or ""
        if not arn:
            why = "ECS cannot pull from ECR or read secrets" if "execution" in label else ""
            level = BLOCKER if "execution" in label else WARNING
            found.append(
                Finding(
                    level,
                    label,
                    f"the task definition has no {label}",
                    why,
                    "ecslab step deploy-service",
                )
            )
            continue
        trusted = app.aws.iam.trusted_services(arn)
        if trusted is None:
            found.append(
                Finding(
                    BLOCKER,
                    label,
                    f"{arn} does not exist",
                    "ECS cannot assume it: every task fails to start",
                    RECREATE,
                )
            )
        elif TASKS_PRINCIPAL not in trusted:
            found.append(
                Finding(
                    BLOCKER,
                    label,
                    f"{arn} does not trust {TASKS_PRINCIPAL} "
                    f"(trusts: {', '.join(trusted) or 'nobody'})",
                    "ECS tasks cannot assume it",
                    _trust_fix(arn),
                )
            )
        else:
            found.append(Finding(OK, label, f"{arn.rsplit('/', 1)[-1]} trusts {TASKS_PRINCIPAL}"))
    return found


def _trust_fix(arn: str) -> str:
    import json
    import shlex

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": TASKS_PRINCIPAL},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return (
        f"aws iam update-assume-role-policy --role-name {arn.rsplit('/', 1)[-1]} "
        f"--policy-document {shlex.quote(json.dumps(policy))}"
    )


def _image(app: Context, definition: TaskDefinition) -> list[Finding]:
    from ecslab.lab.image_platform import image_platforms

    container = definition.container(
        app.config.names.container
        if any(c.name == app.config.names.container for c in definition.containers)
        else None
    )
    image = container.image
    repository_uri, _, digest = image.partition("@")
    repository = repository_uri.split("/", 1)[-1]
    if not digest:
        return [
            Finding(
                WARNING,
                "image",
                f"{image} is not pinned by digest",
                "a moved tag changes what new tasks run",
                "ecslab step deploy-service",
            )
        ]
    if not _exists(app, repository, digest):
        return [
            Finding(
                BLOCKER,
                "image",
                f"{image} is not in ECR",
                "tasks fail with CannotPullContainerError",
                "ecslab step push-image && ecslab step deploy-service",
            )
        ]
    wanted = {v: k for k, v in CPU_ARCHITECTURES.items()}.get(
        definition.cpu_architecture or "X86_64", "linux/amd64"
    )
    try:
        platforms = image_platforms(app, repository, repository_uri, digest)
    except EcslabError as exc:
        return [
            Finding(
                WARNING, "image", f"{image} is in ECR; its platform is unreadable: {exc.message}"
            )
        ]
    if wanted not in platforms:
        return [
            Finding(
                BLOCKER,
                "image",
                f"{image} is built for {', '.join(sorted(platforms))}, the tasks run {wanted}",
                "the container fails with exec format error",
                f"ecslab --platform {wanted} run-all",
            )
        ]
    return [Finding(OK, "image", f"{digest[:19]} is in ECR, built for {wanted}")]


def _exists(app: Context, repository: str, digest: str) -> bool:
    from ecslab.aws.ecr import INDEX_TYPES, SINGLE_MANIFEST_TYPES

    return (
        app.aws.ecr.image_manifest(repository, digest, INDEX_TYPES + SINGLE_MANIFEST_TYPES)
        is not None
    )


def _secret(app: Context, stack: Stack, definition: TaskDefinition) -> list[Finding]:
    """The secrets the containers take (else the stack's DbPasswordSecret): each must
    exist, and the execution role, which ECS uses to read them, must be allowed to."""
    arns = sorted({_secret_arn(v) for c in definition.containers for v in c.secrets})
    arns = [a for a in arns if ":secretsmanager:" in a]
    if not arns:
        found = app.aws.cloudformation.resource_id(stack.stack_id, "DbPasswordSecret")
        arns = [found] if found else []
    if not arns:
        return [Finding(INFO, "secret", "the tasks take no Secrets Manager secret")]
    role = definition.execution_role_arn or app.aws.cloudformation.resource_id(
        stack.stack_id, "TaskExecutionRole"
    )
    return [finding for arn in arns for finding in _one_secret(app, arn, role or "")]


def _secret_arn(value_from: str) -> str:
    """A valueFrom may add `:json-key:version-stage:version-id` to the secret's ARN."""
    return ":".join(value_from.split(":")[:7])


def _one_secret(app: Context, arn: str, role: str) -> list[Finding]:
    if not app.aws.secrets.exists(arn):
        return [
            Finding(
                BLOCKER,
                "secret",
                f"the secret {arn} is missing (or scheduled for deletion)",
                "tasks fail with ResourceInitializationError: unable to pull secrets",
                RECREATE,
            )
        ]
    granted = app.aws.iam.inline_grant(role, "secretsmanager:GetSecretValue", arn) if role else None
    name = role.rsplit("/", 1)[-1]
    if granted:
        return [Finding(OK, "secret", f"{arn} exists; {name} may read it")]
    return [
        Finding(
            WARNING,
            "secret",
            f"{arn} exists, but no inline policy of the execution role {name or '(none)'} "
            "allows secretsmanager:GetSecretValue on it (attached managed policies are "
            "not checked)",
            "without that permission tasks fail with ResourceInitializationError",
            _grant_fix(name, arn),
        )
    ]


def _grant_fix(role: str, secret_arn: str) -> str:
    import json
    import shlex

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
        ],
    }
    return (
        f"aws iam put-role-policy --role-name {role or 'EXECUTION_ROLE'} --policy-name "
        f"read-db-password --policy-document {shlex.quote(json.dumps(policy))}"
    )


def _log_group(app: Context, definition: TaskDefinition) -> list[Finding]:
    group = definition.container(None).log_group or app.config.names.log_group
    if not app.aws.logs.group_exists(group):
        return [
            Finding(
                BLOCKER,
                "log group",
                f"log group {group} does not exist",
                "tasks fail to start: the awslogs driver cannot create their stream",
                f"aws logs create-log-group --log-group-name {group}",
            )
        ]
    return [Finding(OK, "log group", f"{group} exists")]


def _target_port(app: Context, stack: Stack, definition: TaskDefinition) -> list[Finding]:
    arn = app.aws.cloudformation.resource_id(stack.stack_id, "TargetGroup")
    port = app.aws.elbv2.target_group_port(arn) if arn else None
    ports = definition.container(None).ports
    if port is None:
        return [Finding(WARNING, "target group", "the stack's target group was not found")]
    if ports and port not in ports:
        # ECS registers each task's IP on the service's containerPort, not on the target
        # group's port (a default only), and the health check's traffic-port follows the
        # target: traffic still reaches the container. The mismatch is drift, not a block.
        return [
            Finding(
                WARNING,
                "target group",
                f"the target group's port is {port}, the container listens on "
                f"{', '.join(map(str, ports))}",
                "ECS registers targets on the service's containerPort, so traffic still "
                "arrives; a health check set to a fixed port would not",
                "ecslab step deploy-service (ContainerPort sets both)",
            )
        ]
    return [Finding(OK, "target group", f"port {port} is the container's")]


def _zones(app: Context, subnet_ids: tuple[str, ...]) -> list[Finding]:
    from ecslab.lab.stack_inputs import fargate_zone

    if not subnet_ids:
        return [Finding(WARNING, "subnets", "the service's subnets are unknown")]
    bad = [s for s in app.aws.ec2.subnets(subnet_ids) if not fargate_zone(s)]
    if bad:
        shown = ", ".join(f"{s.subnet_id} ({s.availability_zone_id})" for s in bad)
        return [
            Finding(
                BLOCKER,
                "subnets",
                f"{shown}: no Fargate in that zone",
                "tasks placed there fail to start",
                "ecslab run-all --subnet-ids A,B (subnets in other zones)",
            )
        ]
    return [Finding(OK, "subnets", f"{len(subnet_ids)} subnet(s), all in zones with Fargate")]


def _database(app: Context, stack: Stack) -> list[Finding]:
    from ecslab.lab.db_access import db_access

    access = db_access(app, stack)
    if access is None:
        return [
            Finding(INFO, "database", "not checked (the sandbox, or no task security group yet)")
        ]
    if access.open:
        return [Finding(OK, "database", access.advice())]
    if not access.db_groups:  # not an RDS instance ecslab can see: it cannot tell
        return [Finding(WARNING, "database", access.advice(), "", " ; ".join(access.commands()))]
    return [
        Finding(
            BLOCKER,
            "database",
            f"the database does not admit the tasks' group {access.task_group} on port "
            f"{access.port}",
            "tasks cannot connect: /ready fails and the targets stay unhealthy",
            " ; ".join(access.commands()),
        )
    ]
