"""Reading `ecslab.yaml`: a flat mapping of setting keys to scalars (or lists of them).

The bounded, strict reading every user file gets is ecslab/core/inputs.py (size cap,
UTF-8, YAML depth, no tags, no aliases); this module adds what is particular to the config
file: one mapping, known keys only, no key twice, scalar values, and errors that name the
file, the line and the key but never quote a line (a line may hold a password). Which keys
exist, and what their values mean, is ecslab/core/config.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecslab.core.errors import ConfigError


@dataclass(frozen=True)
class FileValue:
    """A value as the file gives it, and the line its key is on."""

    value: object
    line: int


def read_config_file(path: Path, keys: Sequence[str]) -> dict[str, FileValue]:
    """Read `ecslab.yaml`: a flat mapping of setting keys; errors name file, line and key.

    Bounded and strict (see ecslab/core/inputs.py): size cap, UTF-8, no tags, no aliases,
    no key twice. A value is a scalar or a list of scalars; messages never quote a line.
    `keys` are the settings a file may set (hyphens in a key are read as underscores).
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
        key = _file_key(path, key_node, keys)
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


def _file_key(path: Path, key_node: Any, keys: Sequence[str]) -> str:
    import yaml

    from ecslab.core.inputs import shown

    raw = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
    key = raw.replace("-", "_")
    if key not in keys:
        known = ", ".join(keys)
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
