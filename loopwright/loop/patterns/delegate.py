"""delegate: hand a task to a named backend, then have the caller's backend review it.

The delegate works in the run's working dir (its git worktree for a run in a repository)
and may change files there (``may_edit``). Its changes are checkpointed and shown to the
reviewer as a diff, fenced with the delegate's report; the reviewer replies with a
verdict against the task. The result holds the work, the diff and the review.

**Resume.** A delegate run whose host died goes on from its log (``earlier``): when the
delegate's work finished (its ``work`` exchange is there, ok) it is not asked again: what
it left in the worktree is checkpointed and the run goes on to the review (a review
already recorded is taken from the log too). When the work did not finish it starts
again in the same worktree, whose changes from the first attempt stay; a ``resumed``
event says so and names the files already changed, and the delegate is told.
"""

from __future__ import annotations

from typing import Protocol

from ...backends.base import Backend, ReviewFacts
from ..events import MemorySink
from ..prompts import Parts, render, repair_prompt
from ..roles import parse_verdict
from ..schemas import VERDICT
from ..types import Verdict
from ..vocab import PatternName
from . import prompts as P
from .common import Exchange, PatternContext, PatternResult, context, run_pattern
from .earlier import Earlier, fresh

PATCH_CHARS = 100_000
"""The diff the reviewer sees and the result holds is cut at this many characters."""

DELEGATE_SYSTEM = """You carry out a task delegated to you. When it asks for a change, make
it directly in the files of the working directory. End with a short summary of what you
did and anything left undone."""

READ_ONLY_SYSTEM = """You carry out a task delegated to you. Do not edit any file: answer
with what the task asks for."""


class DelegateWorkspace(Protocol):
    """Where the delegate works, for the diff its reviewer sees."""

    async def begin(self) -> None:
        """The work starts: its changes are measured from here."""

    async def changes(self) -> str:
        """Checkpoint what the delegate changed and return it as a diff ("" for none)."""

    async def resume(self) -> list[str]:
        """A resumed run's work goes on: its changes are measured from where the run began
        (``begin`` of the first attempt); returns the files changed since then."""


class DelegateResult(PatternResult):
    pattern: PatternName = "delegate"
    delegate: str = ""
    reviewer: str | None = None
    work: Exchange | None = None
    patch: str | None = None
    """The delegate's changes as a diff (None: not in a git worktree; "": none)."""
    patch_truncated: bool = False
    review: Exchange | None = None
    verdict: Verdict | None = None
    """The reviewer's verdict against the task (None: no reviewer, or no usable reply)."""


async def delegate(
    task: str,
    backend: Backend,
    *,
    reviewer: Backend | None = None,
    may_edit: bool = True,
    workspace: DelegateWorkspace | None = None,
    ctx: PatternContext | None = None,
    earlier: Earlier | None = None,
) -> DelegateResult:
    """``backend`` does ``task`` (changing files in ``ctx.cwd`` when ``may_edit``); then
    ``reviewer`` (the caller's backend; None: no review) judges the result against it.
    ``earlier``: a resumed run's log (finished work and review are taken from it)."""
    ctx = ctx or context(MemorySink())
    result = DelegateResult(
        question=task, delegate=backend.spec, reviewer=reviewer.spec if reviewer else None
    )
    log = fresh(earlier)

    async def body(ctx: PatternContext) -> None:
        done = log.take("work", 0, None, backend.spec)
        if done is not None and done.ok:
            await _worked(result, done, workspace)
        else:
            await _work(result, task, backend, may_edit, workspace, ctx, log)
        if result.work is None or not result.work.ok:
            error = result.work.error if result.work else "no answer"
            result.state, result.stop_reason = "failed", f"the delegate failed: {error}"
            result.error = result.stop_reason
        elif reviewer is None:
            result.state, result.stop_reason = "completed", "done by the delegate; not reviewed"
        else:
            await _review(result, task, reviewer, ctx, log)

    return await run_pattern(result, ctx, body)


async def _work(
    result: DelegateResult,
    task: str,
    backend: Backend,
    may_edit: bool,
    workspace: DelegateWorkspace | None,
    ctx: PatternContext,
    log: Earlier,
) -> None:
    """The work (again, on a resume that found it unfinished: in the same worktree)."""
    ctx.phase("work")
    prompt = task
    if log.resumed:
        files = await workspace.resume() if workspace is not None else None
        log.go_on(ctx, "delegate", "work", 0, restarted=True, files=files and files[:50],
                  changed=None if files is None else len(files))  # fmt: skip
        prompt = P.restarted_task(task, len(files)) if files else task
    elif workspace is not None:
        await workspace.begin()
    system = DELEGATE_SYSTEM if may_edit else READ_ONLY_SYSTEM
    result.work = await ctx.ask(backend, "work", "work", system, prompt, may_edit=may_edit)
    if workspace is not None:
        await _patch(result, workspace)


async def _worked(
    result: DelegateResult, work: Exchange, workspace: DelegateWorkspace | None
) -> None:
    """A resumed run whose work finished: its exchange from the log, what it left in the
    worktree checkpointed (if the host died before that) and diffed from the start."""
    result.work = work
    if workspace is not None:
        await workspace.resume()
        await _patch(result, workspace)


async def _patch(result: DelegateResult, workspace: DelegateWorkspace) -> None:
    patch = await workspace.changes()
    result.patch, result.patch_truncated = patch[:PATCH_CHARS], len(patch) > PATCH_CHARS


async def _review(
    result: DelegateResult, task: str, reviewer: Backend, ctx: PatternContext, log: Earlier
) -> None:
    ctx.phase("review")
    work = result.work
    assert work is not None
    facts = ReviewFacts(subgoals_failed=() if work.ok else (task[:80],))
    parts = P.delegate_review_prompt(task, work.ok, work.text, work.error, result.patch)
    review = await _ask_verdict(reviewer, parts, facts, ctx, log)
    result.review = review
    try:
        result.verdict = parse_verdict(review.text, reviewer.spec) if review.ok else None
    except ValueError:
        result.verdict = None
    verdict = result.verdict
    if verdict is None:
        result.state, result.stop_reason = "stopped", "the reviewer gave no usable verdict"
        return
    decision = {"pattern": "delegate", "by": "review", **verdict.model_dump()}
    if log.unrecorded("decision", 0):
        ctx.emit("decision", 0, decision)
    if verdict.complete:
        result.state, result.stop_reason = "completed", "the reviewer accepted the work"
    else:
        result.state, result.stop_reason = "stopped", "the reviewer found the work incomplete"


async def _ask_verdict(
    reviewer: Backend, parts: Parts, facts: ReviewFacts, ctx: PatternContext, log: Earlier
) -> Exchange:
    """The reviewer's reply; one repair when it cannot be read as a verdict. A reply the
    log holds is taken from it."""

    async def ask(prompt: str) -> Exchange:
        async def call() -> Exchange:
            return await ctx.ask(reviewer, "review", "review", P.DELEGATE_REVIEWER_SYSTEM,
                                 prompt, schema=VERDICT, facts=facts)  # fmt: skip

        return await log.answer(ctx, "delegate", "review", 0, None, reviewer.spec, call)

    review = await ask(render(parts))
    problem = _problem(review, reviewer.spec)
    if problem is None:
        return review
    return await ask(render(repair_prompt(parts, review.text, problem)))


def _problem(review: Exchange, spec: str) -> str | None:
    if not review.ok:
        return f"the call failed: {review.error}"
    try:
        parse_verdict(review.text, spec)
    except ValueError as exc:
        return str(exc)
    return None
