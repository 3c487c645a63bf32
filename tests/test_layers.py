"""The package's layers: a module imports only from its own package or from lower layers.

Every import counts for the layers, including those inside functions and under
TYPE_CHECKING: a type that names a higher layer still ties the lower one to it. Relative
imports (`from . import x`, `from ..lab import y`) are resolved to the module they name,
so they count like absolute ones.

Inside one package, modules must not import each other in a cycle. For cycles only the
imports that run when a module is loaded count: module-level ones, outside
`if TYPE_CHECKING:`. An import inside a function runs when the function is called, after
both modules are loaded (the usual way to defer a heavy import), and a TYPE_CHECKING import
never runs; neither can leave a module half-initialised, so neither closes a cycle.

boto3 and botocore are imported only by aws/ (the wrappers) and sandbox/ (moto's side).

docs/CONTRIBUTING.md draws the same map; `test_contributing_map_lists_every_module` keeps
the two in step. Each rule is also run against a synthetic bad package, so a rule that
stopped firing would fail here rather than pass vacuously.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ecslab"
CONTRIBUTING = PACKAGE.parent / "docs" / "CONTRIBUTING.md"

# Lower number = lower layer. Packages of one rank do not import each other either,
# except for the pairs in SIDEWAYS (importer, imported).
RANKS: dict[str, int] = {
    "core": 0,
    "aws": 1,
    "engine": 1,
    "lab": 2,
    "steps": 3,
    "views": 3,
    "sandbox": 4,
    "compose": 4,
    "cli": 5,
}
SIDEWAYS = {("compose", "sandbox")}  # the composition root builds the sandbox's hooks
TOP_LEVEL = {"__init__", "__main__"}  # the entry points sit above everything
AWS_SDK = {"boto3", "botocore"}
AWS_SDK_USERS = {"aws", "sandbox"}


@dataclass(frozen=True)
class Import:
    """One imported module, resolved to its absolute name."""

    name: str
    line: int
    runs_at_load: bool  # module level and outside `if TYPE_CHECKING:`


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, at_load: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every node under `node`, with whether it runs when the module is loaded."""
    for child in ast.iter_child_nodes(node):
        runs = at_load and not isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            yield child, runs
            for item in child.body:
                yield item, False
                yield from _walk(item, False)
            for item in child.orelse:
                yield item, runs
                yield from _walk(item, runs)
            continue
        yield child, runs
        yield from _walk(child, runs)


def _base(module: str, is_package: bool, level: int) -> str:
    """The package a relative import of `level` dots starts from."""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    return ".".join(parts[: len(parts) - (level - 1)] if level > 1 else parts)


def imports(root: Path, path: Path) -> list[Import]:
    """What the module at `path` imports: absolute names, relative ones resolved."""
    module = _module_name(root, path)
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node, at_load in _walk(ast.parse(path.read_text(encoding="utf-8")), True):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno, at_load) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = _base(module, is_package, node.level)
                base = f"{prefix}.{base}" if base else prefix
            found.append(Import(base, node.lineno, at_load))
            found += [Import(f"{base}.{a.name}", node.lineno, at_load) for a in node.names]
    return found


def modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _package_of(root: Path, module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != root.name or len(parts) < 2:
        return None
    return parts[1]


def layer_violations(root: Path) -> list[str]:
    problems = []
    for path in modules(root):
        relative = path.relative_to(root)
        if len(relative.parts) == 1:
            if relative.stem not in TOP_LEVEL:
                problems.append(f"{relative}: a module outside every layer package")
            continue
        own = relative.parts[0]
        for name in sorted({i.name for i in imports(root, path)}):
            target = _package_of(root, name)
            if target is None or target == own or target not in RANKS:
                continue
            if RANKS[target] >= RANKS[own] and (own, target) not in SIDEWAYS:
                problems.append(f"{relative}: {own} (rank {RANKS[own]}) imports {name}")
    return problems


def aws_sdk_violations(root: Path) -> list[str]:
    """boto3/botocore imported outside aws/ and sandbox/."""
    problems = []
    for path in modules(root):
        relative = path.relative_to(root)
        if len(relative.parts) > 1 and relative.parts[0] in AWS_SDK_USERS:
            continue
        for found in imports(root, path):
            if found.name.split(".")[0] in AWS_SDK:
                problems.append(f"{relative}:{found.line}: imports {found.name}")
    return problems


def _load_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of its own package it imports when it is loaded."""
    paths = {_module_name(root, p): p for p in modules(root)}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        own = _package_of(root, module)
        edges = graph.setdefault(module, set())
        for found in imports(root, path):
            if not found.runs_at_load or _package_of(root, found.name) != own:
                continue
            # `from pkg import name`: the submodule pkg.name if there is one, else pkg.
            target = found.name
            while target not in paths and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in paths and target != module:
                edges.add(target)
    return graph


def import_cycles(root: Path) -> list[str]:
    """Each cycle of load-time imports inside a package, as `a -> b -> a`."""
    graph = _load_graph(root)
    cycles: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in path:
                loop = path[path.index(target) :]
                start = loop.index(min(loop))  # one spelling per cycle
                loop = loop[start:] + loop[:start]
                cycles.add(" -> ".join([*loop, loop[0]]))
            elif target > path[0]:  # each cycle is found from its smallest module
                visit(target, [*path, target])

    for module in sorted(graph):
        visit(module, [module])
    return sorted(cycles)


# --- the real package ----------------------------------------------------------------------


def test_every_package_has_a_rank() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANKS)


def test_no_layer_imports_upward_or_sideways() -> None:
    assert layer_violations(PACKAGE) == []


def test_the_domain_never_imports_the_sandbox() -> None:
    """lab/, steps/ and views/ reach the sandbox only through the Context's hooks."""
    assert all(RANKS[p] < RANKS["sandbox"] for p in ("lab", "steps", "views"))
    found = [
        f"{path.relative_to(PACKAGE)}:{i.line}"
        for package in ("lab", "steps", "views")
        for path in modules(PACKAGE / package)
        for i in imports(PACKAGE, path)
        if i.name == "ecslab.sandbox" or i.name.startswith("ecslab.sandbox.")
    ]
    assert found == []


def test_no_import_cycle_inside_a_package() -> None:
    assert import_cycles(PACKAGE) == []


def test_only_aws_and_sandbox_import_the_aws_sdk() -> None:
    assert aws_sdk_violations(PACKAGE) == []


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(PACKAGE))
        for path in modules(PACKAGE)
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None
    ]
    assert missing == []


# --- each rule fires on a synthetic bad package --------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "ecslab"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in (path.parent, *path.parent.parents):
            if folder == root.parent:
                break
            (folder / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return root


def test_an_upward_import_fires(tmp_path: Path) -> None:
    root = _package(tmp_path, {"lab/a.py": "def f():\n    from ecslab.steps import b\n"})
    assert layer_violations(root) == [
        "lab/a.py: lab (rank 2) imports ecslab.steps",
        "lab/a.py: lab (rank 2) imports ecslab.steps.b",
    ]


def test_a_type_checking_import_of_the_sandbox_fires(tmp_path: Path) -> None:
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ecslab.sandbox import s\n"
    root = _package(tmp_path, {"views/a.py": text, "sandbox/s.py": ""})
    assert layer_violations(root) == [
        "views/a.py: views (rank 3) imports ecslab.sandbox",
        "views/a.py: views (rank 3) imports ecslab.sandbox.s",
    ]


def test_a_relative_import_cannot_dodge_the_layers(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "lab/a.py": "from ..steps import b\n",
            "lab/sub/c.py": "from ...views.d import e\n",
            "core/__init__.py": "from ..cli import main\n",
        },
    )
    assert layer_violations(root) == [
        "core/__init__.py: core (rank 0) imports ecslab.cli",
        "core/__init__.py: core (rank 0) imports ecslab.cli.main",
        "lab/a.py: lab (rank 2) imports ecslab.steps",
        "lab/a.py: lab (rank 2) imports ecslab.steps.b",
        "lab/sub/c.py: lab (rank 2) imports ecslab.views.d",
        "lab/sub/c.py: lab (rank 2) imports ecslab.views.d.e",
    ]


def test_sideways_fires_except_compose_importing_sandbox(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "compose/a.py": "from ecslab.sandbox import s\n",
            "sandbox/s.py": "import ecslab.compose.a\n",
        },
    )
    assert layer_violations(root) == ["sandbox/s.py: sandbox (rank 4) imports ecslab.compose.a"]


def test_a_cycle_inside_a_package_fires(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "lab/a.py": "from ecslab.lab import b\n",
            "lab/b.py": "from .c import x\n",
            "lab/c.py": "import ecslab.lab.a\nx = 1\n",
            "lab/d.py": "from ecslab.lab.e import y\n",
            "lab/e.py": "def f():\n    from ecslab.lab import d\n",  # runs late: no cycle
        },
    )
    assert import_cycles(root) == ["ecslab.lab.a -> ecslab.lab.b -> ecslab.lab.c -> ecslab.lab.a"]


def test_a_type_checking_import_closes_no_cycle(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "aws/a.py": "from ecslab.aws import b\n",
            "aws/b.py": "import typing\nif typing.TYPE_CHECKING:\n    from ecslab.aws.a import A\n",
        },
    )
    assert import_cycles(root) == []


def test_the_aws_sdk_outside_aws_and_sandbox_fires(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "aws/a.py": "import boto3\n",
            "sandbox/s.py": "from botocore.stub import Stubber\n",
            "lab/a.py": "def f():\n    from botocore.exceptions import ClientError\n",
            "compose/c.py": "import boto3.session\n",
        },
    )
    assert aws_sdk_violations(root) == [
        "compose/c.py:1: imports boto3.session",
        "lab/a.py:2: imports botocore.exceptions",
        "lab/a.py:2: imports botocore.exceptions.ClientError",
    ]


# --- CONTRIBUTING's map --------------------------------------------------------------------


def _mapped_modules(text: str) -> set[str]:
    """The `.py` paths that CONTRIBUTING's tree under `ecslab/` names, as `pkg/module.py`."""
    block = text.split("```\necslab/\n", 1)[1].split("```", 1)[0]
    found: set[str] = set()
    folders: list[tuple[int, str]] = []
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            break  # back at the top level: the tree under ecslab/ is over
        names = line.strip().split("  ", 1)[0]
        folders = [(i, f) for i, f in folders if i < indent]
        prefix = "".join(f for _, f in folders)
        if names.endswith("/"):
            folders.append((indent, names))
            continue
        for name in names.split(","):
            name = name.strip()
            if name.endswith(".py"):
                found.add(prefix + name)
    return found


def test_contributing_map_lists_every_module() -> None:
    """Each module of the tree appears in CONTRIBUTING's map, and the map names no other."""
    listed = _mapped_modules(CONTRIBUTING.read_text(encoding="utf-8"))
    every = {str(p.relative_to(PACKAGE)) for p in modules(PACKAGE)}
    required = {str(p.relative_to(PACKAGE)) for p in modules(PACKAGE) if _has_code(p)}
    assert sorted(listed - every) == [], "listed but missing"
    assert sorted(required - listed) == [], "in the tree but not in docs/CONTRIBUTING.md"


def _has_code(path: Path) -> bool:
    """A module, or a package __init__ that defines something (not only re-exports)."""
    if path.name != "__init__.py":
        return True
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return any(isinstance(node, ast.FunctionDef | ast.ClassDef) for node in body)
