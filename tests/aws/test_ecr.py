"""ecslab.aws.ecr against a real moto server: repositories, images, login, deletion."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from ecslab.aws.ecr import Ecr
from ecslab.aws.session import Aws
from ecslab.core.config import Config
from ecslab.core.errors import AwsError

REPO = "ecslab-dev-microservice"
MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _ecr(session: boto3.Session, moto_server: str) -> Ecr:
    config = Config(region="us-east-1", endpoint_url=moto_server)
    return Ecr(Aws(config, session))


def _manifest(layer: str) -> str:
    """A manifest shaped like the ones registries serve (indented, as distribution does)."""
    doc = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1500,
            "digest": "sha256:" + hashlib.sha256(f"config-{layer}".encode()).hexdigest(),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 1234,
                "digest": "sha256:" + hashlib.sha256(layer.encode()).hexdigest(),
            }
        ],
    }
    return json.dumps(doc, indent=3)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def ecr(aws: boto3.Session, moto_server: str) -> Ecr:
    aws.client("ecr").create_repository(repositoryName=REPO)
    return _ecr(aws, moto_server)


def test_repository_uri_and_missing_repository(ecr: Ecr) -> None:
    assert ecr.repository_uri(REPO) == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPO}"
    assert ecr.repository_uri("nope") is None


def test_put_manifest_records_the_digest_of_the_manifest_bytes(ecr: Ecr) -> None:
    text = _manifest("one")
    image = ecr.put_manifest(REPO, text, MEDIA_TYPE, "v1", _digest(text))

    assert image.digest == _digest(text)
    found = ecr.find_image(REPO, "v1")
    assert found is not None and found.digest == _digest(text) and found.tags == ("v1",)
    assert ecr.image_manifest(REPO, found.digest) == text


def test_put_manifest_twice_and_a_second_tag(ecr: Ecr) -> None:
    text = _manifest("one")
    ecr.put_manifest(REPO, text, MEDIA_TYPE, "v1", _digest(text))
    ecr.put_manifest(REPO, text, MEDIA_TYPE, "v1", _digest(text))  # already there: fine
    ecr.put_manifest(REPO, text, MEDIA_TYPE, "latest", _digest(text))

    found = ecr.find_image(REPO, "latest")
    assert found is not None and set(found.tags) == {"v1", "latest"}


def test_find_image_absent_tag_and_absent_repository(ecr: Ecr) -> None:
    assert ecr.find_image(REPO, "nope") is None
    with pytest.raises(AwsError) as caught:
        ecr.find_image("missing-repo", "v1")
    assert "does not exist" in caught.value.message
    assert caught.value.hint and "deploy-ecr" in caught.value.hint


def test_latest_image_is_the_newest_tagged_one(ecr: Ecr) -> None:
    assert ecr.latest_image(REPO) is None
    first, second = _manifest("one"), _manifest("two")
    ecr.put_manifest(REPO, first, MEDIA_TYPE, "v1", _digest(first))
    ecr.put_manifest(REPO, second, MEDIA_TYPE, "v2", _digest(second))

    newest = ecr.latest_image(REPO)
    assert newest is not None
    # moto stamps pushes to the second; both may share one: either is newest then.
    assert newest.digest in (_digest(first), _digest(second))
    assert newest.repository == REPO


def test_delete_all_images_counts_tagged_and_untagged(aws: boto3.Session, ecr: Ecr) -> None:
    first, second = _manifest("one"), _manifest("two")
    ecr.put_manifest(REPO, first, MEDIA_TYPE, "v1", _digest(first))
    # An untagged image (moto drops, rather than untags, an image whose tag moves on).
    aws.client("ecr").put_image(repositoryName=REPO, imageManifest=second)
    assert len(aws.client("ecr").list_images(repositoryName=REPO)["imageIds"]) == 2

    assert ecr.delete_all_images(REPO) == 2
    assert ecr.delete_all_images(REPO) == 0
    assert ecr.delete_all_images("missing-repo") == 0


def test_delete_repository(ecr: Ecr) -> None:
    text = _manifest("one")
    ecr.put_manifest(REPO, text, MEDIA_TYPE, "v1", _digest(text))

    assert ecr.delete_repository(REPO) is True  # images and all
    assert ecr.delete_repository(REPO) is False
    assert ecr.repository_uri(REPO) is None


def test_authorization_decodes_the_token_and_never_shows_the_password(ecr: Ecr) -> None:
    login = ecr.authorization()
    username, password, endpoint = login

    assert username == "AWS" and password
    assert endpoint.startswith("https://") and login.registry == endpoint[len("https://") :]
    assert password not in repr(login) and "********" in repr(login)


class _StubbedAws(Aws):
    """An Aws whose ECR client is a given (Stubber-wrapped) one."""

    def __init__(self, client: object) -> None:
        super().__init__(Config(region="us-east-1"), preflight=False)
        self._ecr = client

    def client(self, service: str) -> object:
        assert service == "ecr"
        return self._ecr


def test_delete_all_images_reports_per_image_failures() -> None:
    # AWS answers BatchDeleteImage with failures (e.g. an image in use by a pull-through
    # rule, or a race with a push) instead of an error; moto never does.
    from botocore.stub import Stubber

    client = boto3.client(
        "ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    digest = "sha256:" + "a" * 64
    with Stubber(client) as stub:
        stub.add_response(
            "describe_images",
            {
                "imageDetails": [
                    {"registryId": "123456789012", "repositoryName": REPO, "imageDigest": digest}
                ]
            },
            {"repositoryName": REPO},
        )
        stub.add_response(
            "batch_delete_image",
            {
                "failures": [
                    {
                        "imageId": {"imageDigest": digest},
                        "failureCode": "ImageReferencedByManifestList",
                        "failureReason": "Requested image referenced by manifest list",
                    }
                ],
            },
            {"repositoryName": REPO, "imageIds": [{"imageDigest": digest}]},
        )
        with pytest.raises(AwsError) as caught:
            Ecr(_StubbedAws(client)).delete_all_images(REPO)
    assert "ImageReferencedByManifestList" in caught.value.message
