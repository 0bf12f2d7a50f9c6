"""The one exception tree: every error class lives in ``errors.py`` and is drawn there."""

from __future__ import annotations

import ast
import builtins
import inspect
import re
from pathlib import Path

import loopwright
from loopwright import errors

PACKAGE = Path(loopwright.__file__).parent


def drawn_parents() -> dict[str, str | None]:
    """Each class in the docstring's drawing and the class drawn above it (None: a root)."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        found = re.search(r"[A-Za-z]\w*", line)
        name = found.group() if found else ""
        if not hasattr(errors, name) and not hasattr(builtins, name):
            continue
        column = found.start() if found else 0
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def defined_exceptions() -> dict[str, type[BaseException]]:
    mine = [
        (n, c) for n, c in vars(errors).items() if getattr(c, "__module__", "") == errors.__name__
    ]
    return {n: c for n, c in mine if inspect.isclass(c) and issubclass(c, BaseException)}


def test_every_exception_class_is_drawn_under_its_real_parent() -> None:
    drawn = drawn_parents()
    for name, cls in defined_exceptions().items():
        assert name in drawn, f"{name} is missing from the drawing in errors.py"
        base = cls.__base__.__name__
        root = drawn[name] is None and hasattr(builtins, base)  # LoopwrightError(Exception)
        assert root or drawn[name] == base, f"{name} is drawn under {drawn[name]}, not {base}"


def test_the_drawing_shows_no_class_that_does_not_exist() -> None:
    classes = set(defined_exceptions()) | {"OSError"}
    assert set(drawn_parents()) == classes


def test_no_error_class_is_defined_outside_errors_py() -> None:
    known = {name for name, value in vars(builtins).items() if isinstance(value, type)}
    known |= set(defined_exceptions()) | {"ToolError", "MCPError"}
    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = {getattr(b, "id", None) or getattr(b, "attr", "") for b in node.bases}
            if any(b in known and (b.endswith(("Error", "Exception")) or hasattr(errors, b))
                   for b in bases):  # fmt: skip
                elsewhere.append(f"{node.name} ({path.relative_to(PACKAGE)})")
    assert not elsewhere, "error classes outside errors.py (move them and draw them): " + ", ".join(
        elsewhere
    )


def test_the_provider_errors_keep_their_old_import_path() -> None:
    from loopwright.backends.models import chat, tools

    assert chat.ProviderError is errors.ProviderError
    assert tools.ToolRefused is errors.ToolRefused
    assert issubclass(errors.ToolsUnsupported, errors.ProviderError)
