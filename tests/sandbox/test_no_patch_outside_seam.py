"""moto is changed in one place: no module of ecslab but moto_seam.py assigns to (or deletes)
an attribute of something imported from moto. Checked on the syntax tree of every module,
and on synthetic modules, so the check itself is known to find what it looks for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ecslab"
SEAM = PACKAGE / "sandbox" / "moto_seam.py"


def moto_names(tree: ast.AST) -> set[str]:
    """Names bound to moto: imported from it, or assigned from such a name (an alias)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] == "moto"
            }
    grew = True
    while grew:  # `response = EC2ContainerServiceResponse`, then `response.x = ...`
        grew = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _root(node.value) in names:
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id not in names:
                        names.add(target.id)
                        grew = True
    return names


def _root(node: ast.AST) -> str | None:
    """`a` for `a`, `a.b.c`; None for anything else (a call, a subscript...)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def patches_of_moto(source: str, filename: str = "<synthetic>") -> list[str]:
    """`file:line: what` for every change to an attribute of a moto name in `source`."""
    tree = ast.parse(source, filename)
    moto = moto_names(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
            and _root(node.args[0]) in moto
        ):
            found.append((node.lineno, f"{node.func.id}({ast.unparse(node.args[0])}, ...)"))
        for target in targets:
            if isinstance(target, ast.Attribute) and _root(target) in moto:
                found.append((node.lineno, ast.unparse(target)))
    return [f"{filename}:{line}: {what}" for line, what in sorted(found)]


def test_no_module_but_the_seam_changes_moto() -> None:
    modules = [p for p in sorted(PACKAGE.rglob("*.py")) if p != SEAM]
    assert len(modules) > 50
    using_moto = [p for p in modules if moto_names(ast.parse(p.read_text()))]
    assert len(using_moto) >= 5  # the check reads the modules that import moto
    found = [
        hit for p in modules for hit in patches_of_moto(p.read_text(), str(p.relative_to(PACKAGE)))
    ]
    assert found == [], "change moto through ecslab.sandbox.moto_seam:\n" + "\n".join(found)


SYNTHETIC = """
import moto.ecs.models
import moto.elbv2.models as elbv2_models
from moto.ecs.models import Service, TaskDefinition as TD
from moto.cloudwatch.responses import CloudWatchResponse

def patch():
    from moto.elbv2.models import FakeTargetGroup
    Service.delete = lambda self: None
    TD.update_from_cloudformation_json = classmethod(lambda cls: None)
    setattr(FakeTargetGroup, "register", None)
    delattr(CloudWatchResponse, "describe_alarm_history")
    del Service.delete
    moto.ecs.models.Cluster.x = 1
    elbv2_models.FakeLoadBalancer.__init__ = None
    response = CloudWatchResponse
    response.set_alarm_state = None
    Service.count += 1
"""


def test_the_check_finds_every_way_of_changing_moto() -> None:
    found = patches_of_moto(SYNTHETIC)
    assert [hit.split(": ", 1)[1] for hit in found] == [
        "Service.delete",
        "TD.update_from_cloudformation_json",
        "setattr(FakeTargetGroup, ...)",
        "delattr(CloudWatchResponse, ...)",
        "Service.delete",
        "moto.ecs.models.Cluster.x",
        "elbv2_models.FakeLoadBalancer.__init__",
        "response.set_alarm_state",
        "Service.count",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from moto.ecs.models import Service\nservice = Service()\n",  # an instance
        "import json\njson.x = 1\n",  # not moto
        "from moto.ecs.models import ecs_backends\nbackend = ecs_backends['1']['r']\n"
        "backend.x = 1\n",  # a backend object, from a subscript
        "def f(stack):\n    stack.output_map = {}\n",  # an object moto handed over
    ],
)
def test_the_check_leaves_objects_alone(source: str) -> None:
    assert patches_of_moto(source) == []
