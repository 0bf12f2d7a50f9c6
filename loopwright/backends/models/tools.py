"""The tools an API model gets as a worker, confined to its working dir.

``read_file``, ``write_file``, ``edit_file`` (exact search/replace), ``list_files``,
``search`` (regex grep), ``run_command`` (argv, no shell) and ``finish``. Every path is
resolved, symlinks included, and must stay inside the working dir. Tool failures are
replies to the model (``ToolResult.error``), never exceptions.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ProcessError, ToolRefused
from ...process.env import allowlisted_env
from ...process.runner import PlainRunner, ProcessRunner
from .chat import ToolCall, ToolSpec

READ_CAP = 100_000
LIST_CAP = 500
SEARCH_CAP = 200
COMMAND_CAP = 32 * 1024
COMMAND_TIMEOUT = 120.0
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".tox"}


def _spec(name: str, description: str, props: dict[str, Any], required: list[str]) -> ToolSpec:
    schema = {"type": "object", "properties": props, "required": required}
    return ToolSpec(name, description, schema)


_S = {"type": "string"}
TOOL_SPECS = [
    _spec("read_file", "Read a text file of the working dir.", {"path": _S}, ["path"]),
    _spec(
        "write_file",
        "Create or overwrite a file with the full content given.",
        {"path": _S, "content": _S},
        ["path", "content"],
    ),
    _spec(
        "edit_file",
        "Replace the exact text `search` (must occur exactly once) with `replace`.",
        {"path": _S, "search": _S, "replace": _S},
        ["path", "search", "replace"],
    ),
    _spec("list_files", "List files under a directory (default: the root).", {"path": _S}, []),
    _spec(
        "search",
        "Search files for a regular expression; returns path:line: text.",
        {"pattern": _S, "path": _S},
        ["pattern"],
    ),
    _spec(
        "run_command",
        "Run a program (argv list, no shell) in the working dir; returns exit code and output.",
        {"argv": {"type": "array", "items": _S}, "timeout": {"type": "number"}},
        ["argv"],
    ),
    _spec(
        "finish",
        "Call when the subgoal is done, with a short summary of what you changed.",
        {"summary": _S},
        ["summary"],
    ),
]


@dataclass
class ToolResult:
    text: str
    error: bool = False


class Workspace:
    """The tools' working dir; ``run_command`` starts its programs with ``runner``."""

    def __init__(
        self, root: str | Path, deadline: float | None = None, runner: ProcessRunner | None = None
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.deadline = deadline
        self.runner = runner or PlainRunner()
        self.changed: set[str] = set()

    def resolve(self, path: Any) -> Path:
        """``path`` inside the working dir, symlinks resolved; ``ToolRefused`` if outside."""
        if not isinstance(path, str) or not path.strip():
            raise ToolRefused("path must be a non-empty string")
        target = Path(os.path.realpath(self.root / path))
        if target != self.root and not target.is_relative_to(self.root):
            raise ToolRefused(f"path {path!r} is outside the working dir; use relative paths")
        return target

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root)) or "."

    async def execute(self, call: ToolCall) -> ToolResult:
        handler = getattr(self, f"_t_{call.name}", None)
        if handler is None or call.name == "finish":
            return ToolResult(f"unknown tool {call.name!r}", error=True)
        try:
            result: ToolResult = await handler(call.arguments)
        except ToolRefused as exc:
            return ToolResult(str(exc), error=True)
        except KeyError as exc:
            return ToolResult(f"{call.name}: missing argument {exc}", error=True)
        except (OSError, UnicodeDecodeError) as exc:
            return ToolResult(f"{call.name}: {type(exc).__name__}: {exc}", error=True)
        return result

    async def _t_read_file(self, args: dict[str, Any]) -> ToolResult:
        path = self.resolve(args["path"])
        if not path.is_file():
            return ToolResult(f"no file {args['path']!r}", error=True)
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) > READ_CAP:
            text = text[:READ_CAP] + f"\n[... cut at {READ_CAP} of {len(text)} characters]"
        return ToolResult(text)

    async def _t_write_file(self, args: dict[str, Any]) -> ToolResult:
        path = self.resolve(args["path"])
        content = args["content"]
        if not isinstance(content, str):
            raise ToolRefused("content must be a string")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        self.changed.add(self.rel(path))
        return ToolResult(f"wrote {self.rel(path)} ({len(content)} characters)")

    async def _t_edit_file(self, args: dict[str, Any]) -> ToolResult:
        path = self.resolve(args["path"])
        search, replace = args["search"], args["replace"]
        if not isinstance(search, str) or not isinstance(replace, str) or not search:
            raise ToolRefused("search must be a non-empty string and replace a string")
        if not path.is_file():
            return ToolResult(f"no file {args['path']!r}; use write_file to create it", True)
        body = path.read_text(encoding="utf-8")
        count = body.count(search)
        if count != 1:
            why = f"found {count} times; add context to make it unique" if count else "not found"
            return ToolResult(f"edit_file {self.rel(path)}: search text {why}", error=True)
        path.write_text(body.replace(search, replace, 1), encoding="utf-8")
        self.changed.add(self.rel(path))
        return ToolResult(f"edited {self.rel(path)}")

    def _walk(self, base: Path) -> list[Path]:
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            found.extend(Path(dirpath) / f for f in sorted(filenames))
            if len(found) > LIST_CAP * 20:
                break
        return found

    async def _t_list_files(self, args: dict[str, Any]) -> ToolResult:
        base = self.resolve(args.get("path") or ".")
        if not base.is_dir():
            return ToolResult(f"no directory {args.get('path')!r}", error=True)
        files = [self.rel(p) for p in self._walk(base)]
        more = f"\n[... {len(files) - LIST_CAP} more]" if len(files) > LIST_CAP else ""
        return ToolResult("\n".join(files[:LIST_CAP]) + more or "(no files)")

    async def _t_search(self, args: dict[str, Any]) -> ToolResult:
        try:
            pattern = re.compile(str(args["pattern"]))
        except re.error as exc:
            return ToolResult(f"bad regular expression: {exc}", error=True)
        base = self.resolve(args.get("path") or ".")
        hits: list[str] = []
        for path in self._walk(base) if base.is_dir() else [base]:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            hits.extend(
                f"{self.rel(path)}:{n}: {line[:300]}"
                for n, line in enumerate(lines, 1)
                if pattern.search(line)
            )
            if len(hits) >= SEARCH_CAP:
                break
        return ToolResult("\n".join(hits[:SEARCH_CAP]) or "no matches")

    async def _t_run_command(self, args: dict[str, Any]) -> ToolResult:
        argv = args["argv"]
        if isinstance(argv, str):
            argv = argv.split()
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise ToolRefused("argv must be a non-empty list of strings")
        timeout = float(args.get("timeout") or COMMAND_TIMEOUT)
        timeout = min(timeout, COMMAND_TIMEOUT, *([self._left()] if self.deadline else []))
        try:
            r = await self.runner.run(
                argv, cwd=self.root, timeout=timeout, env=allowlisted_env(), cap=COMMAND_CAP
            )
        except ProcessError as exc:
            return ToolResult(str(exc), error=True)
        status = f"timed out after {timeout:g}s" if r.timed_out else f"exit {r.exit_code}"
        return ToolResult(f"{status}\n{r.output}", error=not r.ok)

    def _left(self) -> float:
        assert self.deadline is not None
        return max(1.0, self.deadline - time.monotonic())
