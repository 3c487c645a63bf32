"""Bounded, checked reading of the files a user (or a hostile folder) hands to ecslab.

Every file ecslab parses (ecslab.yaml, the CloudFormation template) goes through
`read_text`: at most a fixed number of bytes is read, so `--config /dev/zero` costs
nothing; the bytes must be UTF-8 text without NUL. `check_yaml` then walks the YAML
event stream (pyyaml's parser is iterative, its composer recursive) before anything is
composed: nesting depth capped, aliases refused (CloudFormation refuses them too, and
they can expand into billions of nodes), and, where asked, explicit tags refused.
`duplicate_key` finds a key given twice in a mapping, with both lines.

Errors name the file and line, never the text of the line: a line may hold a password.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from ecslab.core.errors import UsageError

if TYPE_CHECKING:
    import yaml

CONFIG_MAX_BYTES = 64 * 1024
# CloudFormation accepts up to 1 MB from S3; 51,200 bytes inline. Room for comments.
TEMPLATE_MAX_BYTES = 1024 * 1024
CONFIG_MAX_DEPTH = 4
TEMPLATE_MAX_DEPTH = 64

# Tags a plain YAML file may resolve to implicitly (and `!!str` etc. explicitly).
_CORE_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
}


def read_text(path: Path, what: str, max_bytes: int, missing_hint: str | None = None) -> str:
    """The file's text: at most `max_bytes`, UTF-8, no NUL; else a UsageError naming it."""
    hint = "check the path"
    try:
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} {shown(str(path))} does not exist", missing_hint) from None
    except IsADirectoryError:
        raise UsageError(f"{what} {shown(str(path))} is a folder, not a file", hint) from None
    except OSError as exc:
        raise UsageError(
            f"cannot read {what} {shown(str(path))}: {exc.strerror or type(exc).__name__}", hint
        ) from None
    if len(data) > max_bytes:
        raise UsageError(
            f"{what} {shown(str(path))} is larger than {max_bytes:,} bytes: "
            "it cannot be the file ecslab expects",
            hint,
        )
    if b"\0" in data:
        raise UsageError(
            f"{what} {shown(str(path))} is a binary file (it contains NUL bytes), not text",
            hint,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"{what} {shown(str(path))}:{line} is not UTF-8 text "
            f"(byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "save the file as UTF-8",
        ) from None


def check_yaml(
    text: str, path: Path, what: str, *, max_depth: int, allow_tags: bool, kind: str = "YAML"
) -> None:
    """Refuse deep nesting, aliases and (unless allowed) explicit tags, before composing."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, yaml.AliasEvent):
                raise UsageError(
                    f"{what} {shown(str(path))}:{line} uses a YAML alias (*name)",
                    "write the value out: aliases are not accepted (CloudFormation refuses them)",
                )
            tag = getattr(event, "tag", None)
            if tag and not allow_tags and tag not in _CORE_TAGS:
                raise UsageError(
                    f"{what} {shown(str(path))}:{line} has the YAML tag {shown(tag)}, "
                    "which ecslab does not accept here",
                    "give the plain value: tags such as !Ref or !vault have no meaning in "
                    "ecslab.yaml (secrets go in ECSLAB_DB_PASSWORD)",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise UsageError(
                        f"{what} {shown(str(path))}:{line} is nested more than {max_depth} "
                        "levels deep",
                        "check the file: ecslab never needs that depth",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise yaml_error(exc, path, what, kind) from None


def yaml_error(exc: yaml.YAMLError, path: Path, what: str, kind: str = "YAML") -> UsageError:
    """A YAML syntax error as file:line and the problem, without the offending line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{shown(str(path))}:{mark.line + 1}" if mark is not None else shown(str(path))
    problem = getattr(exc, "problem", None) or "cannot be parsed"
    return UsageError(
        f"{what} {where}: not valid {kind}: {shown(str(problem))}",
        "fix that line (the file's text is not shown: it may hold a secret)",
    )


def duplicate_key(node: yaml.MappingNode) -> tuple[str, int, int] | None:
    """(key, first line, second line) of the first key given twice in `node`, if any."""
    import yaml

    first: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        line = key_node.start_mark.line + 1
        key = str(key_node.value)
        if key in first:
            return key, first[key], line
        first[key] = line
    return None


def shown(value: str, limit: int = 200) -> str:
    """`value` safe to print: control characters escaped, length capped."""
    escaped = "".join(_escape(char) for char in value[: limit + 1])
    return escaped if len(value) <= limit else escaped[:limit] + "…"


def has_control(value: str) -> bool:
    return any(_is_control(char) for char in value)


def _escape(char: str) -> str:
    if not _is_control(char):
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _is_control(char: str) -> bool:
    # Cc: C0/C1 controls (ESC, CR, NUL, ...); Cf: bidi overrides and other invisible marks.
    return unicodedata.category(char) in ("Cc", "Cf")
