"""The values the stack's parameters take: image, network, database, sizes.

Each comes from the config when set, else from the real state: the image from ECR (the
configured tag, else the tag push-image derives, else the newest pushed image), the network
from the account's default VPC and two of its subnets in different Availability Zones.
Anything missing is a UsageError that says where to set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecslab.aws.cloudformation import UPDATABLE_STATES
from ecslab.core.errors import UsageError
from ecslab.core.facts import CPU_ARCHITECTURES, DB_PASSWORD_ENV
from ecslab.core.naming import deployed

if TYPE_CHECKING:
    from ecslab.aws.cloudformation import Stack
    from ecslab.aws.ec2 import Subnet
    from ecslab.aws.ecr import ImageDetail
    from ecslab.core.strategy import Strategy
    from ecslab.lab.context import Context
    from ecslab.lab.deploy import DesiredStack

PUSH_HINT = "run `ecslab step push-image` first"


def stack_tags(app: Context) -> dict[str, str]:
    names = app.config.names
    return {"ecslab:project": names.project, "ecslab:environment": names.environment}


def template_parameters(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    """The values of the parameters `template` declares; a required one missing is an error."""
    declared: Mapping[str, Any] = template.get("Parameters", {})
    missing = [k for k, v in declared.items() if k not in values and "Default" not in v]
    if missing:
        raise UsageError(
            f"the template needs parameter(s) {', '.join(missing)}, which ecslab does not set",
            "give them a Default in the template, or use the lab's template",
        )
    return {k: values[k] for k in declared if k in values}


# --- network ------------------------------------------------------------------------------

# Availability Zones where Fargate runs no Linux tasks, by zone ID: a zone's name
# (us-east-1e) maps to a different physical zone in each account, its ID (use1-az3) does
# not. From the ECS Developer Guide's "Supported Regions for Amazon ECS on AWS Fargate"
# (us-west-1 and ap-northeast-1 list the zones they support; us-east-1's use1-az3 has no
# Fargate capacity). Update it from that page when AWS adds a zone.
FARGATE_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "apne1-az3"})


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnet_ids: tuple[str, ...]
    source: str


def resolve_network(app: Context, deployed: Stack | None = None) -> Network:
    """VPC and subnets: configured, else those the `deployed` stack already runs in, else
    the default VPC and two of its subnets in different AZs.

    Keeping a deployed stack's network when none is configured asks EC2 nothing, and
    never moves a running load balancer because the default VPC's subnets changed.
    """
    config = app.config
    kept = None if config.subnet_ids or config.vpc_id else _deployed_network(deployed)
    if kept is not None:
        return kept
    ec2 = app.aws.ec2
    if config.subnet_ids:
        subnets = ec2.subnets(config.subnet_ids)
        source = "subnet_ids from " + config.source_of("subnet_ids")
        _check_subnets(subnets, config.vpc_id, source)
        _warn_no_fargate(app, subnets, source)
        return Network(subnets[0].vpc_id, config.subnet_ids, "config")
    vpc_id = config.vpc_id or ec2.default_vpc_id()
    if vpc_id is None:
        raise UsageError(
            "no VPC is configured and this account has no default VPC in this region",
            "set vpc_id and subnet_ids (two public subnets in different AZs) in ecslab.yaml "
            "or with --vpc-id / --subnet-ids, or create a default VPC: "
            "`aws ec2 create-default-vpc`",
        )
    candidates = ec2.subnets_of_vpc(vpc_id)
    chosen = pick_subnets(candidates)
    if len(chosen) < 2:
        skipped = sorted({s.availability_zone_id for s in candidates if not fargate_zone(s)})
        why = f" (skipped zone(s) without Fargate: {', '.join(skipped)})" if skipped else ""
        raise UsageError(
            f"VPC {vpc_id} has no two subnets in different Availability Zones that offer "
            f"Fargate{why}; an Application Load Balancer needs two zones",
            "create them, or set subnet_ids (--subnet-ids A,B) to two that are",
        )
    source = "config" if config.vpc_id else "default VPC"
    return Network(vpc_id, tuple(s.subnet_id for s in chosen), source)


def _deployed_network(stack: Stack | None) -> Network | None:
    if stack is None or stack.status not in UPDATABLE_STATES:
        return None
    vpc_id = stack.parameters.get("VpcId", "")
    # AWS returns a list parameter as "a,b"; moto as "['a', 'b']".
    raw = stack.parameters.get("SubnetIds", "").strip().strip("[]")
    subnets = tuple(s.strip().strip("'\"") for s in raw.split(",") if s.strip())
    if not vpc_id or len(subnets) < 2:
        return None
    return Network(vpc_id, subnets, "the deployed stack")


def fargate_zone(subnet: Subnet) -> bool:
    """Whether Fargate runs tasks in the subnet's zone (judged by zone ID, see above)."""
    return subnet.availability_zone_id not in FARGATE_UNSUPPORTED_ZONE_IDS


def pick_subnets(subnets: list[Subnet]) -> list[Subnet]:
    """Two subnets in different AZs that offer Fargate, public (default-for-AZ) first."""
    ranked = sorted(
        (s for s in subnets if fargate_zone(s)),
        key=lambda s: (
            not s.default_for_az,
            not s.public_ip_on_launch,
            s.availability_zone,
            s.subnet_id,
        ),
    )
    chosen: list[Subnet] = []
    for subnet in ranked:
        if subnet.availability_zone not in {c.availability_zone for c in chosen}:
            chosen.append(subnet)
        if len(chosen) == 2:
            break
    return sorted(chosen, key=lambda s: s.availability_zone)


def _warn_no_fargate(app: Context, subnets: list[Subnet], source: str) -> None:
    for subnet in subnets:
        if not fargate_zone(subnet):
            app.ui.warning(
                f"{source}: subnet {subnet.subnet_id} is in {subnet.availability_zone} "
                f"({subnet.availability_zone_id}), where Fargate runs no tasks: tasks "
                "placed there fail to start; pick subnets in other zones"
            )


def _check_subnets(subnets: list[Subnet], vpc_id: str | None, source: str) -> None:
    vpcs = {s.vpc_id for s in subnets}
    if len(vpcs) > 1:
        raise UsageError(f"{source}: the subnets are in different VPCs ({', '.join(sorted(vpcs))})")
    if vpc_id is not None and vpcs != {vpc_id}:
        raise UsageError(f"{source}: the subnets are not in vpc_id {vpc_id}")
    if len({s.availability_zone for s in subnets}) < 2:
        raise UsageError(
            f"{source}: the subnets are all in one Availability Zone; an Application Load "
            "Balancer needs two AZs"
        )


# --- image --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    reference: str  # repository URI @ digest
    tag: str
    source: str


def resolve_image(app: Context, *, strict: bool = False) -> Image | None:
    """The image to deploy, by digest; None when nothing suitable is in ECR yet.

    The configured image_tag, when set (`strict`: its absence is an error). Otherwise the
    tag push-image derives (git SHA), else the newest pushed image.
    """
    from ecslab.lab.image_platform import check_platform

    ecr = app.aws.ecr
    stack = app.aws.cloudformation.describe(app.config.names.stack)
    where = deployed(app.config.names, stack.outputs if stack else None)
    repository = where.repository
    uri = where.repository_uri or ecr.repository_uri(repository)
    if uri is None:
        return None
    if app.config.image_tag:
        found = ecr.find_image(repository, app.config.image_tag)
        if found is None and not strict:
            return None
        if found is None:
            raise UsageError(
                f"image tag {app.config.image_tag} (from {app.config.source_of('image_tag')}) "
                f"is not in ECR repository {repository}",
                PUSH_HINT,
            )
        return _image(uri, found, app.config.image_tag, "image_tag")
    derived = _derived_tag(app)
    found = ecr.find_image(repository, derived) if derived else None
    if found is not None and derived:
        return _image(uri, found, derived, "this checkout")
    latest = ecr.latest_image(repository)
    if latest is None:
        return None
    image = _image(uri, latest, "", "newest in ECR")
    # Pushed from anywhere, for any architecture: unlike the derived tag, not by this config.
    check_platform(app, repository, uri, latest.digest, image.tag)
    return image


def _derived_tag(app: Context) -> str | None:
    from ecslab.lab.images import default_tag

    try:
        return default_tag(app)
    except UsageError as exc:  # no microsite folder here: fall back to the newest image
        app.ui.debug_log(f"no derived image tag: {exc.message}")
        return None


def _image(uri: str, found: ImageDetail, tag: str, source: str) -> Image:
    shown = tag or (found.tags[0] if found.tags else found.digest[:19])
    return Image(f"{uri}@{found.digest}", shown, source)


def require_image(app: Context) -> Image:
    image = resolve_image(app, strict=True)
    if image is None:
        raise UsageError(
            f"no image in ECR repository {app.config.names.repository} to deploy", PUSH_HINT
        )
    return image


# --- all parameters of the full template -----------------------------------------------------


# Set by `ecslab scale`, not by the config: every deploy keeps the deployed values, so a
# later deploy never undoes a scale (absent, the template's defaults apply).
SCALING_PARAMETERS = ("DesiredCount", "MinCapacity", "MaxCapacity")


def kept_scaling(stack: Stack | None) -> dict[str, str]:
    """The deployed stack's task count and autoscaling bounds, to deploy again unchanged."""
    if stack is None or stack.status not in UPDATABLE_STATES:
        return {}
    return {k: stack.parameters[k] for k in SCALING_PARAMETERS if stack.parameters.get(k)}


def full_stack(
    app: Context,
    stack: Stack,
    image_reference: str,
    overrides: Mapping[str, str],
    resume: str,
) -> DesiredStack:
    """The full template as deploy-service deploys it, on the deployed stack's network and
    scaling, with `image_reference` and `overrides` (what `rollback` and `scale` change)."""
    from ecslab.lab.deploy import DesiredStack
    from ecslab.lab.template import lab_template

    template = lab_template(app)
    values = service_values(app, image_reference, resolve_network(app, stack))
    values.update(kept_scaling(stack))
    values.update(overrides)
    return DesiredStack(
        name=app.config.names.stack,
        template=template,
        parameters=template_parameters(template, values),
        tags=stack_tags(app),
        label="full template",
        resume=resume,
    )


def service_values(app: Context, image_reference: str, network: Network) -> dict[str, str]:
    """Every parameter value of the full template (the password included; never shown)."""
    config = app.config
    if not config.db_host:
        raise UsageError(
            "db_host is not set: the tasks need the database's host name",
            "set ECSLAB_DB_HOST, db_host in ecslab.yaml, or pass --db-host",
        )
    password = app.db_password()  # from ECSLAB_DB_PASSWORD, the config file, or a prompt
    if not password:
        raise UsageError("the database password is empty", f"set {DB_PASSWORD_ENV}")
    return {
        "ProjectName": config.project_name,
        "Environment": config.environment,
        "DockerImageTag": image_reference,
        "CpuArchitecture": CPU_ARCHITECTURES[config.platform],
        "FargateCpu": str(config.fargate_cpu),
        "FargateMemory": str(config.fargate_memory),
        "ContainerPort": str(config.container_port),
        "DbHost": config.db_host,
        "DbPort": str(config.db_port),
        "DbName": config.db_name,
        "DbUser": config.db_user,
        "DbPassword": password,
        "VpcId": network.vpc_id,
        "SubnetIds": ",".join(network.subnet_ids),
        "DeploymentMaximumPercent": str(config.deployment_max_percent),
        "DeploymentMinimumHealthyPercent": str(config.deployment_min_healthy_percent),
        **strategy_parameters(config.strategy, config.deployment_bake_minutes),
    }


def strategy_parameters(strategy: Strategy, bake_minutes: int) -> dict[str, str]:
    """The template's deployment strategy parameters (see core/strategy.py)."""
    values = {"DeploymentStrategy": strategy.api_name, "BakeTimeMinutes": str(bake_minutes)}
    if strategy.kind == "canary":
        values["CanaryPercent"] = f"{strategy.percent:g}"
    if strategy.kind == "linear":
        values["LinearStepPercent"] = f"{strategy.percent:g}"
    if strategy.kind in ("canary", "linear"):
        values["TrafficShiftMinutes"] = str(strategy.minutes)
    return values
