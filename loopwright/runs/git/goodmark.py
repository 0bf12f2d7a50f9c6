"""The last good checkpoint of an improving run, as a tag, and reverts to it that lose
nothing: ``improve``'s ``ImproveWorkspace`` over a run's ``Workspace``.

The tag ``loopwright/<run>/good`` names the last checkpoint whose verify commands passed.
A cycle's attempt is committed first (a checkpoint like any other); a kept one moves the
tag to it. A reverted one stays on the branch ``loopwright/<run>-attempt-<cycle>`` and the
worktree goes back to the tag, but only once ``assert_disposable`` agrees that nothing
in it is uncommitted and its HEAD is on that branch: work is never destroyed.
"""

from __future__ import annotations

import anyio

from .gitcmd import agit, run_git
from .safety import assert_disposable
from .worktree import Workspace

__all__ = ["GoodCheckpoints", "attempt_branch", "good_tag"]


def good_tag(run_id: str) -> str:
    return f"loopwright/{run_id}/good"


def attempt_branch(run_id: str, cycle: int) -> str:
    """Beside the run's branch ``loopwright/<run>``, which a ref cannot also be a folder of."""
    return f"loopwright/{run_id}-attempt-{cycle}"


class GoodCheckpoints:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.tag = good_tag(ws.run_id)
        self.good = ""

    async def _head(self) -> str:
        return (await agit(self.ws.path, "rev-parse", "HEAD")).strip()

    async def begin(self, cycle: int) -> None:
        """Before a cycle's work. The first time: where the run stands is good, unless the
        run already has a good checkpoint (it was interrupted and goes on): then an
        attempt it left unsettled is reverted, onto its branch."""
        ws = self.ws
        await ws.begin_iteration(cycle)
        if self.good:
            return
        ref = f"refs/tags/{self.tag}"
        found = run_git(ws.path, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
        if found.returncode != 0:
            self.good = await self._head()
            await agit(ws.path, "update-ref", ref, self.good)
            return
        self.good = found.stdout.decode().strip()
        await self.revert(cycle, "the attempt an interruption left")
        await ws.begin_iteration(cycle)

    async def attempt(self, cycle: int, subject: str) -> str:
        await self.ws.checkpoint(cycle, subject, "attempt")
        return await agit(self.ws.path, "diff", "-M", "--no-color", self.good, "HEAD")

    async def keep(self, cycle: int, subject: str) -> str:
        await self.ws.checkpoint(cycle, f"{subject} (what verify left)", "kept")
        self.good = await self._head()
        await agit(self.ws.path, "update-ref", f"refs/tags/{self.tag}", self.good)
        return self.good

    async def revert(self, cycle: int, subject: str) -> str | None:
        """Back to the good checkpoint; the attempt's branch (None: it changed nothing)."""
        ws = self.ws
        await ws.checkpoint(cycle, f"{subject} (reverted)", "reverted")
        head = await self._head()
        if head == self.good:
            return None
        branch = attempt_branch(ws.run_id, cycle)
        if run_git(ws.path, "rev-parse", "--verify", "-q", f"refs/heads/{branch}").returncode == 0:
            branch = f"{branch}-{head[:8]}"  # a resumed run's cycle of the same number
        await agit(ws.path, "update-ref", f"refs/heads/{branch}", head, "")
        await anyio.to_thread.run_sync(assert_disposable, ws.path, f"refs/heads/{branch}")
        await agit(ws.path, "reset", "--hard", "-q", self.good)
        ws.iteration_base, ws.base_tree = self.good, None
        ws.record["head"] = self.good
        ws.save()
        return branch
