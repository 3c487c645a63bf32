"""The moto seam: version refusal, signature checks, undo, per-operation overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ecslab.sandbox import moto_seam
from ecslab.sandbox.emulator.paging import BadToken, page, page_newest_first
from ecslab.sandbox.moto_seam import PatchSet, UnsupportedMotoError, check_moto, check_version


def test_the_pin_in_pyproject_is_the_supported_release() -> None:
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert moto_seam.MOTO_REQUIREMENT in project["project"]["optional-dependencies"]["sandbox"]


def test_the_installed_moto_is_supported() -> None:
    check_moto()


@pytest.mark.parametrize("version", ["5.2.4", "5.3.0", "4.2.14", None])
def test_an_untested_moto_is_refused_naming_the_supported_release(version: str | None) -> None:
    with pytest.raises(UnsupportedMotoError) as raised:
        check_version(version)
    assert raised.value.exit_code == 2
    assert "5.2.5" in str(raised.value)
    assert raised.value.hint is not None and moto_seam.MOTO_REQUIREMENT in raised.value.hint


class Model:
    def method(self, a: int, b: int) -> int:
        return a + b


def test_replace_checks_the_parameters_and_undo_restores() -> None:
    patches = PatchSet("test")
    original = Model.__dict__["method"]
    patches.replace(
        Model,
        "method",
        lambda orig: lambda self, a, b: orig(self, a, b) * 10,
        params=("self", "a", "b"),
        why="test",
    )
    assert Model().method(1, 2) == 30
    assert moto_seam.INSTALLED[-1].name == "method"
    patches.undo()
    assert Model.__dict__["method"] is original
    assert Model().method(1, 2) == 3


def test_a_changed_signature_is_refused_before_anything_changes() -> None:
    patches = PatchSet("test")
    with pytest.raises(UnsupportedMotoError, match=r"takes \(self, a, b\)"):
        patches.replace(Model, "method", lambda orig: orig, params=("self", "a"), why="test")
    assert patches.patches == []
    assert Model().method(1, 2) == 3


def test_an_operation_moto_lacks_is_added_and_removed_again() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse

    assert not hasattr(EC2ContainerServiceResponse, "list_service_deployments")
    seen: list[object] = []

    def make(original: object) -> object:
        seen.append(original)
        return lambda self: "answer"

    undo = moto_seam.install(
        "test", lambda p: p.operation("ecs", "ListServiceDeployments", make, why="test")
    )
    assert seen == [None]
    assert EC2ContainerServiceResponse.list_service_deployments(None) == "answer"  # type: ignore[attr-defined]
    undo()
    assert not hasattr(EC2ContainerServiceResponse, "list_service_deployments")


def test_a_failed_install_undoes_what_it_had_done() -> None:
    def build(patches: PatchSet) -> None:
        patches.replace(Model, "method", lambda o: o, params=("self", "a", "b"), why="test")
        raise RuntimeError("half way")

    original = Model.__dict__["method"]
    with pytest.raises(RuntimeError):
        moto_seam.install("test", build)
    assert Model.__dict__["method"] is original


def test_pages_and_tokens() -> None:
    items = list(range(250))
    first = page(items, None, None, 100)
    assert first.items == list(range(100)) and first.next_token == "100"
    last = page(items, "200", "100", 100)
    assert last.items == list(range(200, 250)) and last.next_token is None
    assert page(items, None, "500", 100).next_token == "100"  # capped at the maximum
    for token in ("x", "-1", "999"):
        with pytest.raises(BadToken):
            page(items, token, None, 100)


def test_a_module_function_is_replaced_named_and_restored() -> None:
    """moto's CloudFormation finds resource classes with a module function (the sandbox's
    AWS::SecretsManager::Secret goes in there)."""
    from moto.cloudformation import parsing

    from ecslab.sandbox.emulator import secret_resource

    original = parsing.resource_class_from_type
    undo = moto_seam.install("secret-test", secret_resource.build)
    try:
        assert parsing.resource_class_from_type(secret_resource.TYPE) is (
            secret_resource.SecretResource
        )
        assert parsing.resource_class_from_type("AWS::ECS::Cluster") is not None
        [patch] = [p for p in moto_seam.INSTALLED if p.name == "resource_class_from_type"]
        assert patch.where == "moto.cloudformation.parsing.resource_class_from_type"
        assert patch in moto_seam.moto_bugs()
    finally:
        undo()
    assert parsing.resource_class_from_type is original
    with pytest.raises(UnsupportedMotoError, match=r"moto has no moto.cloudformation.parsing.nope"):
        PatchSet("test").replace(parsing, "nope", lambda o: o, params=(), why="test")


def test_once_installs_a_set_once_and_tries_again_after_a_failure() -> None:
    calls: list[str] = []

    def failing(patches: PatchSet) -> None:
        patches.replace(Model, "method", lambda o: o, params=("self", "a", "b"), why="test")
        calls.append("failing")
        raise RuntimeError("half way")

    original = Model.__dict__["method"]
    with pytest.raises(RuntimeError):
        moto_seam.once("test-once", failing)
    assert Model.__dict__["method"] is original  # undone

    def counting(patches: PatchSet) -> None:
        calls.append("counting")

    moto_seam.once("test-once", counting)
    moto_seam.once("test-once", counting)
    assert calls == ["failing", "counting"]


def test_newest_first_tokens_stay_valid_while_newer_items_arrive() -> None:
    items = list(range(5))
    first = page_newest_first(items, None, 2, 100)
    assert first.items == [4, 3] and first.next_token is not None
    items += [5, 6]  # newer items arrive between the calls
    second = page_newest_first(items, first.next_token, 2, 100)
    assert second.items == [2, 1]
    last = page_newest_first(items, second.next_token, 2, 100)
    assert last.items == [0] and last.next_token is None
    assert page_newest_first([], None, None, 100).items == []
    for token in ("x", "0", "-1", "999"):
        with pytest.raises(BadToken):
            page_newest_first(items, token, None, 100)


def test_a_missing_private_name_is_refused_at_install() -> None:
    moto_seam.require(Model, "method")
    with pytest.raises(UnsupportedMotoError, match="has no _gone, _also_gone"):
        moto_seam.require(Model, "method", "_gone", "_also_gone")
