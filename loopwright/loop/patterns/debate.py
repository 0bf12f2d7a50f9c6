"""debate: blind drafts, then bounded rounds of critique and revision, then a pick.

Round 0: every participant drafts an answer from the question alone, in parallel (blind).
Rounds 1..``rounds``: every participant sees the drafts of the round before (its own and
the others', fenced) and replies with a critique and its revised answer, or keeps its
draft. All revise from the same snapshot, so nobody sees a revision of its own round.

**Convergence** ends the rounds early: after a round, the drafts have converged when
every participant kept its draft (``"changed": false``, ``NO CHANGE``, or the same text),
or when their disagreement (``agreement``: mean pairwise word-set Jaccard distance) is at
most ``converge_at``. Round 0's drafts may already have converged. A judge backend then
picks the best final draft; without one the participants vote (any draft, their own
included), ties broken by the draft nearest the others. Every draft, revision, vote and
pick is an event: the run's event log is the transcript.

**Resume.** A debate run whose host died goes on from its log (``earlier``): each round's
drafts and revisions, the judge's replies and the votes already recorded are taken from
it, so only the calls missing from the round it stopped in are made, and it goes on from
there; the rounds it rebuilds decide convergence as they did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pydantic import Field

from ...backends.base import Backend
from ...errors import UserError
from ..events import MemorySink
from ..prompts import render, repair_prompt
from ..types import Model
from ..vocab import ExchangeStep, PatternName, PickMethod
from . import prompts as P
from .agreement import DEFAULT_CONVERGE_AT, Disagreement, disagreement, medoid
from .common import Exchange, PatternContext, PatternResult, context, in_parallel, run_pattern
from .earlier import Earlier, fresh
from .replies import parse_pick, parse_revision


class Round(Model):
    round: int
    exchanges: list[Exchange] = Field(default_factory=list)
    kept: list[int] = Field(default_factory=list)
    """Participants whose draft did not change this round (a failed call keeps its draft)."""
    drafts: dict[int, str] = Field(default_factory=dict)
    """Each participant's draft after this round."""
    disagreement: Disagreement = Field(default_factory=Disagreement)


class Pick(Model):
    by: PickMethod
    participant: int
    spec: str
    answer: str
    reason: str = ""
    votes: dict[int, int] = Field(default_factory=dict)
    """Votes per participant's draft (a vote only)."""


class DebateResult(PatternResult):
    pattern: PatternName = "debate"
    participants: list[str] = Field(default_factory=list)
    rounds: list[Round] = Field(default_factory=list)
    converged: bool = False
    picking: list[Exchange] = Field(default_factory=list)
    """The judge's reply, or each vote."""
    pick: Pick | None = None


async def debate(
    question: str,
    backends: Sequence[Backend],
    *,
    rounds: int = 2,
    judge: Backend | None = None,
    converge_at: float = DEFAULT_CONVERGE_AT,
    ctx: PatternContext | None = None,
    earlier: Earlier | None = None,
) -> DebateResult:
    """Debate ``question`` among ``backends`` (at least two) for at most ``rounds`` revision
    rounds; ``judge`` picks the answer (None: the participants vote). ``earlier``: a
    resumed run's log, whose exchanges are taken instead of asking again."""
    if len(backends) < 2:
        raise UserError("a debate needs at least two participants", "models")
    if rounds < 0:
        raise UserError("rounds must be 0 or more", "rounds")
    ctx = ctx or context(MemorySink())
    result = DebateResult(question=question, participants=[b.spec for b in backends])
    log = fresh(earlier)

    async def body(ctx: PatternContext) -> None:
        if not await _debate(result, question, backends, rounds, converge_at, ctx, log):
            return
        await _pick(result, question, backends, judge, ctx, log)

    return await run_pattern(result, ctx, body)


async def _debate(
    result: DebateResult,
    question: str,
    backends: Sequence[Backend],
    rounds: int,
    converge_at: float,
    ctx: PatternContext,
    log: Earlier,
) -> bool:
    """The rounds; False when no draft came back (the result then says why)."""
    ctx.phase("debate", 0)
    drafts = await _round(result, question, backends, 0, {}, ctx, log)
    if not drafts:
        result.state, result.stop_reason = "failed", "no participant wrote a draft"
        result.error = "; ".join(f"{x.spec}: {x.error}" for x in result.rounds[0].exchanges)
        return False
    last = result.rounds[-1]
    for n in range(1, rounds + 1):
        if _converged(last, converge_at, len(drafts)):
            break
        ctx.phase("debate", n)
        drafts = await _round(result, question, backends, n, drafts, ctx, log)
        last = result.rounds[-1]
    result.converged = _converged(last, converge_at, len(drafts))
    held = len(result.rounds) - 1
    result.stop_reason = (
        f"converged after round {held}" if result.converged else f"round limit ({rounds}) reached"
    )
    return True


def _converged(last: Round, converge_at: float, alive: int) -> bool:
    if alive < 2:
        return True
    if last.round > 0 and len(last.kept) == alive:
        return True
    mean = last.disagreement.mean
    return mean is not None and mean <= converge_at


async def _round(
    result: DebateResult,
    question: str,
    backends: Sequence[Backend],
    n: int,
    drafts: dict[int, str],
    ctx: PatternContext,
    log: Earlier,
) -> dict[int, str]:
    """One round: drafts (round 0) or revisions of ``drafts``; returns the new drafts.
    Those ``log`` holds are taken from it; only the others are asked."""
    record = Round(round=n)
    result.rounds.append(record)
    snapshot = sorted(drafts.items())
    step: ExchangeStep = "draft" if n == 0 else "revision"
    due = [p for p in range(1, len(backends) + 1) if n == 0 or p in drafts]
    record.exchanges = _taken(log, step, n, due, backends)
    who = [p for p in due if p not in {x.participant for x in record.exchanges}]
    if who:
        log.go_on(ctx, "debate", step, n, asking=who)

    def call(p: int) -> Callable[[], Awaitable[Exchange]]:
        prompt = P.draft_prompt(question) if n == 0 else render(P.revision_prompt(
            question, n, p, snapshot))  # fmt: skip

        async def ask() -> Exchange:
            x = await ctx.ask(backends[p - 1], step, "debate", P.DEBATER_SYSTEM, prompt,
                              round=n, participant=p, schema=P.REVISION if n else None)  # fmt: skip
            record.exchanges.append(x)
            return x

        return ask

    try:
        await in_parallel([call(p) for p in who])
    finally:
        record.exchanges.sort(key=lambda x: x.participant or 0)
        record.drafts = _next_drafts(record, drafts)
    record.disagreement = disagreement(sorted(record.drafts.items()))
    data = {"step": step, "kept": record.kept}
    if log.unrecorded("disagreement", n):
        ctx.emit("disagreement", n, {**data, **record.disagreement.model_dump()})
    return record.drafts


def _taken(
    log: Earlier, step: ExchangeStep, n: int, due: list[int], backends: Sequence[Backend]
) -> list[Exchange]:
    """The exchanges of round ``n`` a resumed run's log holds for the participants ``due``."""
    found = (log.take(step, n, p, backends[p - 1].spec) for p in due)
    return [x for x in found if x is not None]


def _next_drafts(record: Round, drafts: dict[int, str]) -> dict[int, str]:
    """Round 0: the drafts that came back. Later: each revision, or the draft kept."""
    out = dict(drafts)
    for x in record.exchanges:
        p = x.participant or 0
        if record.round == 0:
            if x.ok and x.text.strip():
                out[p] = x.text.strip()
            continue
        revision = parse_revision(x.text, drafts[p]) if x.ok else None
        if revision is None or not revision.changed:
            record.kept.append(p)
        else:
            out[p] = revision.answer
    record.kept.sort()
    return out


async def _pick(
    result: DebateResult,
    question: str,
    backends: Sequence[Backend],
    judge: Backend | None,
    ctx: PatternContext,
    log: Earlier,
) -> None:
    held = len(result.rounds) - 1
    ctx.phase("judge" if judge else "vote", held)
    drafts = sorted(result.rounds[-1].drafts.items())
    if judge is not None:
        pick = await _judged(result, question, drafts, judge, ctx, log)
    else:
        pick = await _voted(result, question, drafts, backends, ctx, log)
    result.pick = pick
    if log.unrecorded("decision", held):
        ctx.emit("decision", held, {"pattern": "debate", **pick.model_dump()})
    result.state = "completed"


async def _judged(
    result: DebateResult,
    question: str,
    drafts: list[tuple[int, str]],
    judge: Backend,
    ctx: PatternContext,
    log: Earlier,
) -> Pick:
    parts = P.pick_prompt(question, drafts)
    numbers = [n for n, _ in drafts]
    prompt, held = render(parts), len(result.rounds) - 1
    for _ in range(2):  # the reply, and one repair

        async def ask(prompt: str = prompt) -> Exchange:
            return await ctx.ask(judge, "judge", "judge", P.JUDGE_SYSTEM, prompt, round=held,
                                 schema=P.PICK)  # fmt: skip

        x = await log.answer(ctx, "debate", "judge", held, None, judge.spec, ask)
        result.picking.append(x)
        try:
            n, reason = parse_pick(x.text, numbers) if x.ok else (0, "")
        except ValueError as exc:
            prompt = render(repair_prompt(parts, x.text, str(exc)))
            continue
        if n:
            return _picked(result, "judge", n, drafts, reason)
    n = medoid(drafts)
    why = "the judge gave no usable pick; this draft is the nearest to the others"
    return _picked(result, "judge", n, drafts, why)


async def _voted(
    result: DebateResult,
    question: str,
    drafts: list[tuple[int, str]],
    backends: Sequence[Backend],
    ctx: PatternContext,
    log: Earlier,
) -> Pick:
    numbers, held = [n for n, _ in drafts], len(result.rounds) - 1
    result.picking = _taken(log, "vote", held, numbers, backends)
    who = [p for p in numbers if p not in {x.participant for x in result.picking}]
    if who:
        log.go_on(ctx, "debate", "vote", held, asking=who)

    def vote(p: int) -> Callable[[], Awaitable[None]]:
        async def ask() -> None:
            prompt = render(P.pick_prompt(question, drafts, voter=p))
            x = await ctx.ask(backends[p - 1], "vote", "judge", P.JUDGE_SYSTEM, prompt,
                              round=held, participant=p, schema=P.PICK)  # fmt: skip
            result.picking.append(x)

        return ask

    await in_parallel([vote(p) for p in who])
    cast = [_cast(x, numbers) for x in result.picking]
    result.picking.sort(key=lambda x: x.participant or 0)
    votes = {n: sum(1 for c in cast if c == n) for n in numbers}
    top = max(votes.values())
    tied = [n for n in numbers if votes[n] == top]
    n = medoid(drafts, among=tied)
    why = f"{top} vote(s)" + (f"; a tie of {len(tied)} broken by nearness" if len(tied) > 1 else "")
    pick = _picked(result, "vote", n, drafts, why)
    pick.votes = votes
    return pick


def _cast(x: Exchange, numbers: list[int]) -> int | None:
    """The draft a vote names (None: a failed call, or a reply that names none)."""
    try:
        return parse_pick(x.text, numbers)[0] if x.ok else None
    except ValueError:
        return None


def _picked(
    result: DebateResult, by: PickMethod, n: int, drafts: list[tuple[int, str]], reason: str
) -> Pick:
    answer = dict(drafts)[n]
    return Pick(by=by, participant=n, spec=result.participants[n - 1], answer=answer, reason=reason)
