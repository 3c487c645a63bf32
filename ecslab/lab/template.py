"""Load the lab's CloudFormation template and derive the phase-1 template from it.

The template is YAML with CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt`, ...).
`load_template` reads it into plain data, each tag turned into the long JSON form
(`{"Ref": ...}`, `{"Fn::Sub": ...}`), which is exactly what CloudFormation accepts as a JSON
template body. `phase1_template` keeps only the ECR repository (the first deploy, before an
image exists) with the parameters and outputs it needs, so both deploys come from one file
and the repository is defined identically in each. `template_body` serialises for
CreateChangeSet.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ecslab.core.errors import UsageError
from ecslab.core.facts import TEMPLATE_PATH, TEMPLATE_RELPATH
from ecslab.core.inputs import (
    TEMPLATE_MAX_BYTES,
    TEMPLATE_MAX_DEPTH,
    check_yaml,
    read_text,
    shown,
)
from ecslab.core.template_refs import references, walk_mappings

if TYPE_CHECKING:
    from ecslab.lab.context import Context

# CloudFormation's limit for a TemplateBody passed inline (larger ones need S3).
TEMPLATE_BODY_LIMIT = 51_200

PHASE1_RESOURCES = ("EcrRepository",)
PHASE1_OUTPUTS = ("RepositoryUri", "RepositoryName")

# Short-form tags whose long form is "Fn::<Name>".
_FN_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
)
_TEMPLATE_HINT = f"Check the path; the lab's template is {TEMPLATE_RELPATH.as_posix()}."
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation YAML.

    Short-form tags become their long JSON form. Dates such as `Version: 2012-10-17` stay
    strings, as CloudFormation reads them. A mapping with a key twice is an error, as it is
    for CloudFormation, instead of the last value silently winning.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeLoader reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, "unexpected node", node.start_mark)


def _function(long_name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {long_name: _node_value(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        # "Resource.Attribute"; the attribute itself may hold dots (Endpoint.Address).
        resource, dot, attribute = value.partition(".")
        if not dot or not resource or not attribute:
            raise yaml.constructor.ConstructorError(
                None, None, f"!GetAtt needs Resource.Attribute, got {value!r}", node.start_mark
            )
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": value}


# Its own copy, without the timestamp resolver: CloudFormation reads dates as strings.
CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _name in _FN_TAGS:
    CloudFormationLoader.add_constructor(f"!{_name}", _function(f"Fn::{_name}"))
CloudFormationLoader.add_constructor("!Ref", _function("Ref"))
CloudFormationLoader.add_constructor("!Condition", _function("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _get_att)


def lab_template(app: Context) -> dict[str, Any]:
    """The run's template (`template` setting, else the checkout's), read once per run.

    Each caller gets its own copy, so deriving phase 1 or adding metadata changes no other.
    """
    path = app.template_path()
    return copy.deepcopy(app.remember(f"template:{path}", lambda: load_template(path)))


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """Read a CloudFormation template (YAML or JSON) into its long-form data."""
    path = Path(path)
    text = read_text(path, "the template", TEMPLATE_MAX_BYTES, _TEMPLATE_HINT)
    # CloudFormation's intrinsic tags are kept; depth and aliases are checked first.
    check_yaml(
        text,
        path,
        "the template",
        max_depth=TEMPLATE_MAX_DEPTH,
        allow_tags=True,
        kind="CloudFormation YAML",
    )
    try:
        document = yaml.load(text, Loader=CloudFormationLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{shown(str(path))}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise UsageError(
            f"The template {where} is not valid CloudFormation YAML: {shown(problem)}.",
            hint="Fix the line shown; `cfn-lint` explains CloudFormation mistakes in detail.",
        ) from None
    except yaml.YAMLError as error:
        raise UsageError(f"The template {shown(str(path))} is not valid YAML: {error}.") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise UsageError(
            f"The template {path} has no Resources section.",
            hint="A CloudFormation template is a mapping with at least `Resources:`.",
        )
    return document


def phase1_template(full: dict[str, Any]) -> dict[str, Any]:
    """The first deploy: the ECR repository only, with what it refers to.

    Parameters, conditions and mappings are kept when the repository or the kept outputs
    refer to them, so the phase-1 stack asks for no value it does not use.
    """
    resources = full["Resources"]
    outputs = full.get("Outputs", {})
    missing = [name for name in PHASE1_RESOURCES if name not in resources]
    missing += [name for name in PHASE1_OUTPUTS if name not in outputs]
    if missing:
        raise UsageError(
            f"The template lacks {', '.join(missing)}, needed for the first deploy.",
            hint="The first deploy creates the ECR repository and outputs its URI and name.",
        )
    kept: dict[str, Any] = {
        "Resources": {name: resources[name] for name in PHASE1_RESOURCES},
        "Outputs": {name: outputs[name] for name in PHASE1_OUTPUTS},
    }
    names = references(kept)
    conditions = _needed_conditions(full.get("Conditions", {}), kept)
    names |= references(conditions)
    stray = sorted(name for name in names if name in resources and name not in PHASE1_RESOURCES)
    if stray:
        raise UsageError(
            f"The phase-1 resources or outputs refer to {', '.join(stray)}, "
            "which the first deploy does not create."
        )
    phase1: dict[str, Any] = {}
    if "AWSTemplateFormatVersion" in full:
        phase1["AWSTemplateFormatVersion"] = full["AWSTemplateFormatVersion"]
    description = str(full.get("Description", "")).strip()
    phase1["Description"] = f"{description} [phase 1: ECR repository only]".strip()[:1024]
    parameters = {k: v for k, v in full.get("Parameters", {}).items() if k in names}
    if parameters:
        phase1["Parameters"] = parameters
    mappings = {k: v for k, v in full.get("Mappings", {}).items() if k in _mapping_names(kept)}
    if mappings:
        phase1["Mappings"] = mappings
    if conditions:
        phase1["Conditions"] = conditions
    phase1.update(kept)
    return phase1


def template_body(doc: dict[str, Any]) -> str:
    """JSON text for CreateChangeSet's TemplateBody, indented while that fits the limit."""
    body = json.dumps(doc, indent=1)
    if len(body.encode()) > TEMPLATE_BODY_LIMIT:
        body = json.dumps(doc, separators=(",", ":"))
    if len(body.encode()) > TEMPLATE_BODY_LIMIT:
        raise UsageError(
            f"The template is {len(body.encode())} bytes as JSON; CloudFormation takes at "
            f"most {TEMPLATE_BODY_LIMIT} bytes inline.",
            hint="Shorten the template, or upload it to S3 and deploy with a TemplateURL.",
        )
    return body


def _condition_names(value: Any) -> set[str]:
    names: set[str] = set()
    for mapping in walk_mappings(value):
        condition = mapping.get("Condition")
        if isinstance(condition, str):
            names.add(condition)
        if_args = mapping.get("Fn::If")
        if isinstance(if_args, list) and if_args and isinstance(if_args[0], str):
            names.add(if_args[0])
    return names


def _needed_conditions(conditions: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """The conditions kept items use, with those conditions' own conditions."""
    needed: set[str] = set()
    pending = _condition_names(kept)
    while pending:
        name = pending.pop()
        if name in needed or name not in conditions:
            continue
        needed.add(name)
        pending |= _condition_names(conditions[name])
    return {name: body for name, body in conditions.items() if name in needed}


def _mapping_names(value: Any) -> set[str]:
    names: set[str] = set()
    for mapping in walk_mappings(value):
        args = mapping.get("Fn::FindInMap")
        if isinstance(args, list) and args and isinstance(args[0], str):
            names.add(args[0])
    return names
