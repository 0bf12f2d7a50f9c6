"""The layout cannot rot: imports follow DESIGN.md's direction and form no cycle.

Direction, top to bottom (an arrow back up fails): ``cli`` (which may start the
``server``), ``server``, ``ui`` -> ``runs`` -> ``loop`` -> ``backends`` -> ``hosts`` ->
``process``, ``config`` and ``fsmodes`` (how loopwright makes its files), ``errors``.
Function-local and ``TYPE_CHECKING`` imports count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import loopwright

PACKAGE = Path(loopwright.__file__).parent
RANK = {
    "cli": 0, "server": 1, "ui": 1, "runs": 2, "memory": 2, "loop": 3, "backends": 4,
    "hosts": 5, "process": 6, "config": 7, "fsmodes": 7, "errors": 8,
}  # fmt: skip
"""Lower numbers sit higher; a module may import its own part or any part ranked below it."""
TOP = {"loopwright", "loopwright.__main__"}  # the public API's re-exports: not a layer


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {module_name(f) for f in FILES}


def imports_of(path: Path) -> set[str]:
    """Every loopwright module ``path`` imports, wherever the import statement sits."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("loopwright"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith("loopwright"):
                continue
            for alias in node.names:  # ``from . import x`` may name a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    found.discard(name)
    return found


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else module


GRAPH = {module_name(f): imports_of(f) for f in FILES}


def test_every_part_of_the_package_has_a_place_in_the_direction() -> None:
    unplaced = {part(m) for m in MODULES if m not in TOP and part(m) not in RANK}
    assert not unplaced, f"parts with no rank in DESIGN.md's direction: {sorted(unplaced)}"


def test_no_import_goes_against_the_dependency_direction() -> None:
    wrong = [
        f"{src} -> {dst}"
        for src, targets in GRAPH.items()
        if src not in TOP
        for dst in sorted(targets)
        if dst not in TOP and RANK[part(dst)] < RANK[part(src)]
    ]
    assert not wrong, "imports against the direction:\n" + "\n".join(wrong)


def test_no_import_cycle_even_through_function_local_imports() -> None:
    # Package __init__ files are no layer of their own: the public API at the top is
    # left out, the others only re-export.
    graph = {m: {t for t in ts if t in GRAPH and t not in TOP} for m, ts in GRAPH.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append([*stack[stack.index(t) :], t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state and m not in TOP:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_layout_has_the_folders_design_md_draws() -> None:
    for folder in ("backends/agents", "backends/models", "process", "cli", "runs/git"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder
    assert not (PACKAGE / "adapters").exists()
