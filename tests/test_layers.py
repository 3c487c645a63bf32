"""The package's layers: a module imports only from its own package or from lower layers.

Every import counts, including those inside functions and under TYPE_CHECKING: a type
that names a higher layer still ties the lower one to it. docs/CONTRIBUTING.md draws the
same map; `test_contributing_map_lists_every_module` keeps the two in step.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ecslab"
CONTRIBUTING = PACKAGE.parent / "docs" / "CONTRIBUTING.md"

# Lower number = lower layer. Packages of one rank do not import each other either.
RANKS: dict[str, int] = {
    "core": 0,
    "aws": 1,
    "engine": 1,
    "sandbox": 2,
    "lab": 3,
    "steps": 4,
    "views": 4,
    "compose": 5,
    "cli": 6,
}
TOP_LEVEL = {"__init__", "__main__"}  # the entry points sit above everything


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "ecslab" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("ecslab.")}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _violations() -> list[str]:
    problems = []
    for path in _modules():
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) == 1:
            if relative.stem not in TOP_LEVEL:
                problems.append(f"{relative}: a module outside every layer package")
            continue
        own = relative.parts[0]
        for imported in sorted(_imports(path)):
            target = _package_of(imported)
            if target is None or target == own or target not in RANKS:
                continue
            if RANKS[target] >= RANKS[own]:
                problems.append(f"{relative}: {own} (rank {RANKS[own]}) imports {imported}")
    return problems


def test_every_package_has_a_rank() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANKS)


def test_no_layer_imports_upward_or_sideways() -> None:
    assert _violations() == []


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None
    ]
    assert missing == []


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
    every = {str(p.relative_to(PACKAGE)) for p in _modules()}
    required = {str(p.relative_to(PACKAGE)) for p in _modules() if _has_code(p)}
    assert sorted(listed - every) == [], "listed but missing"
    assert sorted(required - listed) == [], "in the tree but not in docs/CONTRIBUTING.md"


def _has_code(path: Path) -> bool:
    """A module, or a package __init__ that defines something (not only re-exports)."""
    if path.name != "__init__.py":
        return True
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return any(isinstance(node, ast.FunctionDef | ast.ClassDef) for node in body)
