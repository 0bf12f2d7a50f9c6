"""A run whose request names a pattern (consult, delegate, debate) instead of the loop.

``drive`` hands such a run here: the same run host, run directory, event log, budget,
cancel and result as a loop's, so ``status``, ``tail``, ``result`` and ``cancel`` work on
it unchanged. The request's ``workers`` are the pattern's participants (the delegate for
``delegate``) and its ``reviewers`` hold at most one helper: the synthesizer, the judge or
the reviewer. The pattern's own result is the run result's ``extra``.

A resumed pattern run (its host died: ``interrupted``) goes on from its event log: the
exchanges there are handed to the pattern (``Earlier``), which asks again only what they
do not hold, and what every one of them cost starts the run's usage and budget.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio

from ..backends.base import Backend
from ..loop.budget import BudgetTracker
from ..loop.harness import Roles
from ..loop.patterns import (
    Earlier,
    Exchange,
    PatternContext,
    PatternResult,
    consult,
    debate,
    delegate,
)
from ..loop.types import RunResult, UsageTotals
from ..loop.vocab import RunState
from .eventlog import read_events
from .git.gitcmd import agit
from .git.worktree import Workspace
from .recorder import RunRecorder
from .request import RunRequest


class WorktreeChanges:
    """The delegate's ``DelegateWorkspace`` over the run's worktree: its work is one
    checkpoint, and the reviewer sees the diff from where it began."""

    def __init__(self, ws: Workspace, task: str) -> None:
        self.ws = ws
        self.task = task
        self.base = ""

    async def begin(self) -> None:
        await self.ws.begin_iteration(0)
        self.base = self.ws.iteration_base

    async def changes(self) -> str:
        subject = f"delegated: {' '.join(self.task.split())[:100]}"
        await self.ws.checkpoint(0, subject, "delegated")
        return await agit(self.ws.path, "diff", "-M", self.base, "HEAD")

    async def resume(self) -> list[str]:
        """The worktree as the interrupted run left it (nothing in it is touched): its
        changes are measured from the run's start; the files changed since then."""
        await self.ws.begin_iteration(0)
        self.base = self.ws.record["base"]
        path = self.ws.path
        tracked = await agit(path, "diff", "--name-only", "-z", "--no-renames", self.base)
        untracked = await agit(path, "ls-files", "-z", "--others", "--exclude-standard")
        return sorted({p for p in f"{tracked}\0{untracked}".split("\0") if p})


class PatternRun:
    """Runs the request's pattern with the run's recorder as its sink."""

    def __init__(
        self,
        request: RunRequest,
        roles: Roles,
        recorder: RunRecorder,
        ws: Workspace | None,
        resume: bool = False,
    ) -> None:
        self.request = request
        self.roles = roles
        self.recorder = recorder
        self.ws = ws
        loop = request.loop
        self.earlier: Earlier | None = None
        """A resumed run's log: what it holds is not asked again."""
        used = UsageTotals()
        if resume:
            self.earlier = earlier_log(recorder.paths.events)
            used = replace(self.earlier.used)
        budget = BudgetTracker(loop.budget, used)
        self.ctx = PatternContext(recorder, budget, loop.cwd, loop.worker_timeout)

    def wake(self) -> bool:
        """End the pattern's usage-limit pauses now (``loopwright resume``); safe from any
        thread. False when no call is waiting."""
        return self.ctx.gate.wake()

    async def run(self) -> RunResult:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.recorder.flusher)
            outcome = await self._pattern()
            tg.cancel_scope.cancel()
        return self._as_run_result(outcome)

    async def _pattern(self) -> PatternResult:
        r, ctx = self.request, self.ctx
        question, options = r.loop.goal, r.pattern_options
        panel = self.roles.workers
        helper = self.roles.reviewers[0] if self.roles.reviewers else None
        earlier = self.earlier
        if r.pattern == "consult":
            had = earlier.exchanges if earlier else []
            answered = [a for a in had if _same(a, panel)]
            return await consult(question, panel, synthesizer=helper, ctx=ctx, answered=answered)
        if r.pattern == "debate":
            return await debate(question, panel, rounds=options.rounds, judge=helper,
                                converge_at=options.converge_at, ctx=ctx,
                                earlier=earlier)  # fmt: skip
        changes = WorktreeChanges(self.ws, question) if self.ws is not None else None
        return await delegate(question, panel[0], reviewer=helper, may_edit=options.may_edit,
                              workspace=changes, ctx=ctx, earlier=earlier)  # fmt: skip

    def ended(self, state: RunState, reason: str, error: str | None) -> RunResult:
        """The result of a pattern ended from outside (cancelled, an error): what it had
        gathered, with this end."""
        outcome = self.ctx.result or PatternResult(pattern=self.request.pattern)
        outcome.state, outcome.stop_reason, outcome.error = state, reason, error
        outcome.usage = self.ctx.usage
        outcome.duration = round(self.ctx.budget.elapsed(), 3)
        return self._as_run_result(outcome)

    def _as_run_result(self, outcome: PatternResult) -> RunResult:
        rounds = getattr(outcome, "rounds", None)
        return RunResult(
            state=outcome.state,
            stop_reason=outcome.stop_reason,
            iterations=max(0, len(rounds) - 1) if rounds else 0,
            summary=f"{outcome.pattern} {outcome.state}: {outcome.stop_reason}",
            usage=outcome.usage,
            duration=outcome.duration,
            error=outcome.error,
            cwd=self.request.loop.cwd,
            extra=outcome.model_dump(),
        )


def earlier_log(events: Path) -> Earlier:
    """What a resumed pattern run's log holds (``Earlier.of``), read page by page."""
    kept, cursor = [], None
    while True:
        page = read_events(events, cursor, limit=5000)
        kept += [e for e in page.events if e["type"] in ("exchange", "disagreement", "decision")]
        cursor = page.cursor
        if not page.more:
            return Earlier.of(kept)


def _same(answer: Exchange, panel: list[Backend]) -> bool:
    """An earlier answer still stands: ok, and from the backend now at its place."""
    n = answer.participant or 0
    return answer.ok and answer.step == "answer" and 0 < n <= len(panel) and (
        panel[n - 1].spec == answer.spec)  # fmt: skip
