"""improve: keep improving a piece of code, cycle after cycle, until stopped.

A cycle: the worker carries out the current improvement (the task itself first), or fixes
what the last cycle broke; its change is checkpointed; the reviewer reviews the change
against the task and names next steps; the verify commands run; loopwright chooses one
improvement for the next cycle and settles the checkpoint. When verify passed (and the
worker did not fail) the change is **kept**: it becomes the last good checkpoint and the
next improvement is the reviewer's first next step. When it did not, the change is
**reverted** to the last good checkpoint (the attempt kept on a branch, never lost) and
the same improvement is tried again with the failure, as loopwright measured it, first in
the prompt. Each cycle is one ``cycle`` event: the audit trail ``loopwright history``
prints. Cycles stop at ``max_cycles`` (0: no limit), when the reviewer names nothing left
to improve, when a stop is asked for (after the step under way, the checkpoint settled),
or when a budget runs out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

import anyio
from pydantic import ConfigDict, Field

from ...backends.base import Backend, ReviewFacts
from ..events import MemorySink
from ..prompts import FENCE_RULE, Parts, Quote, render
from ..roles import parse_verdict
from ..schemas import VERDICT
from ..types import Model, Verdict, VerifyResult
from ..vocab import PatternName
from .common import PatternContext, PatternResult, context, run_pattern

__all__ = ["Cycle", "ImproveOptions", "ImproveResult", "ImproveWorkspace", "improve"]

PATCH_CHARS = 60_000
"""The diff the reviewer sees is cut at this many characters."""
TAIL_CHARS = 2_000
"""The end of a failed verify command's output the next cycle's worker sees."""

IMPROVE_SYSTEM = f"""You improve a piece of code, one improvement at a time. Make the
change described below directly in the files of the working directory, keep everything
else working (the verify commands must pass), and end with a short summary of what you
changed and why. {FENCE_RULE}"""

IMPROVE_REVIEWER_SYSTEM = f"""You review one change made to improve a piece of code for a
task. Reply with JSON only: {{"complete": true|false, "score": 0.0-1.0, "issues":
["..."], "next_steps": ["..."]}}. issues: what is wrong with this change. next_steps: the
next improvements worth making, most valuable first, each one small and checkable; [] when
nothing is left worth improving. complete is true when the change does what it set out to.
{FENCE_RULE}"""

Verify = Callable[[], Awaitable[list[VerifyResult]]]


class ImproveOptions(Model):
    """An improving run's settings (a run request's ``improve``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    max_cycles: int = Field(0, ge=0, le=100_000)
    """Cycles at most; 0: no limit (the budgets still bound the run)."""
    pause: float = Field(0.0, ge=0, le=86_400)
    """Seconds to wait between cycles."""
    resume_of: str | None = None
    """The improving run this one goes on from (its last good checkpoint, cycle, next)."""


class ImproveWorkspace(Protocol):
    """The run's worktree with a last good checkpoint (``runs`` tags it)."""

    async def begin(self, cycle: int) -> None:
        """A cycle begins; the first time, where the run stands is the good checkpoint."""

    async def attempt(self, cycle: int, subject: str) -> str:
        """Checkpoint the cycle's change and return it as a diff from the last good one."""

    async def keep(self, cycle: int, subject: str) -> str:
        """The cycle's change (and what verify left) becomes the last good checkpoint;
        returns its commit."""

    async def revert(self, cycle: int, subject: str) -> str | None:
        """Back to the last good checkpoint, the cycle's attempt kept on a branch; returns
        the branch (None: the attempt changed nothing)."""


class VerifyLine(Model):
    command: str
    passed: bool
    exit_code: int | None = None


class Cycle(Model):
    """One cycle, as the audit trail shows it."""

    cycle: int
    improvement: str
    """What the worker was asked to do."""
    why: str
    """Why that: the task, the reviewer's next step, or a fix after a failed cycle."""
    worker_ok: bool = False
    report: str = ""
    """The start of the worker's report (or its error)."""
    files: list[str] = Field(default_factory=list)
    verify: list[VerifyLine] = Field(default_factory=list)
    verify_passed: bool = False
    review: Verdict | None = None
    verdict: Literal["kept", "reverted", "unchanged"] = "unchanged"
    commit: str | None = None
    """The kept checkpoint."""
    branch: str | None = None
    """Where a reverted attempt is kept."""
    next: str | None = None
    """The improvement chosen for the next cycle."""
    cost_usd: float | None = 0.0
    tokens: int = 0


class ImproveResult(PatternResult):
    pattern: PatternName = "improve"
    worker: str = ""
    reviewer: str = ""
    cycles: list[Cycle] = Field(default_factory=list)
    good: str | None = None
    """The last good checkpoint's commit."""
    next: str | None = None
    """The improvement the next cycle would make (where ``--resume`` goes on)."""


def _files(patch: str) -> list[str]:
    return [
        line.split(" b/", 1)[-1] for line in patch.splitlines() if line.startswith("diff --git ")
    ]


def work_prompt(task: str, improvement: str, why: str, failure: list[str], tail: str) -> Parts:
    """The worker's prompt: a failed last cycle's measured results first, then the task,
    the improvement and the end of the failing output (fenced)."""
    parts: Parts = []
    if failure:
        parts.append("\n".join(["Measured by loopwright: the last cycle was reverted.", *failure]))
    parts += [
        Quote("The task (quoted):", task),
        Quote(f"This cycle's improvement ({why}; quoted):", improvement),
    ]
    if tail:
        parts.append(Quote("The end of the failing verify output (quoted):", tail))
    return parts


def review_prompt(task: str, improvement: str, report: str, ok: bool, patch: str) -> Parts:
    head = "Measured by loopwright: the worker " + ("finished." if ok else "FAILED.")
    return [
        head,
        Quote("The task (quoted):", task),
        Quote("The improvement this cycle set out to make (quoted):", improvement),
        Quote("The worker's report (quoted):", report[:4000]),
        Quote("The change, as a diff from the last good checkpoint (quoted):",
              patch[:PATCH_CHARS] or "(no change)"),
    ]  # fmt: skip


def _failure(cycle: Cycle, verify: list[VerifyResult]) -> tuple[list[str], str]:
    """What the next cycle is told of a reverted one: measured lines and an output tail."""
    lines = [f"- the worker {'finished' if cycle.worker_ok else 'FAILED'}"]
    lines += [f"- verify `{v.command}`: {'pass' if v.passed else 'FAIL'} (exit {v.exit_code})"
              for v in cycle.verify]  # fmt: skip
    failed = [v for v in verify if not v.passed]
    return lines, (failed[0].output[-TAIL_CHARS:] if failed else cycle.report)


class _Loop:
    def __init__(
        self, result: ImproveResult, task: str, worker: Backend, reviewer: Backend,
        verify: Verify, ws: ImproveWorkspace, stop: Callable[[], bool],
    ) -> None:  # fmt: skip
        self.result, self.task, self.worker, self.reviewer = result, task, worker, reviewer
        self.verify, self.ws, self.stop = verify, ws, stop
        self.failure: list[str] = []
        self.tail = ""

    async def cycle(self, n: int, improvement: str, why: str, ctx: PatternContext) -> Cycle:
        spent = (ctx.usage.cost_usd, ctx.usage.tokens)
        c = Cycle(cycle=n, improvement=improvement, why=why)
        await self.ws.begin(n)
        ctx.phase("work", n)
        prompt = render(work_prompt(self.task, improvement, why, self.failure, self.tail))
        work = await ctx.ask(self.worker, "work", "work", IMPROVE_SYSTEM, prompt, round=n,
                             may_edit=True)  # fmt: skip
        c.worker_ok, c.report = work.ok, (work.text if work.ok else work.error or "")[:600]
        patch = await self.ws.attempt(n, f"improve cycle {n}: {improvement}")
        c.files = _files(patch)
        if not self.stop():
            c.review = await self._review(n, improvement, work.text, work.ok, patch, ctx)
        ctx.phase("verify", n)
        results = await self.verify()
        c.verify = [VerifyLine(command=" ".join(v.argv), passed=v.passed, exit_code=v.exit_code)
                    for v in results]  # fmt: skip
        c.verify_passed = all(v.passed for v in results)
        await self._settle(c, results)
        c.cost_usd = round(ctx.usage.cost_usd - spent[0], 6)
        c.tokens = ctx.usage.tokens - spent[1]
        return c

    async def _review(
        self, n: int, improvement: str, report: str, ok: bool, patch: str, ctx: PatternContext
    ) -> Verdict | None:
        ctx.phase("review", n)
        prompt = render(review_prompt(self.task, improvement, report, ok, patch))
        facts = ReviewFacts(subgoals_failed=() if ok else (improvement[:80],))
        review = await ctx.ask(self.reviewer, "review", "review", IMPROVE_REVIEWER_SYSTEM,
                               prompt, round=n, schema=VERDICT, facts=facts)  # fmt: skip
        try:
            return parse_verdict(review.text, self.reviewer.spec) if review.ok else None
        except ValueError:
            return None

    async def _settle(self, c: Cycle, results: list[VerifyResult]) -> None:
        """Keep or revert the cycle's change, and choose the next improvement."""
        subject = f"improve cycle {c.cycle}: {c.improvement}"
        if c.worker_ok and c.verify_passed:
            c.verdict = "kept" if c.files else "unchanged"
            c.commit = self.result.good = await self.ws.keep(c.cycle, subject)
            steps = c.review.next_steps if c.review else []
            c.next = steps[0] if steps else None
            self.failure, self.tail = [], ""
            return
        c.verdict = "reverted"
        c.branch = await self.ws.revert(c.cycle, subject)
        c.next = c.improvement
        self.failure, self.tail = _failure(c, results)


async def improve(
    task: str,
    worker: Backend,
    reviewer: Backend,
    *,
    verify: Verify,
    workspace: ImproveWorkspace,
    max_cycles: int = 0,
    pause: float = 0.0,
    stop: Callable[[], bool] = lambda: False,
    first_cycle: int = 1,
    improvement: str | None = None,
    ctx: PatternContext | None = None,
) -> ImproveResult:
    """Improve the code in ``ctx.cwd`` for ``task`` cycle after cycle (see the module).
    ``first_cycle`` and ``improvement``: where a resumed improvement goes on."""
    ctx = ctx or context(MemorySink())
    result = ImproveResult(question=task, worker=worker.spec, reviewer=reviewer.spec)
    loop = _Loop(result, task, worker, reviewer, verify, workspace, stop)

    async def body(ctx: PatternContext) -> None:
        current, why = improvement or task, "the task" if improvement is None else "resumed"
        n = first_cycle
        while True:
            c = await loop.cycle(n, current, why, ctx)
            result.cycles.append(c)
            result.next = c.next
            ctx.emit("cycle", n, c.model_dump())
            done = _end(result, c, n - first_cycle + 1, max_cycles, stop())
            if done:
                result.state, result.stop_reason = done
                return
            current = c.next or task
            why = "a fix: the last cycle was reverted" if c.verdict == "reverted" else (
                "the reviewer's next step")  # fmt: skip
            n += 1
            with anyio.move_on_after(pause):
                while pause and not stop():
                    await anyio.sleep(min(0.2, pause))

    return await run_pattern(result, ctx, body)


def _end(
    result: ImproveResult, c: Cycle, done: int, max_cycles: int, stopped: bool
) -> tuple[Literal["completed", "cancelled"], str] | None:
    if stopped:
        return "cancelled", f"stopped on request after cycle {c.cycle}, at the last good checkpoint"
    if max_cycles and done >= max_cycles:
        return "completed", f"{done} cycle(s) done (max_cycles)"
    if c.verdict != "reverted" and c.next is None:
        return "completed", "the reviewer named nothing left to improve"
    return None
