"""Every ecslab setting, where it may come from, and how it is validated.

Precedence is written once, in `resolve`: command-line flags > `ECSLAB_*` environment
variables > the config file (`ecslab.yaml` in the current folder, or `--config PATH`) >
defaults. A few settings also honour the standard AWS variables (`AWS_PROFILE`,
`AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`) below the `ECSLAB_*` ones.
The result is one frozen `Config`, fully validated before any AWS call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ecslab.core.errors import ConfigError
from ecslab.core.facts import DEFAULT_PLATFORM, PLATFORMS
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


@dataclass(frozen=True)
class Config:
    """The resolved settings of one ecslab invocation."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    project_name: str = "ecslab"
    environment: str = "dev"
    output: str = "text"
    yes: bool = False
    debug: bool = False
    no_color: bool = False
    container_port: int = 8080
    fargate_cpu: int = 256
    fargate_memory: int = 512
    db_host: str | None = None
    db_port: int = 5432
    db_name: str = "microsite"
    db_user: str = "microsite"
    db_password: Secret | None = None
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    image_tag: str | None = None
    platform: str = DEFAULT_PLATFORM
    registry: str | None = None
    # push-image: the Dockerfile's BASE_IMAGE build arg (None: the Dockerfile's default)
    base_image: str | None = None
    # push-image: also tag and push the image as `latest`
    push_latest: bool = True
    template: str | None = None
    microsite_dir: str | None = None
    timeout: int | None = None
    # verify: probe this URL instead of the stack's LoadBalancerUrl (sandbox, tests)
    verify_url: str | None = None
    deployment_max_percent: int = 200
    deployment_min_healthy_percent: int = 100
    # rolling, blue-green, canary:PERCENT:MINUTES or linear:PERCENT:MINUTES (core/strategy.py)
    deployment_strategy: str = "rolling"
    # minutes the new tasks take all traffic, watched by the rollback alarm, before the old
    # ones stop (blue-green, canary, linear)
    deployment_bake_minutes: int = 5
    # run against the local sandbox (moto, dockerd, registry, PostgreSQL) instead of AWS
    sandbox: bool = False
    sandbox_dir: str = ".ecslab/sandbox"
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
    """One setting: its key (file key and flag name), kind, and extra env vars honoured."""

    key: str
    kind: str
    help: str
    aws_env: tuple[str, ...] = ()
    in_file: bool = True
    # What an unset value means, for `ecslab config` (settings whose default is not a value)
    unset: str = ""

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper()

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "profile", "str", "AWS named profile", aws_env=("AWS_PROFILE",), unset="boto3's default"
    ),
    Setting(
        "region",
        "str",
        "AWS region",
        aws_env=("AWS_REGION", "AWS_DEFAULT_REGION"),
        unset="the profile's",
    ),
    Setting("endpoint_url", "str", "AWS endpoint URL", aws_env=("AWS_ENDPOINT_URL",), unset="AWS"),
    Setting("project_name", "str", "project name, first part of every AWS name"),
    Setting("environment", "str", "environment name, second part of every AWS name"),
    Setting("output", "str", "text or json"),
    Setting("yes", "bool", "answer yes to every confirmation"),
    Setting("debug", "bool", "show tracebacks and AWS calls"),
    Setting("no_color", "bool", "no colours", aws_env=("NO_COLOR",)),
    Setting("container_port", "int", "port the microsite listens on"),
    Setting("fargate_cpu", "int", "task CPU units"),
    Setting("fargate_memory", "int", "task memory in MiB"),
    Setting(
        "db_host",
        "str",
        "database host the tasks connect to",
        unset="not set: required for deploy-service",
    ),
    Setting("db_port", "int", "database port"),
    Setting("db_name", "str", "database name"),
    Setting("db_user", "str", "database user"),
    Setting(
        "db_password",
        "secret",
        "database password (env var or file only, never a flag)",
        unset="asked on a terminal",
    ),
    Setting(
        "vpc_id", "str", "VPC for the load balancer and tasks", unset="the account's default VPC"
    ),
    Setting(
        "subnet_ids",
        "list",
        "subnets (two or more, in different AZs)",
        unset="two subnets of the VPC",
    ),
    Setting(
        "image_tag",
        "str",
        "image tag to build, push and deploy",
        unset="git short SHA of the microsite",
    ),
    Setting("platform", "str", "image platform"),
    Setting("registry", "str", "registry address that stands in for ECR's", unset="ECR's"),
    Setting(
        "base_image",
        "str",
        "BASE_IMAGE build arg of the microsite [default: Dockerfile's]",
        unset="the Dockerfile's",
    ),
    Setting("push_latest", "bool", "also tag and push the image as latest"),
    Setting(
        "template", "str", "path of the CloudFormation template", unset="templates/worshop-ecs.yaml"
    ),
    Setting("microsite_dir", "str", "folder of the microsite to build", unset="microsite/"),
    Setting(
        "timeout",
        "duration",
        "how long to wait without progress (90s, 10m, 1h)",
        unset="30m for deploys, 10m for verify",
    ),
    Setting(
        "verify_url",
        "str",
        "URL verify probes instead of the load balancer's (sandbox)",
        unset="the stack's LoadBalancerUrl",
    ),
    Setting("deployment_max_percent", "int", "ECS deployment maximum percent"),
    Setting("deployment_min_healthy_percent", "int", "ECS deployment minimum healthy percent"),
    Setting(
        "deployment_strategy",
        "str",
        "rolling, blue-green, canary:PERCENT:MINUTES or linear:PERCENT:MINUTES",
    ),
    Setting("deployment_bake_minutes", "int", "minutes at full traffic before old tasks stop"),
    Setting("sandbox", "bool", "run the lab in the local sandbox instead of AWS"),
    Setting("sandbox_dir", "str", "folder of the local sandbox's state and data"),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


# --- the config file ----------------------------------------------------------------


@dataclass(frozen=True)
class FileValue:
    value: object
    line: int


def read_config_file(path: Path) -> dict[str, FileValue]:
    """Read `ecslab.yaml`: a flat mapping of setting keys; errors name file, line and key.

    Bounded and strict (see ecslab/inputs.py): size cap, UTF-8, no tags, no aliases,
    no key twice. A value is a scalar or a list of scalars; messages never quote a line.
    """
    import yaml

    from ecslab.core.inputs import CONFIG_MAX_BYTES, CONFIG_MAX_DEPTH, check_yaml, read_text

    what = "config file"
    text = read_text(
        path,
        what,
        CONFIG_MAX_BYTES,
        "create it, or leave out --config to use ./ecslab.yaml when present",
    )
    check_yaml(text, path, what, max_depth=CONFIG_MAX_DEPTH, allow_tags=False)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        from ecslab.core.inputs import yaml_error

        raise yaml_error(exc, path, what) from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(
            f"{_where(path, root)}: expected a mapping of settings (key: value lines)"
        )
    _refuse_duplicates(path, root)
    values: dict[str, FileValue] = {}
    for key_node, value_node in root.value:
        key = _file_key(path, key_node)
        values[key] = FileValue(_file_value(path, key, value_node), key_node.start_mark.line + 1)
    return values


def _where(path: Path, node: Any) -> str:
    from ecslab.core.inputs import shown

    return f"{shown(str(path))}:{node.start_mark.line + 1}"


def _refuse_duplicates(path: Path, root: Any) -> None:
    from ecslab.core.inputs import duplicate_key, shown

    twice = duplicate_key(root)
    if twice is not None:
        key, first, second = twice
        raise ConfigError(
            f"{shown(str(path))}: key '{shown(key)}' is given twice, on lines {first} and {second}",
            "keep one of them",
            key=key,
            source=str(path),
        )


def _file_key(path: Path, key_node: Any) -> str:
    import yaml

    from ecslab.core.inputs import shown

    raw = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
    key = raw.replace("-", "_")
    setting = SETTINGS_BY_KEY.get(key)
    if setting is None or not setting.in_file:
        known = ", ".join(s.key for s in SETTINGS if s.in_file)
        raise ConfigError(
            f"{_where(path, key_node)}: unknown key '{shown(raw)}'",
            f"known keys: {known}",
            key=shown(raw),
            source=str(path),
        )
    return key


def _file_value(path: Path, key: str, node: Any) -> object:
    """A scalar, or a list of scalars, as SafeLoader reads it."""
    import yaml

    loader = yaml.SafeLoader("")
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):
        return [loader.construct_object(item) for item in node.value]
    if isinstance(node, yaml.ScalarNode):
        try:
            return loader.construct_object(node)
        except yaml.YAMLError:
            raise ConfigError(
                f"{_where(path, node)}: the value of {key} cannot be read",
                "give a plain value",
                key=key,
                source=str(path),
            ) from None
    raise ConfigError(
        f"{_where(path, node)}: {key} must be a single value (or a list, for subnet_ids), "
        "not a mapping",
        key=key,
        source=str(path),
    )


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
    file_values = read_config_file(file_path) if file_path else {}
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
        _check_output,
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


def _check_output(config: Config) -> None:
    if config.output not in ("text", "json"):
        raise _fail(config, "output", "is not valid: use text or json")
    if config.platform not in PLATFORMS:
        raise _fail(config, "platform", f"is not valid: use one of {', '.join(PLATFORMS)}")


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
