"""Shared by the push-image and Docker engine tests: an App on moto + the test engine.

`make_app` builds the App the way every ecslab test does (JSON UI into StringIO, a fake
clock, AWS through the `aws` fixture's moto session, Docker through the test engine).
`deploy_ecr_stack` creates the phase-1 stack from the real template in moto, as deploy-ecr
would. `copy_microsite` copies the microsite's build context to a scratch folder (not a
git checkout, so its tag is a content hash), where a test may change a line.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import docker

from ecslab.aws.session import Aws
from ecslab.compose.app import App
from ecslab.core.clock import FakeClock
from ecslab.core.config import Config
from ecslab.core.ui import UI
from ecslab.lab.template import load_template, phase1_template, template_body

ROOT = Path(__file__).resolve().parent.parent
MICROSITE = ROOT / "microsite"


def make_app(
    session: boto3.Session,
    moto_url: str,
    *,
    docker_factory: Callable[[], docker.DockerClient] | None = None,
    clock: Any = None,
    **settings: Any,
) -> App:
    config = Config(region="us-east-1", endpoint_url=moto_url, yes=True, **settings)
    ui = UI(mode="json", out=io.StringIO(), err=io.StringIO(), assume_yes=True)
    app = App(
        config=config,
        ui=ui,
        clock=clock if clock is not None else FakeClock(),
        aws_factory=lambda c: Aws(c, session),
    )
    if docker_factory is not None:
        app.docker_factory = docker_factory
    return app


def events(app: App) -> list[dict[str, Any]]:
    out = app.ui.out
    assert isinstance(out, io.StringIO)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def deploy_ecr_stack(session: boto3.Session, moto_url: str, project: str = "ecslab") -> str:
    """Create `{project}-dev` with the phase-1 template; the repository's name."""
    template = phase1_template(load_template())
    client = session.client("cloudformation", endpoint_url=moto_url)
    client.create_stack(
        StackName=f"{project}-dev",
        TemplateBody=template_body(template),
        Parameters=[
            {"ParameterKey": "ProjectName", "ParameterValue": project},
            {"ParameterKey": "Environment", "ParameterValue": "dev"},
        ],
    )
    outputs = client.describe_stacks(StackName=f"{project}-dev")["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "RepositoryName")


def copy_microsite(target: Path) -> Path:
    """The microsite's Dockerfile, .dockerignore, requirements and package under `target`."""
    shutil.copytree(
        MICROSITE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
    )
    return target


def change_one_line(context: Path) -> None:
    """Append one line to the package's __init__.py: a one-line code change."""
    init = context / "microsite" / "__init__.py"
    init.write_text(init.read_text() + "CHANGED_FOR_TEST = True\n")
