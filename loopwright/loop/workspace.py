"""What the harness asks of the place it works in (a git worktree, or a plain dir)."""

from __future__ import annotations

from typing import Protocol

from .types import Subgoal, TaskResult


class LoopWorkspace(Protocol):
    async def begin_iteration(self, iteration: int) -> None:
        """The iteration starts; its checkpoint will hold everything changed from here."""

    async def subgoal_dirs(self, iteration: int, subgoals: list[Subgoal]) -> dict[str, str]:
        """A separate working dir per subgoal for parallel work ({} to share one dir)."""

    async def merge_subgoals(self, iteration: int, results: list[TaskResult]) -> list[TaskResult]:
        """Bring each subgoal's work back; a subgoal whose merge conflicts becomes failed."""

    async def checkpoint(self, iteration: int, subject: str, verdict: str) -> None:
        """Commit what changed since the iteration began (nothing changed: no commit)."""

    async def changed_files(self) -> list[str]:
        """Paths changed since the iteration began, committed or not (untracked files
        that are not ignored included): measured facts for the reviewer."""
