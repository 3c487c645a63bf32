"""ecslab.lab.template: CloudFormation YAML loading, the phase-1 template, the JSON body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecslab.core.errors import UsageError
from ecslab.lab.template import (
    PHASE1_OUTPUTS,
    TEMPLATE_BODY_LIMIT,
    TEMPLATE_PATH,
    load_template,
    phase1_template,
    references,
    template_body,
)

SHORT_FORMS = """\
Resources:
  R:
    Type: AWS::X::Y
    Properties:
      Ref: !Ref Param
      Sub: !Sub ${A}-x
      SubList: !Sub ['${B}', {B: !Ref C}]
      GetAtt: !GetAtt Db.Endpoint.Address
      GetAttList: !GetAtt [Db, Arn]
      Join: !Join [/, [a, !Ref B]]
      Select: !Select [0, !GetAZs '']
      Split: !Split [',', !Ref L]
      If: !If [IsProd, 1, !Ref AWS::NoValue]
      Equals: !Equals [a, b]
      Not: !Not [!Condition IsProd]
      And: !And [!Condition A, !Condition B]
      Or: !Or [!Condition A, !Condition B]
      FindInMap: !FindInMap [M, k1, k2]
      Base64: !Base64 text
      Cidr: !Cidr [10.0.0.0/16, 4, 8]
      ImportValue: !ImportValue exported
      Version: 2012-10-17
"""

LONG_FORMS: dict[str, Any] = {
    "Ref": {"Ref": "Param"},
    "Sub": {"Fn::Sub": "${A}-x"},
    "SubList": {"Fn::Sub": ["${B}", {"B": {"Ref": "C"}}]},
    "GetAtt": {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
    "GetAttList": {"Fn::GetAtt": ["Db", "Arn"]},
    "Join": {"Fn::Join": ["/", ["a", {"Ref": "B"}]]},
    "Select": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    "Split": {"Fn::Split": [",", {"Ref": "L"}]},
    "If": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
    "Equals": {"Fn::Equals": ["a", "b"]},
    "Not": {"Fn::Not": [{"Condition": "IsProd"}]},
    "And": {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
    "Or": {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
    "FindInMap": {"Fn::FindInMap": ["M", "k1", "k2"]},
    "Base64": {"Fn::Base64": "text"},
    "Cidr": {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
    "ImportValue": {"Fn::ImportValue": "exported"},
    "Version": "2012-10-17",
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_short_form_tags_become_long_json_form(tmp_path: Path) -> None:
    properties = load_template(_write(tmp_path, SHORT_FORMS))["Resources"]["R"]["Properties"]

    assert properties == LONG_FORMS


def test_loaded_template_is_json_serialisable() -> None:
    json.dumps(load_template())


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Resources:\n  R:\n    Type: [unclosed\n", 4),
        ("Resources:\n  R:\n    Type: !Bogus x\n", 3),
        ("Resources:\n  R: {Type: A}\n  R: {Type: B}\n", 3),
        ("Resources:\n  R:\n    Type: X\n    Properties: {A: !GetAtt NoDot}\n", 4),
    ],
    ids=["syntax", "unknown-tag", "duplicate-key", "getatt-without-attribute"],
)
def test_parse_errors_name_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = _write(tmp_path, text)

    with pytest.raises(UsageError) as caught:
        load_template(path)

    assert f"{path}:{line}:" in caught.value.message
    assert caught.value.hint


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"the template .*nope\.yaml does not exist"):
        load_template(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text", ["just text\n", "Parameters: {}\n", "Resources: [a]\n"])
def test_template_without_resources_is_a_usage_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(UsageError, match="no Resources section"):
        load_template(_write(tmp_path, text))


def test_default_path_is_the_lab_template() -> None:
    assert TEMPLATE_PATH.name == "worshop-ecs.yaml"
    assert TEMPLATE_PATH.parent.name == "templates"
    assert load_template() == load_template(TEMPLATE_PATH)


def test_references_cover_ref_getatt_and_sub() -> None:
    value = {
        "a": {"Ref": "P"},
        "b": {"Fn::GetAtt": ["R", "Arn"]},
        "c": {"Fn::Sub": "${Q}-${S.Name}-${AWS::Region}-${!Literal}"},
        "d": {"Fn::Sub": ["${Local}-${T}", {"Local": "x"}]},
        "e": {"Ref": "AWS::StackName"},
    }

    assert references(value) == {"P", "R", "Q", "S", "T"}


# -- phase 1 --------------------------------------------------------------------------------


def test_phase1_keeps_repository_and_what_it_uses() -> None:
    full = load_template()

    phase1 = phase1_template(full)

    assert list(phase1["Resources"]) == ["EcrRepository"]
    assert phase1["Resources"]["EcrRepository"] == full["Resources"]["EcrRepository"]
    assert list(phase1["Outputs"]) == list(PHASE1_OUTPUTS)
    assert set(phase1["Parameters"]) == {"ProjectName", "Environment"}
    assert phase1["Parameters"]["ProjectName"] == full["Parameters"]["ProjectName"]
    assert phase1["AWSTemplateFormatVersion"] == "2010-09-09"
    assert "Metadata" not in phase1  # its parameter groups name parameters phase 1 lacks
    assert "phase 1" in phase1["Description"]


def test_phase1_does_not_change_the_full_template() -> None:
    full = load_template()
    before = json.dumps(full, sort_keys=True)

    phase1_template(full)

    assert json.dumps(full, sort_keys=True) == before


def test_phase1_keeps_conditions_and_their_parameters() -> None:
    full: dict[str, Any] = {
        "Parameters": {"P": {"Type": "String"}, "Q": {"Type": "String"}, "Z": {"Type": "String"}},
        "Conditions": {
            "Outer": {"Fn::Not": [{"Condition": "Inner"}]},
            "Inner": {"Fn::Equals": [{"Ref": "Q"}, "x"]},
            "Unused": {"Fn::Equals": [{"Ref": "Z"}, "x"]},
        },
        "Resources": {
            "EcrRepository": {
                "Type": "AWS::ECR::Repository",
                "Condition": "Outer",
                "Properties": {"RepositoryName": {"Ref": "P"}},
            },
            "Other": {"Type": "AWS::SNS::Topic"},
        },
        "Outputs": {
            "RepositoryUri": {"Value": {"Fn::GetAtt": ["EcrRepository", "RepositoryUri"]}},
            "RepositoryName": {"Value": {"Ref": "EcrRepository"}},
        },
    }

    phase1 = phase1_template(full)

    assert set(phase1["Conditions"]) == {"Outer", "Inner"}
    assert set(phase1["Parameters"]) == {"P", "Q"}


def test_phase1_refuses_a_repository_that_needs_other_resources() -> None:
    full = load_template()
    full["Resources"]["EcrRepository"]["Properties"]["RepositoryPolicyText"] = {
        "Fn::GetAtt": ["TaskRole", "Arn"]
    }

    with pytest.raises(UsageError, match="TaskRole"):
        phase1_template(full)


def test_phase1_needs_the_repository_and_its_outputs() -> None:
    full = load_template()
    del full["Outputs"]["RepositoryUri"]

    with pytest.raises(UsageError, match="RepositoryUri"):
        phase1_template(full)


# -- body -----------------------------------------------------------------------------------


def test_template_body_is_json_of_the_document_within_the_limit() -> None:
    full = load_template()

    body = template_body(full)

    assert json.loads(body) == full
    assert len(body.encode()) <= TEMPLATE_BODY_LIMIT


def test_template_body_too_large_is_a_usage_error() -> None:
    doc = {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Metadata": {"x": "a" * 60_000}}}}

    with pytest.raises(UsageError, match="51200 bytes"):
        template_body(doc)
