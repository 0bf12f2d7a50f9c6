"""A ``ProcessRunner`` for tests: the plain runner, noting every program it starts."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loopwright.process.runner import Completed, PlainRunner, ProcessResult


class RecordingRunner(PlainRunner):
    """Runs everything as ``PlainRunner`` does; ``calls`` holds (method, argv) in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()  # git calls come from worker threads

    def _note(self, method: str, argv: Sequence[str]) -> None:
        with self._lock:
            self.calls.append((method, list(argv)))

    async def run(self, argv: Sequence[str], **kwargs: Any) -> ProcessResult:
        self._note("run", argv)
        return await super().run(argv, **kwargs)

    def run_sync(self, argv: Sequence[str], **kwargs: Any) -> Completed:
        self._note("run_sync", argv)
        return super().run_sync(argv, **kwargs)

    def spawn_detached(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        output: int,
        env: Mapping[str, str] | None = None,
    ) -> int:
        self._note("spawn_detached", argv)
        return super().spawn_detached(argv, cwd=cwd, output=output, env=env)

    def argvs(self, method: str) -> list[list[str]]:
        with self._lock:
            return [argv for m, argv in self.calls if m == method]

    def git(self) -> list[str]:
        """The git subcommands run, in order (the ``-c`` options left out)."""
        return [_subcommand(argv) for argv in self.argvs("run_sync") if argv[0] == "git"]


def _subcommand(argv: list[str]) -> str:
    i = 1
    while i < len(argv) and argv[i] == "-c":
        i += 2
    return argv[i]
