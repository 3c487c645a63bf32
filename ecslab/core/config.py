"""Every ecslab setting, where it may come from, and how it is validated.

Precedence is written once, in `resolve`: command-line flags > `ECSLAB_*` environment
variables > the config file (`ecslab.yaml` in the current folder, or `--config PATH`) >
defaults. A few settings also honour the standard AWS variables (`AWS_PROFILE`,
`AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`) below the `ECSLAB_*` ones.
The result is one frozen `Config`, fully validated before any AWS call. Reading the
config file itself is ecslab/core/config_file.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ecslab.core.config_file import FileValue, read_config_file
from ecslab.core.errors import ConfigError
from ecslab.core.facts import DEFAULT_PLATFORM, MICROSITE_RELPATH, PLATFORMS, TEMPLATE_RELPATH
from ecslab.core.naming import Names, max_prefix_length
from ecslab.core.strategy import MAX_MINUTES as MAX_BAKE_MINUTES
from ecslab.core.strategy import Strategy
from ecslab.core.strategy import parse as parse_strategy

DEFAULT_CONFIG_FILE = "ecslab.yaml"
ENV_PREFIX = "ECSLAB_"

# Fargate task sizes AWS accepts: CPU units -> allowed memory in MiB.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_ENVIRONMENT_RE = re.compile(r"^[a-z][a-z0-9]{0,9}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


class Secret:
    """A value that is never printed: repr and str show a mask."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _setting(kind: str, help: str, default: Any = None, **more: Any) -> Any:
    """A Config field declared with everything about its setting (see `Setting`)."""
    return field(default=default, metadata={"setting": {"kind": kind, "help": help, **more}})


@dataclass(frozen=True)
class Config:
    """The resolved settings of one ecslab invocation.

    Each field is declared once, with `_setting`: its type and default here, and its kind
    (parser), help, flags, choices and extra environment variables in the metadata, from
    which `SETTINGS` derives the env var (ECSLAB_KEY), the file key and the flags' help.
    """

    profile: str | None = _setting(
        "str",
        "AWS named profile",
        flags=("--profile",),
        aws_env=("AWS_PROFILE",),
        unset="boto3's default",
    )
    region: str | None = _setting(
        "str",
        "AWS region, e.g. eu-west-1",
        flags=("--region",),
        aws_env=("AWS_REGION", "AWS_DEFAULT_REGION"),
        unset="the profile's",
    )
    endpoint_url: str | None = _setting(
        "str",
        "Send AWS calls to this endpoint (e.g. a local emulator)",
        flags=("--endpoint-url",),
        metavar="URL",
        aws_env=("AWS_ENDPOINT_URL",),
        unset="AWS",
    )
    project_name: str = _setting(
        "str",
        "First part of every AWS name",
        "ecslab",
        flags=("--project-name",),
        metavar="NAME",
    )
    environment: str = _setting(
        "str",
        "Second part of every AWS name",
        "dev",
        flags=("--environment", "-e"),
        metavar="ENV",
    )
    output: str = _setting(
        "str",
        "text for people, json for scripts: one JSON object per line",
        "text",
        flags=("--output", "-o"),
        choices=("text", "json"),
    )
    yes: bool = _setting(
        "bool", "Answer yes to confirmations; never prompt", False, flags=("--yes", "-y")
    )
    debug: bool = _setting("bool", "Show tracebacks and more detail", False, flags=("--debug",))
    no_color: bool = _setting(
        "bool", "No colours", False, flags=("--no-color",), aws_env=("NO_COLOR",)
    )
    container_port: int = _setting("int", "Port the microsite listens on", 8080)
    fargate_cpu: int = _setting(
        "int",
        "Fargate task CPU units: 256, 512, 1024, ...",
        256,
        flags=("--cpu",),
        metavar="UNITS",
    )
    fargate_memory: int = _setting(
        "int",
        "Fargate task memory in MiB, valid for --cpu",
        512,
        flags=("--memory",),
        metavar="MIB",
    )
    db_host: str | None = _setting(
        "str",
        "Database host the tasks connect to",
        flags=("--db-host",),
        metavar="HOST",
        unset="not set: required for deploy-service",
    )
    db_port: int = _setting("int", "Database port", 5432)
    db_name: str = _setting(
        "str", "Database name", "microsite", flags=("--db-name",), metavar="NAME"
    )
    db_user: str = _setting(
        "str", "Database user", "microsite", flags=("--db-user",), metavar="USER"
    )
    db_password: Secret | None = _setting(  # noqa: RUF009 (_setting is a dataclasses.field)
        "secret",
        "Database password (env var or file only, never a flag)",
        unset="asked on a terminal",
    )
    vpc_id: str | None = _setting(
        "str",
        "VPC for the load balancer and tasks",
        flags=("--vpc-id",),
        metavar="VPC",
        unset="the account's default VPC",
    )
    subnet_ids: tuple[str, ...] = _setting(
        "list",
        "Two or more subnets in different AZs",
        (),
        flags=("--subnet-ids",),
        metavar="A,B",
        unset="two subnets of the VPC",
    )
    image_tag: str | None = _setting(
        "str",
        "Image tag to push and deploy",
        flags=("--image-tag",),
        metavar="TAG",
        unset="git short SHA of the microsite",
    )
    platform: str = _setting(
        "str",
        "Image platform (what the tasks run)",
        DEFAULT_PLATFORM,
        flags=("--platform",),
        choices=PLATFORMS,
    )
    registry: str | None = _setting(
        "str",
        "Push to this registry instead of ECR's (a local stand-in)",
        flags=("--registry",),
        metavar="HOST:PORT",
        unset="ECR's",
    )
    base_image: str | None = _setting(
        "str", "BASE_IMAGE build arg of the microsite", unset="the Dockerfile's"
    )
    push_latest: bool = _setting("bool", "Also tag and push the image as latest", True)
    template: str | None = _setting(
        "str",
        "CloudFormation template",
        flags=("--template",),
        metavar="PATH",
        unset=TEMPLATE_RELPATH.as_posix(),
    )
    microsite_dir: str | None = _setting(
        "str", "Folder of the microsite to build", unset=f"{MICROSITE_RELPATH.as_posix()}/"
    )
    timeout: int | None = _setting(
        "duration",
        "Give up after this long without progress, e.g. 90s, 10m, 1h",
        flags=("--timeout",),
        metavar="DURATION",
        unset="30m for deploys, 10m for verify",
    )
    verify_url: str | None = _setting(
        "str",
        "Probe this URL instead of the stack's LoadBalancerUrl (a local stand-in)",
        flags=("--verify-url",),
        metavar="URL",
        unset="the stack's LoadBalancerUrl",
    )
    deployment_max_percent: int = _setting("int", "ECS deployment maximum percent", 200)
    deployment_min_healthy_percent: int = _setting(
        "int", "ECS deployment minimum healthy percent", 100
    )
    deployment_strategy: str = _setting(
        "str",
        "How a new release takes traffic: rolling, blue-green, canary:PERCENT:MINUTES or "
        "linear:PERCENT:MINUTES (see `ecslab explain DeploymentStrategy`)",
        "rolling",
    )
    deployment_bake_minutes: int = _setting(
        "int",
        "Minutes the new tasks take all traffic, watched by the rollback alarm, before the "
        "old ones stop (blue-green, canary, linear)",
        5,
    )
    sandbox: bool = _setting(
        "bool",
        "Rehearse the lab on this machine, no AWS account needed: moto plays the AWS API, "
        "a local Docker engine runs the tasks, a local registry stands in for ECR and a local "
        "PostgreSQL is the database. Started on first use (see `ecslab sandbox`)",
        False,
        flags=("--sandbox",),
    )
    sandbox_dir: str = _setting(
        "str", "Folder of the local sandbox's state and data", ".ecslab/sandbox"
    )
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> Names:
        return Names(self.project_name, self.environment)

    @property
    def strategy(self) -> Strategy:
        """The deployment strategy, parsed (validate() has checked it)."""
        return parse_strategy(self.deployment_strategy)

    def source_of(self, key: str) -> str:
        """Where a value came from, for messages: 'flag --region', 'ECSLAB_REGION', ..."""
        return self.sources.get(key, "default")

    def public_items(self) -> list[tuple[str, object, str]]:
        """(key, value, source) for display; secrets masked."""
        rows: list[tuple[str, object, str]] = []
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = "********"
            elif isinstance(value, tuple):
                value = ",".join(value)
            rows.append((f.name, value, self.source_of(f.name)))
        return rows


# --- parsing of raw values ---------------------------------------------------------


def _parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _parse_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", raw):
        return int(raw)
    raise ValueError("expected a whole number (at most 9 digits)")


def _parse_str(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise ValueError("expected a text value")


def _parse_list(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    raise ValueError("expected a list of text values (or a comma-separated string)")


MAX_TIMEOUT_SECONDS = 24 * 3600


def parse_duration(raw: object) -> int:
    """Seconds from 90, "90", "90s", "10m" or "1h"; at most a day."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and (match := re.fullmatch(r"\s*(\d{1,9})\s*([smh]?)\s*", raw)):
        value = int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]
    else:
        raise ValueError("expected a duration such as 90s, 10m or 1h")
    if value <= 0:
        raise ValueError("expected a duration above zero, such as 90s, 10m or 1h")
    if value > MAX_TIMEOUT_SECONDS:
        # Nothing ecslab waits for takes a day without progress; a huge value overflows
        # the clocks and sleeps it reaches.
        raise ValueError("expected a duration of at most 24h")
    return value


def _parse_secret(raw: object) -> Secret:
    return Secret(_parse_str(raw))


_PARSERS: dict[str, Callable[[object], Any]] = {
    "bool": _parse_bool,
    "int": _parse_int,
    "str": _parse_str,
    "list": _parse_list,
    "secret": _parse_secret,
    "duration": parse_duration,
}


@dataclass(frozen=True)
class Setting:
    """One setting, as `Config` declares it: key (the field's name, also the file key),
    kind (its parser), help, default, flags, choices and the extra env vars honoured."""

    key: str
    kind: str
    help: str
    default: object
    flags: tuple[str, ...] = ()  # command-line spellings; none: env var and file only
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    aws_env: tuple[str, ...] = ()
    in_file: bool = True
    # What an unset value means, for `ecslab config` and --help (defaults that are no value)
    unset: str = ""

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper()

    @property
    def flag(self) -> str:
        """The long flag (for "run this again" hints), else the one its key would have."""
        return self.flags[0] if self.flags else "--" + self.key.replace("_", "-")

    def default_text(self) -> str:
        """The default as --help shows it: the value, else what no value means."""
        value = self.default
        if isinstance(value, bool):
            return "on" if value else "off"
        if value is None or value == ():
            return self.unset or "not set"
        return ",".join(value) if isinstance(value, tuple) else str(value)

    def help_text(self) -> str:
        """The flag's help: what it does, its default and its environment variables."""
        envs = ", ".join((self.env, *self.aws_env))
        return f"{self.help} [default: {self.default_text()}]. Env: {envs}."


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, default=f.default, **f.metadata["setting"])
    for f in fields(Config)
    if "setting" in f.metadata
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


# --- resolution ---------------------------------------------------------------------


def _pick(
    setting: Setting,
    flags: Mapping[str, object],
    env: Mapping[str, str],
    file_values: Mapping[str, FileValue],
    file_path: Path | None,
    flag_names: Mapping[str, str],
    defaults: Mapping[str, tuple[object, str]],
) -> tuple[object, str] | None:
    """The raw value of one setting and where it came from, by precedence.

    `defaults` (the sandbox's values) rank below the config file and above the standard
    AWS_* variables, which describe the user's real AWS set-up.
    """
    if flags.get(setting.key) is not None:
        return flags[setting.key], f"flag {flag_names.get(setting.key, setting.flag)}"
    if env.get(setting.env, "") != "":
        return env[setting.env], setting.env
    if setting.key in file_values:
        fv = file_values[setting.key]
        return fv.value, f"{file_path}:{fv.line}"
    if setting.key in defaults:
        return defaults[setting.key]
    for name in setting.aws_env:
        if env.get(name, "") != "":
            return env[name], name
    return None


def resolve(
    flags: Mapping[str, object],
    env: Mapping[str, str],
    config_path: str | None = None,
    cwd: Path | None = None,
    flag_names: Mapping[str, str] | None = None,
    defaults: Mapping[str, tuple[object, str]] | None = None,
) -> Config:
    """Merge flags, environment, config file and defaults into one validated Config.

    `flag_names` maps a setting key to the flag the user typed (e.g. fargate_cpu -> --cpu),
    for messages. `defaults` maps a key to (raw value, source) placed below the config
    file (the sandbox's values).
    """
    file_path = _config_file_path(config_path, env, cwd or Path.cwd())
    file_keys = [s.key for s in SETTINGS if s.in_file]
    file_values = read_config_file(file_path, file_keys) if file_path else {}
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        picked = _pick(
            setting, flags, env, file_values, file_path, flag_names or {}, defaults or {}
        )
        if picked is None:
            continue
        raw, source = picked
        try:
            values[setting.key] = _PARSERS[setting.kind](raw)
        except ValueError as exc:
            raise ConfigError(
                f"{setting.key} from {source}: {exc} (got {_show(raw, setting)})",
                key=setting.key,
                source=source,
            ) from exc
        sources[setting.key] = source
    if "no_color" in values and sources["no_color"] == "NO_COLOR":
        values["no_color"] = True  # NO_COLOR means "no colour" whatever its value
    config = Config(**values, sources=sources)  # type: ignore[arg-type]
    validate(config)
    return config


def _config_file_path(config_path: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    explicit = config_path or env.get(ENV_PREFIX + "CONFIG") or None
    if explicit:
        return Path(explicit)
    default = cwd / DEFAULT_CONFIG_FILE
    return default if default.is_file() else None


def _show(raw: object, setting: Setting) -> str:
    from ecslab.core.inputs import shown

    return "a hidden value" if setting.kind == "secret" else shown(repr(raw))


# --- validation ---------------------------------------------------------------------


def _fail(config: Config, key: str, message: str, hint: str | None = None) -> ConfigError:
    from ecslab.core.inputs import shown

    value = getattr(config, key)
    text = ",".join(value) if isinstance(value, tuple) else str(value)
    return ConfigError(
        f"{key} '{shown(text)}' (from {config.source_of(key)}) {message}",
        hint,
        key=key,
        source=config.source_of(key),
    )


def validate(config: Config) -> None:
    """Check every value; raise ConfigError naming the value and what is allowed."""
    for check in (
        _check_text,
        _check_names,
        _check_region,
        _check_choices,
        _check_ports,
        _check_fargate,
        _check_deployment,
        _check_misc,
        _check_verify_url,
        _check_addresses,
        _check_password,
    ):
        check(config)


def _check_names(config: Config) -> None:
    if not _ENVIRONMENT_RE.fullmatch(config.environment):
        raise _fail(
            config,
            "environment",
            "is not valid: use 1 to 10 lower-case letters or digits, starting with a letter",
            "for example: dev, test, staging, prod",
        )
    name = config.project_name
    if not _PROJECT_RE.fullmatch(name) or name.endswith("-") or "--" in name:
        raise _fail(
            config,
            "project_name",
            "is not valid: use lower-case letters, digits and single hyphens, "
            "starting with a letter and not ending with a hyphen",
            "for example: ecslab, shop-api",
        )
    longest = max_prefix_length() - len(config.environment) - 1
    if len(name) > longest:
        raise _fail(
            config,
            "project_name",
            f"is {len(name)} characters; with environment '{config.environment}' it may be "
            f"at most {longest}, so that the load balancer name "
            f"'{config.names.load_balancer}' stays within AWS's 32-character limit",
        )


def _check_region(config: Config) -> None:
    if config.region is not None and not _REGION_RE.fullmatch(config.region):
        raise _fail(
            config,
            "region",
            "is not an AWS region code",
            "use a code such as us-east-1, eu-west-1 or ap-southeast-2",
        )


def _check_choices(config: Config) -> None:
    for setting in SETTINGS:
        if setting.choices and getattr(config, setting.key) not in setting.choices:
            *rest, last = setting.choices
            raise _fail(config, setting.key, f"is not valid: use {', '.join(rest)} or {last}")


def _check_ports(config: Config) -> None:
    if not 1 <= config.db_port <= 65535:
        raise _fail(config, "db_port", "is not a TCP port: use a number from 1 to 65535")
    if not 1024 <= config.container_port <= 65535:
        raise _fail(
            config,
            "container_port",
            "is not valid: use 1024 to 65535 (the microsite runs as a non-root user, "
            "which cannot listen below 1024)",
        )


def _check_fargate(config: Config) -> None:
    cpu, memory = config.fargate_cpu, config.fargate_memory
    if cpu not in FARGATE_SIZES:
        allowed = ", ".join(str(c) for c in FARGATE_SIZES)
        raise _fail(config, "fargate_cpu", f"is not a Fargate CPU size: use one of {allowed}")
    if memory not in FARGATE_SIZES[cpu]:
        raise _fail(
            config,
            "fargate_memory",
            f"is not valid with fargate_cpu {cpu}: use {describe_memory(cpu)}",
        )


def describe_memory(cpu: int) -> str:
    """The memory values Fargate allows with `cpu`, in words."""
    allowed = FARGATE_SIZES[cpu]
    if len(allowed) <= 3:
        return " or ".join(str(m) for m in allowed) + " MiB"
    step = allowed[1] - allowed[0]
    return f"{allowed[0]} to {allowed[-1]} MiB in steps of {step}"


def _check_deployment(config: Config) -> None:
    if not 100 <= config.deployment_max_percent <= 200:
        raise _fail(config, "deployment_max_percent", "is not valid: use 100 to 200")
    if not 0 <= config.deployment_min_healthy_percent <= 100:
        raise _fail(config, "deployment_min_healthy_percent", "is not valid: use 0 to 100")
    if config.deployment_max_percent == 100 and config.deployment_min_healthy_percent == 100:
        raise _fail(
            config,
            "deployment_min_healthy_percent",
            "with deployment_max_percent 100 leaves ECS no room to start or stop a task",
            "use 200/100 for a rolling update without downtime",
        )
    _check_strategy(config)


def _check_strategy(config: Config) -> None:
    try:
        parse_strategy(config.deployment_strategy)
    except ValueError as exc:
        raise _fail(config, "deployment_strategy", str(exc), "for example: canary:10:5") from None
    if not 0 <= config.deployment_bake_minutes <= MAX_BAKE_MINUTES:
        raise _fail(config, "deployment_bake_minutes", f"is not valid: use 0 to {MAX_BAKE_MINUTES}")


def _check_misc(config: Config) -> None:
    if config.vpc_id is not None and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", config.vpc_id):
        raise _fail(config, "vpc_id", "is not a VPC id", "for example: vpc-0a1b2c3d")
    for subnet in config.subnet_ids:
        if not re.fullmatch(r"subnet-[0-9a-f]{8,17}", subnet):
            raise ConfigError(
                f"subnet_ids (from {config.source_of('subnet_ids')}): '{_shown(subnet)}' is not a "
                "subnet id",
                "for example: subnet-0a1b2c3d",
                key="subnet_ids",
            )
    if config.subnet_ids and len(config.subnet_ids) < 2:
        raise _fail(
            config,
            "subnet_ids",
            "names one subnet; an Application Load Balancer needs two in different AZs",
        )


# --- addresses, tags and secrets --------------------------------------------------


def _shown(value: str) -> str:
    from ecslab.core.inputs import shown

    return shown(value)


def _check_text(config: Config) -> None:
    """No setting holds control characters (a newline in a host, ESC in a name)."""
    from ecslab.core.inputs import has_control

    for f in fields(config):
        value = getattr(config, f.name)
        texts = value if isinstance(value, tuple) else (value,)
        if f.name != "sources" and any(isinstance(t, str) and has_control(t) for t in texts):
            raise _fail(
                config,
                f.name,
                "contains control characters (shown escaped)",
                "remove them: a line break or escape byte is never part of a valid value",
            )


def _check_verify_url(config: Config) -> None:
    if config.verify_url is not None:
        problem = url_problem(config.verify_url)
        if problem:
            raise _fail(config, "verify_url", problem, "for example: http://127.0.0.1:8080/")


def url_problem(url: str) -> str | None:
    """Why `url` is not an http(s) URL with a host and a valid port, or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a URL: its port must be a number from 0 to 65535"
    if parts.scheme not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "is not a URL: it names no host"
    if re.search(r"\s", url):
        return "is not a URL: it contains spaces"
    if port is None and ":" in parts.netloc.rsplit("@", 1)[-1].rsplit("]", 1)[-1]:
        return "is not a URL: its port is empty"
    if parts.hostname and host_problem(parts.hostname):
        return f"is not a URL: {host_problem(parts.hostname)}"
    return None


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# Docker's reference grammar: a tag is [\w][\w.-]{0,127}.
IMAGE_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def host_problem(host: str) -> str | None:
    """Why `host` is neither a DNS name nor an IP address, or None."""
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]") if host.startswith("[") else host)
        return None
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return "the host is not a DNS name or an IP address"
    return None


def registry_problem(registry: str) -> str | None:
    """Why `registry` is not host[:port] (as Docker names a registry), or None."""
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+)(?::(\d{1,5}))?", registry)
    if match is None:
        return "is not a registry address: use host or host:port, without a scheme or path"
    if match[2] is not None and int(match[2]) > 65535:
        return "is not a registry address: its port must be a number from 0 to 65535"
    problem = host_problem(match[1])
    return f"is not a registry address: {problem}" if problem else None


def _check_addresses(config: Config) -> None:
    if config.endpoint_url is not None:
        problem = url_problem(config.endpoint_url)
        if problem:
            raise _fail(config, "endpoint_url", problem, "for example: http://127.0.0.1:5000")
    if config.db_host is not None and host_problem(config.db_host):
        raise _fail(
            config,
            "db_host",
            f"is not valid: {host_problem(config.db_host)}",
            "for example: mydb.abc123.eu-west-1.rds.amazonaws.com",
        )
    if config.registry is not None and registry_problem(config.registry):
        raise _fail(
            config,
            "registry",
            str(registry_problem(config.registry)),
            "for example: 127.0.0.1:5000",
        )
    if config.image_tag is not None and not IMAGE_TAG_RE.fullmatch(config.image_tag):
        raise _fail(
            config,
            "image_tag",
            "is not a Docker image tag: use up to 128 letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'",
            "for example: v1.2.0 or 3f2a9c1",
        )


MIN_PASSWORD_LENGTH = 8  # RDS's own minimum for a PostgreSQL master password


def _check_password(config: Config) -> None:
    if config.db_password is not None:
        problem = password_problem(config.db_password.reveal(), config)
        if problem:
            raise ConfigError(
                f"db_password (from {config.source_of('db_password')}) {problem}",
                "choose a longer password that appears in no other setting",
                key="db_password",
                source=config.source_of("db_password"),
            )


def password_problem(password: str, config: Config) -> str | None:
    """Why `password` cannot be used or masked safely, or None.

    Output masks every occurrence of the password; one that is short, or equal to a word
    ecslab prints anyway (a project, user or database name), would be revealed by where
    the mask lands ("stack ********-dev").
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"is shorter than {MIN_PASSWORD_LENGTH} characters (RDS's minimum)"
    for f in fields(config):
        value = getattr(config, f.name)
        texts = value if isinstance(value, tuple) else (value,)
        if f.name not in ("sources", "db_password") and any(
            isinstance(text, str) and password in text for text in texts
        ):
            return f"appears in the setting {f.name}, so masking it would reveal it"
    return None
