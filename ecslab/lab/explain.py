"""What each part of the lab's template is for: the content of `ecslab explain`.

Plain data and pure functions, no I/O: `explain(template)` pairs every logical resource of a
loaded template (see ecslab.lab.template) with its purpose and with the resources it uses and
is used by (read from the template's Ref, GetAtt and Sub). `AUTOSCALING` answers the lab's
question "what is each part responsible for", and `DEPARTURES` lists where the template
differs from the lab text and why; The `*_markdown()` functions render the same content for
docs/template.md. The CLI only renders what this module returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecslab.core.facts import TEMPLATE_RELPATH
from ecslab.core.template_refs import references


@dataclass(frozen=True)
class ResourceNote:
    """One logical resource: its type, what it is for, and its links to the others."""

    logical_id: str
    type: str
    purpose: str
    uses: tuple[str, ...]
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """One part of the autoscaling chain and what it is responsible for."""

    name: str
    responsibility: str


@dataclass(frozen=True)
class Departure:
    """A place where the template does not do what the lab text says."""

    id: str
    lab: str
    ours: str
    why: str


@dataclass(frozen=True)
class Explanation:
    """Everything `ecslab explain` shows."""

    resources: tuple[ResourceNote, ...]
    autoscaling: tuple[Part, ...]
    step_bounds: str
    departures: tuple[Departure, ...]
    low_memory_note: str


PURPOSES: Mapping[str, str] = {
    "EcrRepository": (
        "Private Docker image registry for the microsite. Created by the first deploy so the "
        "image can be pushed before anything runs it; kept (Retain) when the stack goes, "
        "because it holds your images."
    ),
    "EcsCluster": (
        "Logical group the service and its tasks belong to. With Fargate there are no "
        "servers to manage in it; Container Insights adds per-task metrics."
    ),
    "TaskRole": (
        "The identity of the application code inside a task: the AWS permissions the "
        "microsite itself gets. It calls no AWS API, so the role grants it none; it may "
        "open the Session Manager channels of ECS Exec (`ecslab exec`)."
    ),
    "TaskExecutionRole": (
        "The identity ECS uses on the task's behalf before and around the application: pull "
        "the image from ECR, send logs to CloudWatch Logs, read the database password secret."
    ),
    "DbPasswordSecret": (
        "Secrets Manager copy of the DbPassword parameter. ECS reads it at task start and "
        "sets it as PASSWORD, so the password never appears in the task definition."
    ),
    "CloudWatchLogsGroup": (
        "Where the containers' stdout and stderr go (awslogs driver), kept for 7 days."
    ),
    "TaskDefinition": (
        "The recipe of a task: image, CPU and memory, port 8080, environment, the password "
        "secret, logging, health check and the two roles. Each change makes a new revision."
    ),
    "LoadBalancerSecurityGroup": (
        "Firewall of the load balancer: HTTP (80) in from anywhere, out only to the tasks "
        "on the container port."
    ),
    "TaskSecurityGroup": (
        "Firewall of the tasks: out to HTTPS (AWS APIs) and the database port; in only "
        "through TaskSecurityGroupIngressFromLoadBalancer."
    ),
    "TaskSecurityGroupIngressFromLoadBalancer": (
        "The one inbound rule of the tasks: the container port, from the load balancer's "
        "security group. Separate so the two groups do not depend on each other in a circle."
    ),
    "LoadBalancer": (
        "Internet-facing Application Load Balancer: the backend's public address "
        "(LoadBalancerUrl) spread across the given subnets."
    ),
    "TargetGroup": (
        "The set of task IP addresses the load balancer sends requests to, with the health "
        "check on /health that decides which tasks get traffic. CloudFormation names it, so "
        "a new ContainerPort can replace it."
    ),
    "Listener": "Accepts HTTP on port 80 at the load balancer and forwards to the target group.",
    "AlternateTargetGroup": (
        "Only with a BLUE_GREEN, CANARY or LINEAR DeploymentStrategy: the second target group "
        "the new tasks of a deployment register in, so both versions run side by side. It "
        "and TargetGroup swap roles at every deployment."
    ),
    "ProductionListenerRule": (
        "Only when traffic shifts: the listener rule whose two forward weights ECS changes "
        "during a deployment (canary percent, linear steps, all at once for blue/green)."
    ),
    "TestListenerRule": (
        "Only when traffic shifts: requests with the header X-Ecslab-Traffic: test reach the "
        "new tasks before production traffic does."
    ),
    "EcsInfrastructureRole": (
        "Only when traffic shifts: the role ECS assumes to register tasks in the alternate "
        "target group and change the listener rules (managed policy "
        "AmazonECSInfrastructureRolePolicyForLoadBalancers)."
    ),
    "TargetErrorsAlarm": (
        "Only when traffic shifts: the tasks' 5xx answers through the load balancer, five or "
        "more in a minute. A deployment rolls back when it goes off, and names it."
    ),
    "EcsService": (
        "Keeps DesiredCount tasks of the task definition running on Fargate, replaces failed "
        "ones, registers them in the target group, and rolls out new revisions."
    ),
    "ScalableTarget": (
        "Registers the service's DesiredCount with Application Auto Scaling, between "
        "MinCapacity and MaxCapacity (2 and 10 by default; `ecslab scale --min/--max`)."
    ),
    "ScaleDownPolicy": "Step scaling: remove one task when the low-memory alarm fires.",
    "ScaleUpPolicy": (
        "Step scaling: add 1, 2 or 3 tasks depending on how far memory is above 70 %."
    ),
    "LowMemoryUsageAlarm": (
        "Watches the service's average memory each minute; at or below 20 % it triggers "
        "ScaleDownPolicy."
    ),
    "HighMemoryUsageAlarm": (
        "Watches the service's average memory each minute; at or above 70 % it triggers "
        "ScaleUpPolicy."
    ),
}

AUTOSCALING: tuple[Part, ...] = (
    Part(
        "AutoScalingRole",
        "Lets Application Auto Scaling read the alarms and change the service's desired "
        "count. The lab creates it by hand; AWS now uses the service-linked role "
        "AWSServiceRoleForApplicationAutoScaling_ECSService for ECS, created on first use, "
        "so the template has no AutoScalingRole.",
    ),
    Part(
        "ScalableTarget",
        "Says what may scale and how far: the service's DesiredCount "
        "(`ecs:service:DesiredCount` of `service/<cluster>/<service>`), never below "
        "MinCapacity (2) or above MaxCapacity (10); `ecslab scale` changes them.",
    ),
    Part(
        "ScaleDownPolicy / ScaleUpPolicy",
        "Say how much to change when asked: step adjustments chosen by how far the metric is "
        "from the alarm threshold, with a 60 s cooldown so one change takes effect before "
        "the next.",
    ),
    Part(
        "LowMemoryUsageAlarm / HighMemoryUsageAlarm",
        "Say when: they watch AWS/ECS MemoryUtilization of the service (average over 60 s, "
        "one period) and invoke a policy when memory is <= 20 % or >= 70 %.",
    ),
    Part(
        "EcsService",
        "Does the work: when the desired count changes it starts or stops tasks and "
        "(de)registers them in the target group.",
    ),
)

STEP_BOUNDS = (
    "Step bounds are relative to the alarm's threshold, not absolute percentages. "
    "ScaleDownPolicy's one step, upper bound 0, covers (-inf, 0] below the 20 % threshold: "
    "any breach of the <= 20 % alarm removes one task. ScaleUpPolicy's steps over the 70 % "
    "threshold are [0, 15) = 70-85 % memory: +1 task, [15, 25) = 85-95 %: +2, "
    "[25, +inf) = 95 % and more: +3. The lab has these right; the template keeps them."
)

LOW_MEMORY_AT_MINIMUM = (
    "The lab's numbers, honestly: the microsite uses about 34 MiB, some 7 % of a 512 MiB "
    "task, so LowMemoryUsageAlarm (<= 20 %) is in ALARM all the time, even at the minimum "
    'of 2 tasks. Its scale-in is then refused (a "not scaled" activity, '
    "AlreadyAtMinCapacity) every minute, and memory hardly moves with load, so "
    "HighMemoryUsageAlarm would fire only on a leak. A careful engineer would scale this "
    "service on what load changes: CPUUtilization, or ALBRequestCountPerTarget with a "
    "target tracking policy (one policy, both directions, no flapping pair of alarms), and "
    "keep a memory alarm as an alert, not a scaling trigger. ecslab keeps the lab's parts "
    "so its step 11 can be followed as written."
)

DEPARTURES: tuple[Departure, ...] = (
    Departure(
        "managed-policy-name",
        "TaskExecutionRole attaches AmazoneCSTaskExecutionRolePolicy.",
        "Attaches arn:${AWS::Partition}:iam::aws:policy/service-role/"
        "AmazonECSTaskExecutionRolePolicy.",
        "The lab's name does not exist; the deploy fails attaching it.",
    ),
    Departure(
        "password-secret",
        "DbPassword goes into the container's Environment as PASSWORD.",
        "DbPassword is a NoEcho parameter stored in a Secrets Manager secret and injected "
        "with the container definition's Secrets as PASSWORD; the execution role may read "
        "that one secret only.",
        "Environment values are readable by anyone who can describe the task definition, "
        "and show in the console.",
    ),
    Departure(
        "password-rollout",
        "A new DbPassword reaches the tasks only when they are next replaced.",
        "A DbPasswordVersion parameter, which ecslab derives from the password's salted "
        "hash, is a Docker label of the container: a new password gives the task definition "
        "a new revision, and the service rolls its tasks onto it.",
        "Tasks read their secrets once, at start; a new secret value alone changes no "
        "resource the service watches, so old tasks would keep the old password.",
    ),
    Departure(
        "task-role-least-privilege",
        "TaskRole allows s3:* on every resource.",
        "TaskRole grants the application no permissions (only ECS Exec's Session Manager "
        "channels), and its trust policy accepts only ECS tasks of this account and region.",
        "The microsite calls no AWS API. s3:* on * would let a compromised container read, "
        "change or delete every bucket in the account.",
    ),
    Departure(
        "rolling-deployment",
        "DeploymentConfiguration MaximumPercent 100, MinimumHealthyPercent 0.",
        "Parameters DeploymentMaximumPercent (default 200) and "
        "DeploymentMinimumHealthyPercent (default 100): a zero-downtime rolling update. "
        "Pass 100 and 0 to get the lab's behaviour.",
        "100/0 lets ECS stop every running task before starting the new ones: each deploy "
        "is an outage.",
    ),
    Departure(
        "deployment-strategy",
        "Rolling updates only.",
        "A DeploymentStrategy parameter (ecslab's deployment_strategy: rolling, blue-green, "
        "canary:PERCENT:MINUTES, linear:PERCENT:MINUTES). All but ROLLING add an alternate "
        "target group, production and test listener rules, ECS's infrastructure role for "
        "load balancers, a bake time (BakeTimeMinutes) and a target 5xx alarm that rolls the "
        "deployment back. ROLLING, the default, adds nothing.",
        "A rolling update sends production traffic to each new task as soon as it is "
        "healthy; shifting traffic by weight tries the new version on a share first, keeps "
        "the old tasks through the bake time and rolls back by moving the weights back.",
    ),
    Departure(
        "circuit-breaker",
        "No deployment circuit breaker.",
        "DeploymentCircuitBreaker enabled with Rollback.",
        "A revision whose tasks keep failing is rolled back to the last working one instead "
        "of being retried for hours while the stack waits.",
    ),
    Departure(
        "autoscaling-role",
        "An AutoScalingRole allowed application-autoscaling:*, cloudwatch:* and ecs:* "
        "actions on every resource, passed as the ScalableTarget's RoleARN.",
        "No AutoScalingRole and no RoleARN: Application Auto Scaling uses its "
        "service-linked role AWSServiceRoleForApplicationAutoScaling_ECSService.",
        "For ECS, Application Auto Scaling uses the service-linked role (creating it on "
        "first use) whatever RoleARN says; the lab's role would only be unused privilege.",
    ),
    Departure(
        "scaling-target-id",
        "The scaling policies repeat ResourceId, ScalableDimension and ServiceNamespace and "
        "use DependsOn: ScalableTarget.",
        "The policies name the target with ScalingTargetId: !Ref ScalableTarget.",
        "One source of truth for `service/<cluster>/<service>`; the reference also orders "
        "creation. Step adjustments, cooldowns and thresholds are the lab's.",
    ),
    Departure(
        "undefined-network",
        "The service refers to SecurityGroupIds, SubnetIds and TargetGroup, never defined.",
        "VpcId and SubnetIds are parameters (ecslab fills them from the default VPC). The "
        "template defines the Application Load Balancer, an HTTP listener on 80, an `ip` "
        "target group checking /health, and two security groups: internet to the load "
        "balancer on 80, load balancer to the tasks on the container port only.",
        "The lab's template cannot deploy without them, and the lab's last step needs the "
        "load balancer's URL.",
    ),
    Departure(
        "database-access",
        "The database is outside the template, and nothing lets the tasks reach it.",
        "The TaskSecurityGroupId output; after deploy-service, and in verify's diagnosis, "
        "ecslab prints the exact `aws ec2 authorize-security-group-ingress` that opens the "
        "database's security group to the tasks on the database port. The template does not "
        "change the database's group.",
        "That group belongs to the database (often shared, or another stack's): a rule "
        "owned by this stack would vanish with it and cannot be reviewed where the database "
        "is managed. Without the rule the first deploy's tasks cannot connect.",
    ),
    Departure(
        "string-environment",
        "PORT is set with !Ref ContainerPort; the database's port and name are not passed.",
        "Numeric environment values are written with !Sub (PORT, DB_PORT), and DB_PORT and "
        "DB_NAME are passed from the DbPort and DbName parameters.",
        "ECS environment values are strings. CloudFormation hands parameter values over as "
        "strings either way; !Sub says so in the template. The microsite needs the port and "
        "name of its database as well as HOST.",
    ),
    Departure(
        "container-health-check",
        "No container health check.",
        "A HealthCheck runs python against `http://127.0.0.1:<port>/health` every 30 s.",
        "ECS replaces a task whose process hangs even before the load balancer notices.",
    ),
    Departure(
        "init-process",
        "The application is PID 1 in the container.",
        "LinuxParameters InitProcessEnabled: an init process is PID 1, forwards signals and "
        "reaps orphaned processes.",
        "A PID 1 gets no default signal handling: an entry point that installs no SIGTERM "
        "handler is killed only after the 30 s stop timeout. The microsite handles SIGTERM "
        "itself; the init process makes a prompt stop independent of the image.",
    ),
    Departure(
        "cpu-architecture",
        "The task definition leaves the CPU architecture implicit (X86_64).",
        "RuntimePlatform with a CpuArchitecture parameter (X86_64 or ARM64), set by ecslab "
        "from the platform the image was built for.",
        "An image built for linux/arm64 (on Apple Silicon, say) cannot start on X86_64 "
        "tasks; ARM64 tasks also cost less for the same size.",
    ),
    Departure(
        "read-only-root",
        "The container's file system is writable.",
        "ReadonlyRootFilesystem, with /tmp on the task's ephemeral storage.",
        "An attacker in the container cannot change the application's files.",
    ),
    Departure(
        "alarm-description",
        "AlarmDescription uses ${EcsService}.",
        "Uses ${EcsService.Name}.",
        "Ref of a service is its ARN; the name reads better in an alarm.",
    ),
    Departure(
        "repository-settings",
        "The repository has only DeletionPolicy Retain.",
        "Adds UpdateReplacePolicy Retain, a fixed RepositoryName, scan on push and a "
        "lifecycle rule expiring untagged images beyond the last 10.",
        "Retain must hold on replacement too; ecslab pushes to a known name; untagged images "
        "pile up with every push and cost storage.",
    ),
    Departure(
        "deregistration-delay",
        "Target group defaults (not defined in the lab).",
        "deregistration_delay 30 s and health check every 15 s.",
        "The 300 s default makes every rolling deploy wait five minutes per old task.",
    ),
    Departure(
        "scaling-parameters",
        "The service's DesiredCount (2) and the scalable target's MinCapacity (2) and "
        "MaxCapacity (10) are written into the resources.",
        "Parameters DesiredCount, MinCapacity and MaxCapacity with the lab's values as "
        "defaults; `ecslab scale` changes them through the stack and every deploy keeps the "
        "deployed values.",
        "A count changed outside the stack (the console, `aws ecs update-service`) is set "
        "back by the next stack update that touches the service; through the stack it holds.",
    ),
    Departure(
        "ecs-exec",
        "No way into a running task.",
        "The service sets EnableExecuteCommand, and TaskRole may open the four "
        "ssmmessages channels ECS Exec uses (`ecslab exec`, `aws ecs execute-command`).",
        "Looking inside a running task (its files, its view of the database) is the first "
        "thing a team does when it misbehaves; ECS Exec needs both settings, on the service "
        "and on the task role (not the execution role).",
    ),
    Departure(
        "two-deploys",
        "Deploy the same template twice, adding resources between the deploys.",
        "ecslab derives a phase-1 template (the repository, its two parameters and two "
        "outputs) from the full template and deploys it first, then the full template.",
        "One file defines the repository for both deploys, and the full template stays "
        "deployable in one go.",
    ),
)


def explain(template: Mapping[str, Any]) -> Explanation:
    """The explanation of a loaded template (long-form data from ecslab.lab.template)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    uses = {name: _resource_links(body, resources) for name, body in resources.items()}
    notes = tuple(
        ResourceNote(
            logical_id=name,
            type=str(body.get("Type", "")),
            purpose=PURPOSES.get(name, "Not part of the lab's template; no note for it."),
            uses=uses[name],
            used_by=tuple(other for other in resources if name in uses[other]),
        )
        for name, body in resources.items()
    )
    return Explanation(notes, AUTOSCALING, STEP_BOUNDS, DEPARTURES, LOW_MEMORY_AT_MINIMUM)


def autoscaling_markdown() -> str:
    """The lab's autoscaling question answered, as a Markdown section for docs/template.md."""
    lines = ["## Autoscaling: what each part is responsible for", ""]
    lines += [f"- **{part.name}**: {part.responsibility}" for part in AUTOSCALING]
    return "\n".join([*lines, "", STEP_BOUNDS, "", LOW_MEMORY_AT_MINIMUM, ""])


@dataclass(frozen=True)
class StepRow:
    """One step of a step scaling policy, relative to its alarm's threshold and absolute."""

    bounds: str  # e.g. "[15, 25)"
    metric: str  # e.g. "85 % <= memory < 95 %"
    adjustment: str  # e.g. "+2 tasks"


def step_rows(template: Mapping[str, Any], policy_id: str) -> tuple[StepRow, ...]:
    """The steps of a StepScaling policy of the template, read against the threshold of the
    alarm that triggers it (none when the resource is not such a policy)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    policy = resources.get(policy_id, {})
    config = policy.get("Properties", {}).get("StepScalingPolicyConfiguration")
    if policy.get("Type") != "AWS::ApplicationAutoScaling::ScalingPolicy" or not config:
        return ()
    alarm: Mapping[str, Any] = next(
        (
            body.get("Properties", {})
            for body in resources.values()
            if body.get("Type") == "AWS::CloudWatch::Alarm"
            and {"Ref": policy_id} in body.get("Properties", {}).get("AlarmActions", [])
        ),
        {},
    )
    threshold = alarm.get("Threshold")
    rows = []
    for step in config.get("StepAdjustments", []):
        lower, upper = step.get("MetricIntervalLowerBound"), step.get("MetricIntervalUpperBound")
        rows.append(
            StepRow(
                _interval(lower, upper),
                _absolute(lower, upper, threshold, str(alarm.get("MetricName", "metric"))),
                f"{int(step['ScalingAdjustment']):+d} task(s)",
            )
        )
    return tuple(rows)


def _interval(lower: Any, upper: Any) -> str:
    """Above the threshold a step holds [lower, upper); below it (lower, upper]."""
    below = upper is not None and float(upper) <= 0
    low = "(-inf" if lower is None else ("(" if below else "[") + f"{float(lower):g}"
    high = "+inf)" if upper is None else f"{float(upper):g}" + ("]" if below else ")")
    return f"{low}, {high}"


def _absolute(lower: Any, upper: Any, threshold: Any, metric: str) -> str:
    if threshold is None:
        return "(no alarm of the template triggers this policy)"
    t = float(threshold)
    below = upper is not None and float(upper) <= 0
    parts = []
    if lower is not None:
        parts.append(f"{t + float(lower):g} % {'<' if below else '<='}")
    parts.append(metric)
    if upper is not None:
        parts.append(f"{'<=' if below else '<'} {t + float(upper):g} %")
    return " ".join(parts)


def scan_skips(template: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """(check id, resource, reason) of every security-scan finding the template skips."""
    return tuple(
        (str(skip["id"]), name, " ".join(str(skip.get("comment", "")).split()))
        for name, body in template.get("Resources", {}).items()
        for skip in body.get("Metadata", {}).get("checkov", {}).get("skip", [])
    )


def scan_skips_markdown(template: Mapping[str, Any]) -> str:
    """The skipped checks as a Markdown table for docs/template.md."""
    lines = ["| Check | Resource | Reason |", "|---|---|---|"]
    lines += [f"| {check} | {name} | {reason} |" for check, name, reason in scan_skips(template)]
    return "\n".join(lines) + "\n"


def departures_markdown() -> str:
    """The departures as a Markdown section (the body of docs/template.md's list)."""
    lines = [
        "## Departures from the lab",
        "",
        f"Where `{TEMPLATE_RELPATH.as_posix()}` does not do what the lab text says, and why. "
        'The template marks each place with a "LAB:" comment; `ecslab explain` prints the '
        "same list.",
        "",
    ]
    for departure in DEPARTURES:
        lines += [
            f"### {departure.id}",
            "",
            f"- **Lab:** {departure.lab}",
            f"- **Template:** {departure.ours}",
            f"- **Why:** {departure.why}",
            "",
        ]
    return "\n".join(lines)


def _resource_links(body: Any, resources: Mapping[str, Any]) -> tuple[str, ...]:
    """The other resources a resource refers to, in template order."""
    named = references(body.get("Properties", {})) | set(_depends_on(body))
    return tuple(name for name in resources if name in named)


def _depends_on(body: Any) -> list[str]:
    depends = body.get("DependsOn", [])
    return [depends] if isinstance(depends, str) else list(depends)
