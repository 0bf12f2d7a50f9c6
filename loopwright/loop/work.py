"""The work phase: subgoals in parallel, each with retries and backoff.

A worker that fails or raises becomes a FAILED ``TaskResult``; nothing is dropped.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from ..backends.base import WorkItem
from ..config import PREVIEW_CHARS
from ..errors import BudgetExceeded, LoopwrightError, unwrapped
from . import prompts as P
from .types import Subgoal, TaskResult

if TYPE_CHECKING:
    from ..backends.base import AgentResponse, Backend, JsonSchema, Purpose, ReviewFacts
    from .events import EventSink
    from .route import Router
    from .types import LoopConfig


class _Workers(Protocol):
    @property
    def workers(self) -> list[Backend]: ...


class Harness(Protocol):
    """What the work phase needs of the harness (``harness.Harness``)."""

    config: LoopConfig
    sink: EventSink
    router: Router

    @property
    def roles(self) -> _Workers: ...

    @property
    def criteria(self) -> list[str]: ...

    async def call(
        self,
        backend: Backend,
        purpose: Purpose,
        system: str,
        prompt: str,
        iteration: int,
        *,
        may_edit: bool = False,
        schema: JsonSchema | None = None,
        work: WorkItem | None = None,
        facts: ReviewFacts | None = None,
        output_name: str | None = None,
        cwd: str | None = None,
    ) -> AgentResponse: ...


MAX_BACKOFF = 30.0


async def run_subgoals(
    h: Harness,
    iteration: int,
    subgoals: list[Subgoal],
    dirs: dict[str, str] | None = None,
    finished: dict[str, int] | None = None,
) -> list[TaskResult]:
    """Run every subgoal (each in ``dirs[id]`` when given) and return their results in order.

    ``finished`` gets, per subgoal id, the seq of its last ``worker_finished`` event: the
    event that holds its result (``iteration_finished`` refers to it)."""
    seqs = {} if finished is None else finished
    limiter = anyio.CapacityLimiter(h.config.concurrency)
    limited = len(subgoals) > h.config.concurrency
    results: dict[str, TaskResult] = {}
    budget_errors: list[BudgetExceeded] = []

    async def one(n: int, subgoal: Subgoal) -> None:
        cwd = (dirs or {}).get(subgoal.id)
        if not limited:
            results[subgoal.id] = await _attempts(
                h, iteration, subgoal, n, budget_errors, cwd, seqs
            )
            return
        async with limiter:
            results[subgoal.id] = await _attempts(
                h, iteration, subgoal, n, budget_errors, cwd, seqs
            )

    if len(subgoals) == 1:
        await one(0, subgoals[0])
    else:
        # asyncio's TaskGroup costs a third of anyio's per spawn, and anyio cancel scopes
        # (budget timeouts, cancel) still reach these tasks through the awaiting parent.
        with unwrapped():
            async with asyncio.TaskGroup() as tg:
                for n, subgoal in enumerate(subgoals):
                    tg.create_task(one(n, subgoal))
    if budget_errors:
        raise budget_errors[0]
    return [results[s.id] for s in subgoals]


async def _attempts(
    h: Harness,
    iteration: int,
    subgoal: Subgoal,
    n: int,
    budget: list[BudgetExceeded],
    cwd: str | None,
    seqs: dict[str, int],
) -> TaskResult:
    prompt = P.worker_prompt(h.config.goal, h.criteria, subgoal)
    tries = h.config.worker_retries + 1
    result = TaskResult(subgoal_id=subgoal.id, title=subgoal.title, status="failed", attempts=0)
    failed_on = None
    for attempt in range(1, tries + 1):
        backend, choice = h.router.pick(n, subgoal, attempt, failed_on)
        meta: dict[str, Any] = {"subgoal": subgoal.id, "title": subgoal.title, "attempt": attempt}
        if subgoal.tags:
            meta["tags"] = subgoal.tags
        name = f"{iteration}-{subgoal.id}-{attempt}"
        started = {**meta, "backend": backend.spec}
        if choice is not None:
            started.update(route=choice.reason, est_seconds=choice.est_seconds)
        h.sink.emit("worker_started", iteration, started)
        try:
            r = await h.call(
                backend,
                "work",
                P.WORKER_SYSTEM,
                prompt,
                iteration,
                may_edit=True,
                work=WorkItem(subgoal.id, subgoal.title, attempt),
                output_name=name,
                cwd=cwd,
            )
            ok, error, text, duration, path = r.ok, r.error, r.text, r.duration, r.output_path
            usage = {
                "input_tokens": r.usage.input_tokens,
                "output_tokens": r.usage.output_tokens,
                "cost_usd": r.usage.cost_usd,
            }
        except BudgetExceeded as exc:
            budget.append(exc)
            ok, error, text, duration, path, usage = False, f"budget: {exc}", "", 0.0, None, {}
        except LoopwrightError as exc:
            ok, error, text, duration, path, usage = False, str(exc), "", 0.0, None, {}
        tokens = int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
        h.router.attempted(subgoal.id, backend.spec, attempt, ok, tokens, duration)
        failed_on = None if ok else backend.spec
        result = TaskResult(
            subgoal_id=subgoal.id,
            title=subgoal.title,
            status="ok" if ok else "failed",
            attempts=attempt,
            summary=text[:PREVIEW_CHARS],
            error=None if ok else error,
            duration=round(duration, 3),
            backend=backend.spec,
        )
        finished = _finished_event(meta, result, usage, path, h.sink.kept_output(name))
        seqs[subgoal.id] = h.sink.emit("worker_finished", iteration, finished)
        if ok or budget:
            break
        if attempt < tries and h.config.retry_backoff > 0:
            await anyio.sleep(min(MAX_BACKOFF, h.config.retry_backoff * 2 ** (attempt - 1)))
    return result


def _finished_event(
    meta: dict[str, Any],
    result: TaskResult,
    usage: dict[str, Any],
    path: str | None,
    kept: str | None,
) -> dict[str, Any]:
    """``worker_finished``: the one place a worker's result is written down. The output
    is in the file at ``output_path`` when it outgrew the preview; else, when it is not
    the preview itself (an agent CLI's stream, not its answer), in ``output``."""
    data = {
        **meta,
        "backend": result.backend,
        "status": result.status,
        "error": result.error,
        "duration": result.duration,
        "usage": usage,
        "preview": result.summary,
        "output_path": path,
    }
    if kept is not None and kept != result.summary:
        data["output"] = kept
    return data
