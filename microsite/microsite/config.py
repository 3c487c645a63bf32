"""Settings, read once from the environment exactly as the ECS task definition passes them.

Required: PORT, ENVIRONMENT, HOST (database host), USER, and PASSWORD or PASSWORD_FILE (a
file holding the password, read once here; it wins over PASSWORD). Optional: DB_NAME
(default "postgres"), DB_PORT (default 5432), DB_POOL_SIZE (default 8), DB_SSL_ROOT_CERT (a
CA bundle: TLS to the database is then verified against it, host name included) and
DB_SSL_MODE (see `tls_mode`). A missing or bad value raises ConfigError whose one-line
message names the variable and never its value when the variable is a secret.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

_MAX_TEXT = 255
_MAX_PASSWORD_FILE = 4096
_MAX_PATH = 4096
TLS_MODES = ("disable", "prefer", "require", "verify-full")


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
    ssl_root_cert: str = ""
    ssl_mode: str = ""

    @property
    def tls_mode(self) -> str:
        """How the connection to the database is protected.

        DB_SSL_MODE when set; else `verify-full` (certificate chain and host name checked
        against DB_SSL_ROOT_CERT) when a CA bundle is configured; else `require` (TLS, as
        RDS forces from PostgreSQL 15, without knowing whom to trust), except for a database
        on a loopback address (the sandbox, tests), where `prefer` also accepts plain TCP.
        """
        if self.ssl_mode:
            return self.ssl_mode
        if self.ssl_root_cert:
            return "verify-full"
        return "prefer" if _is_loopback(self.db_host) else "require"

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
            "tls": self.tls_mode,
        }


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def _password(env: Mapping[str, str]) -> str:
    """PASSWORD_FILE's content when it is set (one trailing newline dropped), else PASSWORD."""
    path = env.get("PASSWORD_FILE")
    if not path:
        return _text(env, "PASSWORD", secret=True)
    if len(path) > _MAX_PATH:
        raise ConfigError(f"PASSWORD_FILE is too long: at most {_MAX_PATH} characters")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_PASSWORD_FILE + 1)
    except OSError as exc:
        raise ConfigError(f"PASSWORD_FILE cannot be read: {exc.strerror}") from None
    if len(raw) > _MAX_PASSWORD_FILE:
        raise ConfigError(f"PASSWORD_FILE is too large: at most {_MAX_PASSWORD_FILE} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("PASSWORD_FILE is invalid: not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise ConfigError("PASSWORD_FILE is invalid: the file is empty")
    return text


def _ca_bundle(env: Mapping[str, str]) -> str:
    path = _text(env, "DB_SSL_ROOT_CERT", "")
    if path:
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise ConfigError(f"DB_SSL_ROOT_CERT cannot be read: {exc.strerror}") from None
    return path


def _tls_mode(env: Mapping[str, str]) -> str:
    mode = _text(env, "DB_SSL_MODE", "")
    if mode and mode not in TLS_MODES:
        raise ConfigError(f"DB_SSL_MODE is invalid: {mode!r} is not one of {', '.join(TLS_MODES)}")
    return mode


def load(env: Mapping[str, str]) -> Settings:
    """Read and validate every setting; the first problem found raises ConfigError."""
    settings = Settings(
        port=_integer(env, "PORT", None, 1, 65535),
        environment=_text(env, "ENVIRONMENT"),
        db_host=_text(env, "HOST"),
        db_user=_text(env, "USER"),
        db_password=_password(env),
        db_name=_text(env, "DB_NAME", "postgres"),
        db_port=_integer(env, "DB_PORT", 5432, 1, 65535),
        pool_size=_integer(env, "DB_POOL_SIZE", 8, 1, 100),
        ssl_root_cert=_ca_bundle(env),
        ssl_mode=_tls_mode(env),
    )
    if settings.tls_mode == "verify-full" and not settings.ssl_root_cert:
        raise ConfigError("DB_SSL_MODE is invalid: verify-full needs DB_SSL_ROOT_CERT")
    return settings
