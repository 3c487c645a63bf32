"""Which names a piece of a CloudFormation template uses: the one reference walker.

Ref, Fn::GetAtt (list or "Resource.Attribute" form) and the variables of Fn::Sub, pseudo
parameters (AWS::...) left out. Both the lab's template code (phase 1, explain) and the
sandbox's CloudFormation (dependency order) use it, so it sits below both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def walk_mappings(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside value, value itself included."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk_mappings(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_mappings(item)


def references(value: Any) -> set[str]:
    """Names (parameters, resources) used through Ref, Fn::GetAtt and Fn::Sub."""
    names: set[str] = set()
    for mapping in walk_mappings(value):
        ref = mapping.get("Ref")
        if isinstance(ref, str):
            names.add(ref)
        get_att = mapping.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and isinstance(get_att[0], str):
            names.add(get_att[0])
        elif isinstance(get_att, str):  # the short form, "Resource.Attribute"
            names.add(get_att.split(".", 1)[0])
        if "Fn::Sub" in mapping:
            names |= _sub_references(mapping["Fn::Sub"])
    return {name for name in names if not name.startswith("AWS::")}


def _sub_references(sub: Any) -> set[str]:
    if isinstance(sub, str):
        return {match.split(".", 1)[0] for match in _SUB_VARIABLE.findall(sub)}
    if isinstance(sub, list) and sub and isinstance(sub[0], str):
        local = set(sub[1]) if len(sub) > 1 and isinstance(sub[1], dict) else set()
        return _sub_references(sub[0]) - local
    return set()
