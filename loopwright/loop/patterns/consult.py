"""consult: one question to several backends at once, each answering on its own.

Every consultant gets the same prompt, built from the question alone, and all are asked
in parallel: no backend sees another's answer. Answers come back attributed (spec, host,
tokens, latency, cost); loopwright measures how far apart they are (``agreement``); an
optional synthesizer then sees them all, fenced, and names where they agree and differ.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pydantic import Field

from ...backends.base import Backend
from ...errors import UserError
from ..events import MemorySink
from ..prompts import render
from ..vocab import PatternName
from . import prompts as P
from .agreement import Disagreement, disagreement
from .common import Exchange, PatternContext, PatternResult, context, in_parallel, run_pattern


class ConsultResult(PatternResult):
    pattern: PatternName = "consult"
    answers: list[Exchange] = Field(default_factory=list)
    """One per consultant that was asked, in panel order (a failed one has ``ok`` false)."""
    synthesis: Exchange | None = None
    disagreement: Disagreement = Field(default_factory=Disagreement)


async def consult(
    question: str,
    backends: Sequence[Backend],
    *,
    synthesizer: Backend | None = None,
    ctx: PatternContext | None = None,
    answered: Sequence[Exchange] = (),
) -> ConsultResult:
    """Ask ``backends`` the ``question`` in parallel; ``synthesizer`` (optional) compares
    the answers. ``ctx`` None: events in a ``MemorySink``, the default budget.
    ``answered``: answers already had (a resumed run's), kept as they are: their
    participants are not asked again."""
    if not backends:
        raise UserError("consult needs at least one backend to ask", "models")
    ctx = ctx or context(MemorySink())
    result = ConsultResult(question=question)
    have = {a.participant: a for a in answered if a.ok and a.step == "answer"}
    result.answers = [a for n, a in have.items() if n is not None and 0 < n <= len(backends)]

    async def body(ctx: PatternContext) -> None:
        await _consult(result, question, backends, synthesizer, ctx)

    return await run_pattern(result, ctx, body)


async def _consult(
    result: ConsultResult,
    question: str,
    backends: Sequence[Backend],
    synthesizer: Backend | None,
    ctx: PatternContext,
) -> None:
    ctx.phase("consult")
    prompt = P.consult_prompt(question)

    def asking(n: int, backend: Backend) -> Callable[[], Awaitable[Exchange]]:
        async def call() -> Exchange:
            answer = await ctx.ask(
                backend, "answer", "consult", P.CONSULT_SYSTEM, prompt, participant=n
            )
            result.answers.append(answer)  # as they come: a stop keeps those in hand
            return answer

        return call

    had = {a.participant for a in result.answers}
    try:
        await in_parallel([asking(n, b) for n, b in enumerate(backends, 1) if n not in had])
    finally:
        result.answers.sort(key=lambda a: a.participant or 0)
    good = [a for a in result.answers if a.ok]
    result.disagreement = disagreement([(a.participant or 0, a.text) for a in good])
    ctx.emit("disagreement", 0, {"step": "answer", **result.disagreement.model_dump()})
    if not good:
        errors = "; ".join(f"{a.spec}: {a.error}" for a in result.answers)
        result.state, result.stop_reason = "failed", "no consultant answered"
        result.error = f"no consultant answered ({errors})"
        return
    if synthesizer is not None:
        ctx.phase("synthesize")
        answers = [(a.participant or 0, a.spec, a.text) for a in good]
        parts = P.synthesis_prompt(question, answers, result.disagreement)
        result.synthesis = await ctx.ask(
            synthesizer, "synthesis", "synthesize", P.SYNTHESIZER_SYSTEM, render(parts)
        )
    result.state = "completed"
    result.stop_reason = f"{len(good)} of {len(backends)} consultant(s) answered"
