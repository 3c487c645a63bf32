"""Settings, read once from the environment exactly as the ECS task definition passes them.

Required: PORT, ENVIRONMENT, HOST (database host), USER, PASSWORD. Optional: DB_NAME
(default "postgres"), DB_PORT (default 5432), DB_POOL_SIZE (default 8). A missing or bad
value raises ConfigError whose one-line message names the variable and never its value
when the variable is a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_MAX_TEXT = 255


class ConfigError(Exception):
    """A setting is missing or invalid; str(error) is one line naming the variable."""


@dataclass(frozen=True)
class Settings:
    port: int
    environment: str
    db_host: str
    db_user: str
    db_password: str = field(repr=False)
    db_name: str = "postgres"
    db_port: int = 5432
    pool_size: int = 8

    def public(self) -> dict[str, object]:
        """What may be logged: everything except the password."""
        return {
            "port": self.port,
            "environment": self.environment,
            "db_host": self.db_host,
            "db_port": self.db_port,
            "db_name": self.db_name,
            "db_user": self.db_user,
            "pool_size": self.pool_size,
        }


def _text(
    env: Mapping[str, str], name: str, default: str | None = None, *, secret: bool = False
) -> str:
    raw = env.get(name)
    if raw is None or raw == "":
        if default is not None:
            return default
        raise ConfigError(f"{name} is not set: it is required")
    if len(raw) > _MAX_TEXT:
        raise ConfigError(f"{name} is too long: at most {_MAX_TEXT} characters")
    if not secret and (raw != raw.strip() or any(ord(c) < 32 for c in raw)):
        raise ConfigError(f"{name} is invalid: no surrounding spaces or control characters")
    return raw


def _integer(env: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int:
    raw = _text(env, name, None if default is None else str(default))
    if not raw.isdigit():
        raise ConfigError(f"{name} is invalid: {raw!r} is not an integer")
    value = int(raw)
    if not low <= value <= high:
        raise ConfigError(f"{name} is invalid: {value} is not between {low} and {high}")
    return value


def load(env: Mapping[str, str]) -> Settings:
    """Read and validate every setting; the first problem found raises ConfigError."""
    return Settings(
        port=_integer(env, "PORT", None, 1, 65535),
        environment=_text(env, "ENVIRONMENT"),
        db_host=_text(env, "HOST"),
        db_user=_text(env, "USER"),
        db_password=_text(env, "PASSWORD", secret=True),
        db_name=_text(env, "DB_NAME", "postgres"),
        db_port=_integer(env, "DB_PORT", 5432, 1, 65535),
        pool_size=_integer(env, "DB_POOL_SIZE", 8, 1, 100),
    )
