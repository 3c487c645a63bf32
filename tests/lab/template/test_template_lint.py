"""cfn-lint, the official CloudFormation linter, finds nothing in the template: no error,
warning or informational finding, in the file as written and in what ecslab deploys."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecslab.lab.template import TEMPLATE_PATH, load_template, phase1_template, template_body

cfnlint_api = pytest.importorskip("cfnlint.api")

REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]


def _lint(path: Path) -> list[str]:
    config = cfnlint_api.ManualArgs(include_checks=["I"], regions=REGIONS)
    return [str(match) for match in cfnlint_api.lint_file(path, config=config)]


def test_template_file_lints_clean() -> None:
    assert _lint(TEMPLATE_PATH) == []


def test_deployed_bodies_lint_clean(tmp_path: Path) -> None:
    # What ecslab sends (JSON from the loaded YAML) must be as clean as the YAML itself.
    full = load_template()
    for name, document in (("full.json", full), ("phase1.json", phase1_template(full))):
        path = tmp_path / name
        path.write_text(template_body(document), encoding="utf-8")

        assert _lint(path) == [], name


def test_linter_reports_a_broken_template(tmp_path: Path) -> None:
    # Guards the two tests above against a linter that silently checks nothing.
    broken = TEMPLATE_PATH.read_text(encoding="utf-8").replace(
        "LaunchType: FARGATE", "LaunchType: FARGATEX"
    )
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")

    assert any("FARGATEX" in finding for finding in _lint(path))
