"""Only ``process/`` starts programs: everything else goes through a ``ProcessRunner``.

An ast walk over the package (function-local code included) fails on a module outside
``loopwright/process/`` that imports ``subprocess`` (or ``multiprocessing``, ``pty``),
calls ``os.fork``/``os.system``/``os.exec*``/``os.spawn*``/``os.posix_spawn*``/``os.popen``,
``asyncio.create_subprocess_*``, a loop's ``subprocess_exec``/``subprocess_shell``,
``anyio.run_process``/``open_process``, a ``Popen``, or the plain ``run_process`` (which
would skip the runner a caller was handed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import loopwright

PACKAGE = Path(loopwright.__file__).parent
ALLOWED = PACKAGE / "process"
MODULES = {"subprocess", "multiprocessing", "pty", "asyncio.subprocess"}
ANY_BASE = {
    "Popen",
    "create_subprocess_exec",
    "create_subprocess_shell",
    "subprocess_exec",
    "subprocess_shell",
    "run_process",
    "open_process",
}
OS_NAMES = {"fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp"}


def _os_call(name: str) -> bool:
    return name in OS_NAMES or name.startswith(("exec", "spawn"))


def _banned(module: str) -> bool:
    return module in MODULES or module.split(".")[0] in MODULES


def _what(node: ast.AST) -> str | None:
    """How ``node`` starts a program without a runner, or None."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if _banned(a.name)]
        return f"import {', '.join(names)}" if names else None
    if isinstance(node, ast.ImportFrom) and node.module:
        names = [a.name for a in node.names]
        if _banned(node.module):
            return f"from {node.module} import"
        if node.module == "os" and any(_os_call(n) for n in names):
            return f"from os import {', '.join(names)}"
        found = [n for n in names if n in ANY_BASE]
        return f"from {node.module} import {', '.join(found)}" if found else None
    if isinstance(node, ast.Attribute):
        base = node.value.id if isinstance(node.value, ast.Name) else None
        if node.attr in ANY_BASE or (base == "os" and _os_call(node.attr)):
            return f"{base or '...'}.{node.attr}"
    if isinstance(node, ast.Name) and node.id in ANY_BASE:
        return node.id
    return None


def starts(source: str) -> list[str]:
    """Each way ``source`` starts a program without a runner, as ``line: what``."""
    return [
        f"{getattr(node, 'lineno', '?')}: {what}"
        for node in ast.walk(ast.parse(source))
        if (what := _what(node))
    ]


def test_no_module_outside_process_starts_a_program_itself() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{hit}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not path.is_relative_to(ALLOWED)
        for hit in starts(path.read_text())
    ]
    assert not wrong, "programs started without a ProcessRunner:\n" + "\n".join(wrong)


def test_the_check_finds_every_way_of_starting_a_program() -> None:
    samples = [
        "import subprocess",
        "import multiprocessing.pool",
        "from asyncio.subprocess import PIPE",
        "from subprocess import run",
        "import os\nos.fork()",
        "import os\nos.execvp('x', ['x'])",
        "import os\nos.posix_spawn('x', ['x'], {})",
        "from os import system",
        "import asyncio\nasyncio.create_subprocess_exec('x')",
        "loop.subprocess_exec(P, 'x')",
        "import anyio\nanyio.run_process(['x'])",
        "from ..process.runner import run_process",
        "x = Popen(['x'])",
    ]
    assert [s for s in samples if not starts(s)] == []
    assert starts("import os\nos.getpid()\nrequest.system\nplatform.system()") == []
