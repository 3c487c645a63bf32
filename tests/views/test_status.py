"""`ecslab status` against a deployment built in moto with plain API calls."""

from __future__ import annotations

import json

import boto3
import pytest

from ecslab.views.status import show_status
from tests.helpers import make_app
from tests.verify_support import (
    CLUSTER,
    REPOSITORY,
    SERVICE,
    events,
    seed_load_balancer,
    seed_scaling,
    seed_service,
    seed_stack,
)

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + "b" * 64,
        },
        "layers": [],
    }
)


def _push(session: boto3.Session, tag: str) -> tuple[str, str]:
    ecr = session.client("ecr")
    try:
        uri = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    except ecr.exceptions.RepositoryAlreadyExistsException:
        uri = ecr.describe_repositories(repositoryNames=[REPOSITORY])["repositories"][0][
            "repositoryUri"
        ]
    digest = ecr.put_image(repositoryName=REPOSITORY, imageManifest=MANIFEST, imageTag=tag)[
        "image"
    ]["imageId"]["imageDigest"]
    return uri, digest


OLD_DIGEST = "sha256:" + "0" * 64


@pytest.mark.parametrize("newer_pushed", [False, True])
def test_status_of_a_deployment(aws: boto3.Session, moto_server: str, newer_pushed: bool) -> None:
    uri, digest = _push(aws, "v1")
    in_use = f"{uri}@{OLD_DIGEST if newer_pushed else digest}"  # newer: ECR's latest differs
    group = seed_load_balancer(aws)
    seed_service(aws, in_use, group)
    aws.client("elbv2").register_targets(
        TargetGroupArn=group, Targets=[{"Id": "10.9.1.10", "Port": 8080}]
    )
    seed_scaling(aws)
    seed_stack(aws, {"ClusterName": CLUSTER, "ServiceName": SERVICE, "RepositoryName": REPOSITORY})
    app = make_app(aws, moto_server)

    report = show_status(app)

    summary = events(app)[-1]
    assert summary["event"] == "summary" and summary["status"] == "ok"
    assert summary["stack"]["status"] == "CREATE_COMPLETE"
    assert summary["stack"]["outputs"]["ClusterName"] == CLUSTER
    assert summary["service"]["desired"] == 2
    assert summary["service"]["deployments"][0]["status"] == "PRIMARY"
    assert summary["targets"] == [
        {"target": "10.9.1.10:8080", "state": "healthy", "reason": "", "description": ""}
    ]
    assert summary["image"]["task_definition_image"] == in_use
    assert summary["image"]["latest_digest"] == digest
    assert summary["image"]["latest_is_deployed"] is (not newer_pushed)
    assert summary["image"]["latest_tags"] == ["v1"]
    assert summary["autoscaling"]["min"] == 2 and summary["autoscaling"]["problems"] == []
    assert report.unread == []
    titles = [e.get("title", "") for e in events(app) if e["event"] == "table"]
    assert titles[0] == "Stack ecslab-dev" and "Autoscaling" in titles


def test_status_without_a_stack(aws: boto3.Session, moto_server: str) -> None:
    app = make_app(aws, moto_server)
    show_status(app)
    (summary,) = events(app)
    assert summary["stack"] is None
    assert "not deployed" in summary["message"]


def test_status_of_the_ecr_only_stack(aws: boto3.Session, moto_server: str) -> None:
    seed_stack(aws, {"RepositoryName": REPOSITORY})
    app = make_app(aws, moto_server)
    show_status(app)
    shown = events(app)
    assert any("no ECS service yet" in e["message"] for e in shown if e["event"] == "info")
    assert shown[-1]["service"] is None
